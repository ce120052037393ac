import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type WorkerOptions,
} from '@temporalio/worker';
import {
  DEFAULT_TEAM_CHANNEL_OPTIONS,
  createWorkerActivities,
  createTeamChannelDelivery,
  startOutboxSweeper,
  type Channels,
  type DeliveryOptions,
  type OutboxSweeper,
  type TeamChannelOptions,
} from './activities';
import { channelsFromSettings } from './activities/channels/configured';
import { intakeSettingsFrom, type IntakeSettings } from './activities/intake';
import {
  loadConfig,
  notificationSettings,
  refuseDevelopmentSecrets,
  teamChannelSettings,
  temporalConnectionOptions,
  WORKER_METRICS_ADDRESS_PATTERN,
} from './config';
import { createDatabase, databaseOptionsFrom, type Database } from './db/client';
import { describeDatabaseError } from './db/errors';
import { deliveryTaskQueue } from './domain';
import { createLogger, sanitizeLogMeta, type Logger } from './logger';
import { dataConverterFrom } from './temporal/codec';
import { ensureIntakeSchedule, intakeScheduleId } from './temporal/intake-schedule';
import { ensureRetentionSchedule } from './temporal/retention-schedule';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { startTracing } from './tracing';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/**
 * How workflow code is bundled, here and wherever a bundle is prebuilt (tests, benchmarks).
 * The workflow modules are preloaded into each reusable V8 context and shared by every workflow
 * it runs. Otherwise the SDK evaluates the whole module graph again for each workflow, and every
 * cached case carried its own copy of it: about 100 KiB (bench/scale.ts). Sharing is safe
 * because these modules keep no state at module level; a case's state lives in its workflow
 * function's scope. The SDK deep-freezes shared modules, so a module that writes to its own
 * top-level objects fails at once (docs/upgrading-workflows.md).
 */
export function workflowBundleOptions(workflowsPath = WORKFLOWS_PATH): { workflowsPath: string; preloadModules: string[] } {
  return { workflowsPath, preloadModules: [workflowsPath] };
}

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
  /** SDK plugins for both workers, e.g. tracing's OpenTelemetry plugin (tracing.ts). With a
   * prebuilt `workflowBundle`, a plugin's workflow interceptors must be in the bundle. */
  plugins?: WorkerOptions['plugins'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** Case workflows kept in memory between their tasks (the SDK's default follows the heap
   * size); a benchmark raises it to hold every open case (bench/scale.ts). */
  maxCachedWorkflows?: WorkerOptions['maxCachedWorkflows'];
  /** The team channel: its results are queued by the projection and posted by this process. */
  teamChannel?: Pick<TeamChannelOptions, 'urls' | 'secret'> & Partial<TeamChannelOptions>;
  /** The service's data converter (temporal/codec.ts): payloads are encrypted with its keys. */
  dataConverter: NonNullable<WorkerOptions['dataConverter']>;
  /** The daily intake's folder and settings (activities/intake.ts). */
  intake?: IntakeSettings;
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
    : { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { preloadModules: workflowBundleOptions().preloadModules } };
  const { activities, relay } = createWorkerActivities({
    db: options.db,
    logger: options.logger,
    channels: options.channels,
    unconfiguredChannels: options.unconfiguredChannels,
    delivery: options.delivery,
    teamChannelUrls: options.teamChannel?.urls ?? [],
    intake: options.intake,
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
    dataConverter: options.dataConverter,
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
  });
  const delivery = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: queue,
    activities: { deliverNotifications: activities.deliverNotifications, sweepOutbox },
    shutdownGraceTime,
    dataConverter: options.dataConverter,
    ...(options.plugins ? { plugins: options.plugins } : {}),
  });
  const sweepIntervalMs = options.sweepIntervalMs ?? 30_000;
  let sweeper: OutboxSweeper | undefined;
  let teamSender: OutboxSweeper | undefined;

  const shutdown = () => {
    void sweeper?.stop();
    void teamSender?.stop();
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
    if (options.teamChannel) {
      const team = createTeamChannelDelivery(options.db, { ...DEFAULT_TEAM_CHANNEL_OPTIONS, ...options.teamChannel }, options.logger);
      teamSender = startOutboxSweeper({
        sweep: (signal) => team.sendDue(signal),
        intervalMs: options.teamChannel.intervalMs ?? DEFAULT_TEAM_CHANNEL_OPTIONS.intervalMs,
        logger: options.logger.child({ component: 'team-channel' }),
      });
    }
    const results = await Promise.allSettled(runs);
    await sweeper?.stop();
    await teamSender?.stop();
    await relay.stop();
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

export interface RuntimeSettings {
  /**
   * `ip:port` on which the SDK serves its own worker metrics in Prometheus format at `/metrics`
   * (task slots, pollers, schedule-to-start latencies, the sticky cache, request failures), all
   * named `temporal_…`, durations in seconds. Unset, the SDK exports no metrics.
   */
  metricsAddress?: string;
  /** When the address cannot be bound (a port taken): `fail` (default) throws, `warn` logs and
   * installs the runtime without metrics (`npm start`, a convenience, goes on without them). */
  onMetricsBindError?: 'fail' | 'warn';
}

/**
 * Installs the process's Temporal runtime (once, before any worker or native connection).
 *
 * Routes the SDK's own logs through pino so that one redacting logger sees everything, at their
 * own level. Their metadata passes `sanitizeLogMeta`: a failed activity's error is logged with
 * its message, code and cause, never the SQL or parameters drizzle and pg put on it.
 *
 * Answers the address the SDK's metrics are served on, if any.
 */
export function installRuntime(logger: Logger, settings: RuntimeSettings = {}): string | undefined {
  const sdk = logger.child({ sdk: true });
  const { metricsAddress } = settings;
  if (metricsAddress !== undefined && !new RegExp(WORKER_METRICS_ADDRESS_PATTERN).test(metricsAddress)) {
    throw new Error(`env/WORKER_METRICS_ADDRESS must be an IP address and a port (0.0.0.0:9464, [::]:9464), not "${metricsAddress}"`);
  }
  const install = (withMetrics: boolean) =>
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) => {
        try {
          sdk[SDK_LOG_LEVELS[entry.level] ?? 'warn'](sanitizeLogMeta(entry.meta), entry.message);
        } catch {
          // A log line that cannot be written never fails the worker.
        }
      }),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
        ...(withMetrics && metricsAddress !== undefined
          ? {
              metrics: {
                prometheus: {
                  bindAddress: metricsAddress,
                  // Prometheus's own conventions: seconds, the unit in the name, `_total` counters.
                  useSecondsForDurations: true,
                  unitSuffix: true,
                  countersTotalSuffix: true,
                },
              },
            }
          : {}),
      },
    });
  try {
    install(true);
  } catch (err) {
    if (metricsAddress === undefined || settings.onMetricsBindError !== 'warn') {
      if (metricsAddress !== undefined && err instanceof Error) err.message = `WORKER_METRICS_ADDRESS ${metricsAddress}: ${err.message}`;
      throw err;
    }
    logger.warn({ err, address: metricsAddress }, 'the worker metrics endpoint could not be bound: the worker runs without it');
    install(false);
    return undefined;
  }
  return metricsAddress;
}

