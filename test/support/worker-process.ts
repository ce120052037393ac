/**
 * A case worker in an OS process of its own, for drills that kill it (SIGKILL) and start it
 * again: the same `createCaseWorker` as worker.ts, with the outbox sweeper on as in production.
 *
 *   node --import tsx test/support/worker-process.ts '<WorkerProcessSettings as JSON>'
 *
 * Prints `{"ready":true}` once both workers poll. Started and killed by spawnWorkerProcess
 * (worker-processes.ts); it has no graceful path of its own, as a crash has none.
 */
import { NativeConnection } from '@temporalio/worker';
import { createDatabase } from '../../db/client';
import { createLogger } from '../../logger';
import { dataConverterFrom } from '../../temporal/codec';
import { createCaseWorker, installRuntime } from '../../worker';
import type { WorkerProcessSettings } from './worker-processes';

const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessSettings;
const logger = createLogger(settings.logLevel);
installRuntime(logger);

const database = createDatabase(settings.databaseUrl, 4);
const connection = await NativeConnection.connect({ address: settings.temporalAddress });
const workers = await createCaseWorker({
  connection,
  namespace: 'default',
  taskQueue: settings.taskQueue,
  db: database.db,
  logger,
  sweepIntervalMs: settings.sweepIntervalMs,
  workflowBundle: { codePath: settings.bundlePath },
  // The development key, as the test's harness uses (test/support/harness.ts testDataConverter).
  dataConverter: dataConverterFrom({}),
});
const running = workers.run();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await running;
