/**
 * A worker in an OS process of its own for `npm run bench:scale`: the case workers
 * (`createCaseWorker`, as worker.ts runs them) or the minimal workflow's worker, with the
 * workflow cache raised to hold every open case. Run with --expose-gc: on each `measure` line on
 * stdin it collects garbage and answers its memory and how many workflows it holds, as JSON.
 *
 *   node --expose-gc --import tsx bench/scale-worker.ts '<ScaleWorkerSettings as JSON>'
 *
 * Prints `{"ready":true}` once its workers poll.
 */
import { createInterface } from 'node:readline';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createDatabase } from '../db/client';
import { createLogger } from '../logger';
import { dataConverterFrom } from '../temporal/codec';
import { createCaseWorker } from '../worker';
import type { BaselineActivities } from './baseline-workflow';

export interface ScaleWorkerSettings {
  kind: 'case' | 'minimal';
  temporalAddress: string;
  databaseUrl: string;
  taskQueue: string;
  /** The workflow bundle's code, written once by the bench. */
  bundlePath: string;
  maxCachedWorkflows: number;
}

export interface MemoryReport {
  rss: number;
  heapUsed: number;
  external: number;
  cached: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as ScaleWorkerSettings;
Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
const connection = await NativeConnection.connect({ address: settings.temporalAddress });
const dataConverter = dataConverterFrom(process.env);

let worker: Worker;
let run: () => Promise<void>;
if (settings.kind === 'case') {
  const database = createDatabase(settings.databaseUrl);
  const workers = await createCaseWorker({
    connection,
    namespace: 'default',
    taskQueue: settings.taskQueue,
    db: database.db,
    logger: createLogger('warn'),
    sweepIntervalMs: 0,
    workflowBundle: { codePath: settings.bundlePath },
    dataConverter,
    maxCachedWorkflows: settings.maxCachedWorkflows,
  });
  worker = workers.cases;
  run = workers.run;
} else {
  const activities: BaselineActivities = { mark: async () => undefined };
  worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: settings.taskQueue,
    workflowBundle: { codePath: settings.bundlePath },
    activities,
    dataConverter,
    maxCachedWorkflows: settings.maxCachedWorkflows,
  });
  run = () => worker.run();
}

const collect = globalThis.gc;
if (!collect) throw new Error('run with --expose-gc');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'measure') return;
  collect();
  collect();
  const memory = process.memoryUsage();
  const report: MemoryReport = { rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external, cached: worker.getStatus().numCachedWorkflows };
  process.stdout.write(`${JSON.stringify(report)}\n`);
});
const running = run();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await running;