async function main(): Promise<void> {
  const config = loadConfig();
  refuseDevelopmentSecrets(config, 'worker');
  // Notifications must really leave the bank: only logging them is refused unless asked for.
  const notifications = notificationSettings(config, { requireDelivery: true });
  const teamChannel = teamChannelSettings(config);
  const logger = createLogger(config.LOG_LEVEL);
  const metricsAddress = installRuntime(logger, { metricsAddress: config.WORKER_METRICS_ADDRESS });
  const tracing = startTracing({ serviceName: 'collection-cases-worker', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const connectionOptions = temporalConnectionOptions(config);
  const dataConverter = dataConverterFrom(config);
  const client = await Connection.connect(connectionOptions);
  const added = await ensureSearchAttributes(client, config.TEMPORAL_NAMESPACE);
  if (added.length) logger.info({ added }, 'registered case search attributes');
  const scheduled = await ensureRetentionSchedule(
    new Client({ connection: client, namespace: config.TEMPORAL_NAMESPACE, dataConverter }),
    config.TEMPORAL_TASK_QUEUE,
    config.RETENTION_EVERY_MINUTES,
  );
  logger.info({ everyMinutes: config.RETENTION_EVERY_MINUTES, created: scheduled }, 'personal data retention scheduled');
  if (config.INTAKE_SCHEDULE_ENABLED) {
    const intakeSchedule = { taskQueue: config.TEMPORAL_TASK_QUEUE, cron: config.INTAKE_CRON, timezone: config.INTAKE_TIMEZONE };
    const created = await ensureIntakeSchedule(new Client({ connection: client, namespace: config.TEMPORAL_NAMESPACE, dataConverter }), intakeSchedule);
    logger.info({ scheduleId: intakeScheduleId(config.TEMPORAL_TASK_QUEUE), cron: config.INTAKE_CRON, timezone: config.INTAKE_TIMEZONE, created }, 'daily intake scheduled');
  }
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
    ...(teamChannel ? { teamChannel } : {}),
    ...(tracing ? { plugins: [tracing.plugin] } : {}),
    dataConverter,
    intake: intakeSettingsFrom(config),
  });
  logger.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      deliveryTaskQueue: workers.deliveryTaskQueue,
      namespace: config.TEMPORAL_NAMESPACE,
      channels: notifications.channels,
      ...(metricsAddress ? { metrics: `http://${metricsAddress}/metrics` } : {}),
      ...(tracing ? { traces: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
    },
    'worker started',
  );
  try {
    await workers.run(); // the SDK shuts both down on SIGINT/SIGTERM
  } finally {
    await Promise.allSettled([...new Set(Object.values(channels))].map(async (adapter) => adapter?.close?.()));
    await connection.close();
    await database.close();
    await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'traces not flushed'));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
