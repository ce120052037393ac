/**
 * The case workers and the minimal workflow's worker a same-run comparison needs, in this
 * process, on task queues of the run's own, with the client both sides call through.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { Database } from '../db/client';
import { createLogger } from '../logger';
import { dataConverterFrom } from '../temporal/codec';
import { createCaseWorker, workflowBundleOptions, type CaseWorkers } from '../worker';
import type { BaselineActivities } from './baseline-workflow';
import type { BenchTemporal } from './services';

const BASELINE_WORKFLOW_PATH = fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url));

export interface BenchWorkers {
  client: Client;
  taskQueue: string;
  baselineQueue: string;
  caseWorkers: CaseWorkers;
  baselineWorker: Worker;
  /** Runs `work` while both workers poll. */
  runWhile<T>(work: () => Promise<T>): Promise<T>;
}

export async function startBenchWorkers(temporal: BenchTemporal, db: Database, name: string, log: (message: string) => void): Promise<BenchWorkers> {
  const quiet = createLogger('silent');
  log('bundling the case workflows and the minimal workflow…');
  const [caseBundle, baselineBundle] = await Promise.all([
    bundleWorkflowCode({ ...workflowBundleOptions(), logger: quiet as never }),
    bundleWorkflowCode({ ...workflowBundleOptions(BASELINE_WORKFLOW_PATH), logger: quiet as never }),
  ]);
  const dataConverter = dataConverterFrom(process.env);
  const client = new Client({ connection: temporal.env.connection, dataConverter });
  const taskQueue = `bench-${name}-${randomUUID()}`;
  const baselineQueue = `bench-minimal-${randomUUID()}`;
  const caseWorkers = await createCaseWorker({
    connection: temporal.env.nativeConnection,
    namespace: 'default',
    taskQueue,
    db,
    logger: quiet,
    sweepIntervalMs: 0,
    workflowBundle: caseBundle,
    shutdownGraceTime: '5s',
    dataConverter,
  });
  const baselineActivities: BaselineActivities = { mark: async () => undefined };
  const baselineWorker = await Worker.create({
    connection: temporal.env.nativeConnection,
    namespace: 'default',
    taskQueue: baselineQueue,
    workflowBundle: baselineBundle,
    activities: baselineActivities,
    dataConverter,
  });
  return {
    client,
    taskQueue,
    baselineQueue,
    caseWorkers,
    baselineWorker,
    runWhile: (work) => caseWorkers.runUntil(() => baselineWorker.runUntil(work)),
  };
}
