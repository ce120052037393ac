import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Channels, DeliveryOptions } from '../../activities';
import { deliveryTaskQueue } from '../../domain';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { createLogger } from '../../logger';
import { DEVELOPMENT_KEY_ENTRY, DEVELOPMENT_KEY_ID, dataConverterFrom } from '../../temporal/codec';
import { createCaseWorker, workflowBundleOptions, type CaseWorkers } from '../../worker';
import { useDatabaseFor } from './fixtures';

/** The key a spawned `worker.ts` seals with: the production entry refuses the development key,
 * so tests hand it this one (and the development key, to open what the tests sealed). */
const SPAWNED_WORKER_KEY_ENTRY = `spawned-worker:${Buffer.alloc(32, 0x5a).toString('base64')}`;
export const SPAWNED_WORKER_PAYLOAD_ENV = { PAYLOAD_KEYS: `${SPAWNED_WORKER_KEY_ENTRY},${DEVELOPMENT_KEY_ENTRY}`, PAYLOAD_KEY_ID: 'spawned-worker' };

/** The service's data converter as tests run it: sealing with the development key, the one an
 * API built by test/api/helper.ts uses too (no PAYLOAD_* setting), and opening what a spawned
 * `worker.ts` sealed. */
export function testDataConverter(): ReturnType<typeof dataConverterFrom> {
  return dataConverterFrom({ PAYLOAD_KEYS: `${DEVELOPMENT_KEY_ENTRY},${SPAWNED_WORKER_KEY_ENTRY}`, PAYLOAD_KEY_ID: DEVELOPMENT_KEY_ID });
}

let bundle: ReturnType<typeof bundleWorkflowCode> | undefined;

/** One workflow bundle per test file: bundling costs a second or two, workers are cheap. */
export function workflowBundle(): ReturnType<typeof bundleWorkflowCode> {
  bundle ??= bundleWorkflowCode({ ...workflowBundleOptions(), logger: createLogger('warn') as never });
  return bundle;
}

export interface CaseHarness {
  client: Client;
  database: DatabaseHandle;
  db: DatabaseHandle['db'];
  taskQueue: string;
  /** The delivery task queue beside it: `deliveryTaskQueue(taskQueue)`. */
  deliveryTaskQueue: string;
  /** Starts the case and delivery workers on the harness's task queues (one pair at a time). */
  startWorker(): Promise<void>;
  /** Stops both workers as a crash would leave things: no grace for running work. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface CaseHarnessOptions {
  channels?: Channels;
  /** false: no worker until `startWorker()`. */
  worker?: boolean;
  delivery?: Partial<DeliveryOptions>;
  /** The outbox sweeper is off by default: test files share one database, and a sweeper would
   * deliver other files' rows through this file's adapters. */
  sweepIntervalMs?: number;
  /** The database to connect to (the workers, and an API built on the harness); the run's
   * database by default. test/db/roles.test.ts passes the run's database as the app role. */
  databaseUrl?: string;
}

/**
 * Real workers (cases and delivery) on the suite's Temporal dev server and PostgreSQL database,
 * on task queues of their own so that test files running side by side never take each other's
 * tasks.
 */
export async function startCaseHarness(options: CaseHarnessOptions = {}): Promise<CaseHarness> {
  const address = inject('temporalAddress');
  const taskQueue = `test-${randomUUID()}`;
  const database = createDatabase(options.databaseUrl ?? inject('databaseUrl'), 5);
  const clientConnection = await Connection.connect({ address });
  const dataConverter = testDataConverter();
  const client = new Client({ connection: clientConnection, dataConverter });
  useDatabaseFor(client, database.db);
  const nativeConnection = await NativeConnection.connect({ address });
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  let running: { worker: CaseWorkers; done: Promise<void> } | undefined;

  const harness: CaseHarness = {
    client,
    database,
    db: database.db,
    taskQueue,
    deliveryTaskQueue: deliveryTaskQueue(taskQueue),
    async startWorker() {
      if (running) throw new Error('a worker is already running');
      const worker = await createCaseWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        db: database.db,
        logger,
        channels: options.channels,
        delivery: options.delivery,
        sweepIntervalMs: options.sweepIntervalMs ?? 0,
        workflowBundle: await workflowBundle(),
        shutdownGraceTime: 0,
        dataConverter,
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
