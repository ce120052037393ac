import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Channels } from '../../activities';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { createLogger } from '../../logger';
import { WORKFLOWS_PATH, createCaseWorker } from '../../worker';

let bundle: ReturnType<typeof bundleWorkflowCode> | undefined;

/** One workflow bundle per test file: bundling costs a second or two, workers are cheap. */
export function workflowBundle(): ReturnType<typeof bundleWorkflowCode> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: createLogger('warn') as never });
  return bundle;
}

export interface CaseHarness {
  client: Client;
  database: DatabaseHandle;
  db: DatabaseHandle['db'];
  taskQueue: string;
  /** Starts a worker on the harness's task queue (one at a time). */
  startWorker(): Promise<void>;
  /** Stops the running worker as a crash would leave things: no grace for running work. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real worker on the suite's Temporal dev server and PostgreSQL database, on a task queue of
 * its own so that test files running side by side never take each other's tasks.
 */
export async function startCaseHarness(options: { channels?: Channels; worker?: boolean } = {}): Promise<CaseHarness> {
  const address = inject('temporalAddress');
  const taskQueue = `test-${randomUUID()}`;
  const database = createDatabase(inject('databaseUrl'), 5);
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection });
  const nativeConnection = await NativeConnection.connect({ address });
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  let running: { worker: Worker; done: Promise<void> } | undefined;

  const harness: CaseHarness = {
    client,
    database,
    db: database.db,
    taskQueue,
    async startWorker() {
      if (running) throw new Error('a worker is already running');
      const worker = await createCaseWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        db: database.db,
        logger,
        channels: options.channels,
        workflowBundle: await workflowBundle(),
        shutdownGraceTime: 0,
      });
      running = { worker, done: worker.run() };
    },
    async stopWorker() {
      if (!running) return;
      const { worker, done } = running;
      running = undefined;
      worker.shutdown();
      await done;
    },
    async close() {
      await harness.stopWorker();
      await nativeConnection.close();
      await clientConnection.close();
      await database.close();
    },
  };
  if (options.worker !== false) await harness.startWorker();
  return harness;
}
