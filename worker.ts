import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities, startOutboxSweeper, type Channels, type DeliveryOptions, type OutboxSweeper } from './activities';
import { channelsFromSettings } from './activities/channels/configured';
import { loadConfig, notificationSettings, temporalConnectionOptions } from './config';
import { createDatabase, databaseOptionsFrom, type Database } from './db/client';
import { describeDatabaseError } from './db/errors';
import { deliveryTaskQueue } from './domain';
import { createLogger, sanitizeLogMeta, type Logger } from './logger';
import { ensureSearchAttributes } from './temporal/search-attributes';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface CaseWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  /** The case task queue; delivery runs on `deliveryTaskQueue(taskQueue)`. */
  taskQueue: string;
  db: Database;
  logger: Logger;
  /** Adapters by channel; see `unconfiguredChannels` for a channel without one. */
  channels?: Channels;
  /** `log` (default: development and tests) or `fail` (production: such rows fail, saying so). */
  unconfiguredChannels?: 'log' | 'fail';
  /** Attempts, lease, backoff of the outbox delivery. */
  delivery?: Partial<DeliveryOptions>;
  /** How often this process sweeps the outbox for rows no delivery finished; 0 turns the sweeper
   * off (tests that share a database). Default 30 s. */
  sweepIntervalMs?: number;
  /** A prebuilt bundle (tests bundle once per suite; production may ship one). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
}

/**
 * The two workers of a process, run and stopped together: `cases` runs the case workflows and
 * the projection on the case task queue; `delivery` runs notification delivery on a task queue
 * of its own, so a slow gateway never holds up a case. `run`, `runUntil` and `shutdown` behave
 * as a single SDK Worker's: when one worker stops or fails, the other is shut down too.
 */
export interface CaseWorkers {
  cases: Worker;
  delivery: Worker;
  deliveryTaskQueue: string;
  run(): Promise<void>;
  runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R>;
  shutdown(): void;
}

export async function createCaseWorker(options: CaseWorkerOptions): Promise<CaseWorkers> {
  const source = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : { workflowsPath: WORKFLOWS_PATH };
  const activities = createActivities({
    db: options.db,
    logger: options.logger,
    channels: options.channels,
    unconfiguredChannels: options.unconfiguredChannels,
    delivery: options.delivery,
  });
  // Running cases of engine 1 schedule deliverNotifications on the case task queue: it stays
  // served there too (claims keep the two queues from sending a row twice).
  const { sweepOutbox, ...caseActivities } = activities;
  // Let a running projection or send finish on shutdown instead of cancelling it midway.
  const shutdownGraceTime = options.shutdownGraceTime ?? '10s';
  const queue = deliveryTaskQueue(options.taskQueue);
  const cases = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...source,
    activities: caseActivities,
    shutdownGraceTime,
  });
  const delivery = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: queue,
    activities: { deliverNotifications: activities.deliverNotifications, sweepOutbox },
    shutdownGraceTime,
  });
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
  let sweeper: OutboxSweeper | undefined;

  const shutdown = () => {
    void sweeper?.stop();
    for (const worker of [cases, delivery]) if (worker.getState() === 'RUNNING') worker.shutdown();
  };

  async function run(): Promise<void> {
    const runs = [cases.run(), delivery.run()].map((running) => running.finally(shutdown));
    if (sweepIntervalMs > 0) {
      sweeper = startOutboxSweeper({
        sweep: (signal) => sweepOutbox({}, signal),
        intervalMs: sweepIntervalMs,
        logger: options.logger.child({ component: 'outbox-sweeper' }),
      });
    }
    const results = await Promise.allSettled(runs);
    await sweeper?.stop();
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'both workers failed');
  }

  async function runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = run();
    let inner: PromiseSettledResult<R> | undefined;
    void (async () => {
      try {
        inner = { status: 'fulfilled', value: await (typeof fnOrPromise === 'function' ? fnOrPromise() : fnOrPromise) };
      } catch (reason) {
        inner = { status: 'rejected', reason };
      } finally {
        shutdown();
      }
    })();
    let workerError: unknown;
    try {
      await running;
    } catch (err) {
      workerError = err ?? new Error('a worker failed');
    }
    if (workerError !== undefined) throw workerError;
    if (inner === undefined) throw new Error('the workers stopped before the promise they ran until completed');
    if (inner.status === 'rejected') throw inner.reason;
    return inner.value;
  }

  return { cases, delivery, deliveryTaskQueue: queue, run, runUntil, shutdown };
}

const SDK_LOG_LEVELS = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * Routes the SDK's own logs through pino so that one redacting logger sees everything, at their
 * own level. Their metadata passes `sanitizeLogMeta`: a failed activity's error is logged with
 * its message, code and cause, never the SQL or parameters drizzle and pg put on it.
 */
export function installRuntime(logger: Logger): void {
  const sdk = logger.child({ sdk: true });
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      try {
        sdk[SDK_LOG_LEVELS[entry.level] ?? 'warn'](sanitizeLogMeta(entry.meta), entry.message);
      } catch {
        // A log line that cannot be written never fails the worker.
      }
    }),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Notifications must really leave the bank: only logging them is refused unless asked for.
  const notifications = notificationSettings(config, { requireDelivery: true });
  const logger = createLogger(config.LOG_LEVEL);
  installRuntime(logger);
  const connectionOptions = temporalConnectionOptions(config);
  const client = await Connection.connect(connectionOptions);
  const added = await ensureSearchAttributes(client, config.TEMPORAL_NAMESPACE);
  if (added.length) logger.info({ added }, 'registered case search attributes');
  await client.close();

  const database = createDatabase(
    config.DATABASE_URL,
    config.DATABASE_POOL_MAX,
    (err, state) => logger.warn({ error: describeDatabaseError(err).message, state }, 'database connection lost'),
    databaseOptionsFrom(config),
  );
  const channels = channelsFromSettings(notifications, logger);
  const connection = await NativeConnection.connect(connectionOptions);
  const workers = await createCaseWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    db: database.db,
    logger,
    channels,
    unconfiguredChannels: 'fail',
    delivery: { maxAttempts: notifications.maxAttempts },
    sweepIntervalMs: notifications.sweepIntervalMs,
  });
  logger.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      deliveryTaskQueue: workers.deliveryTaskQueue,
      namespace: config.TEMPORAL_NAMESPACE,
      channels: notifications.channels,
    },
    'worker started',
  );
  try {
    await workers.run(); // the SDK shuts both down on SIGINT/SIGTERM
  } finally {
    await Promise.allSettled([...new Set(Object.values(channels))].map(async (adapter) => adapter?.close?.()));
    await connection.close();
    await database.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
