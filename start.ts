/**
 * `npm start`: the whole service on one machine, in one process. A Temporal dev server persisted
 * in .data/temporal.db (or the server at TEMPORAL_ADDRESS), PostgreSQL at DATABASE_URL (or an
 * embedded cluster in .data/pg), then migrations, seed policies, the worker and the API.
 * TEMPORAL_PORT and TEMPORAL_UI_PORT move the dev server off 7233/8233. Ctrl-C stops it all.
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { channelsFromSettings } from './activities/channels/configured';
import { intakeSettingsFrom } from './activities/intake';
import { buildApp } from './api/app';
import { DEFAULT_START_WORKER_METRICS_ADDRESS, DEVELOPMENT_JWT_SECRET, developmentSecretsIn, loadConfig, notificationSettings, temporalConnectionOptions } from './config';
import { apiConnectionOptions } from './api/plugins/app/temporal';
import { createDatabase, databaseOptionsFrom, type ConnectionErrorHandler } from './db/client';
import { describeDatabaseError } from './db/errors';
import { migrateDatabase } from './db/migrate';
import { seedPolicies } from './db/seed';
import { msToDate } from './domain';
import { createLogger, type Logger } from './logger';
import { dataConverterFrom } from './temporal/codec';
import { ensureIntakeSchedule } from './temporal/intake-schedule';
import { ensureRetentionSchedule } from './temporal/retention-schedule';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { startEmbeddedPostgres } from './tools/embedded-postgres';
import { DATA_DIR, PROJECT_ROOT } from './tools/project-paths';
import { startTemporalDevServer } from './tools/temporal-dev-server';
import { startTracing } from './tracing';
import { createCaseWorker, installRuntime } from './worker';

interface Cleanup {
  what: string;
  run(): Promise<unknown>;
}

interface Endpoints {
  api: string;
  temporalUi: string | undefined;
  temporalAddress: string;
  database: string;
  /** The worker's Temporal SDK metrics, when served. */
  workerMetrics: string | undefined;
  metricsEnabled: boolean;
  /** The secrets left unset, for which the development ones stand in. */
  developmentSecrets: string[];
}

async function main(): Promise<void> {
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
  // The worker's SDK metrics, on unless WORKER_METRICS_ADDRESS moves them (a port taken: without).
  const workerMetrics = installRuntime(logger, {
    metricsAddress: process.env.WORKER_METRICS_ADDRESS || DEFAULT_START_WORKER_METRICS_ADDRESS,
    onMetricsBindError: 'warn',
  });
  const stopping = stopOnSignals(logger);
  const cleanups: Cleanup[] = [];
  try {
    const temporal = await temporalServer(logger, cleanups);
    stopping.signal.throwIfAborted();
    const database = await postgres(logger, cleanups);
    stopping.signal.throwIfAborted();
    const config = loadConfig({ ...process.env, DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.address });
    // Traces where OTEL_EXPORTER_OTLP_ENDPOINT is set; flushed last, after everything stopped.
    const tracing = startTracing({ serviceName: 'collection-cases', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
    if (tracing) cleanups.push({ what: 'tracing', run: tracing.shutdown });

    const onLost: ConnectionErrorHandler = (err, state) =>
      logger.warn({ error: describeDatabaseError(err).message, state }, 'database connection lost');
    // Migrations may rewrite data for longer than the runtime's statement timeout allows.
    const migrator = createDatabase(config.DATABASE_URL, 1, onLost, { statementTimeoutMs: 0 });
    try {
      await migrateDatabase(migrator.db);
      await seedPolicies(migrator.db);
    } finally {
      await migrator.close();
    }
    const { db, close: closeDb } = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_MAX, onLost, databaseOptionsFrom(config));
    cleanups.push({ what: 'database pool', run: closeDb });

    const connectionOptions = temporalConnectionOptions(config);
    const connection = await Connection.connect(apiConnectionOptions(connectionOptions));
    cleanups.push({ what: 'Temporal client', run: () => connection.close() });
    const added = await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
    if (added.length) logger.info({ added }, 'registered case search attributes');
    // One data converter for the API's client and the worker: payloads are encrypted (README "Payload encryption").
    const dataConverter = dataConverterFrom(config);
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter, ...(tracing ? { plugins: [tracing.plugin] } : {}) });
    await ensureRetentionSchedule(client, config.TEMPORAL_TASK_QUEUE, config.RETENTION_EVERY_MINUTES);
    if (config.INTAKE_SCHEDULE_ENABLED) {
      await ensureIntakeSchedule(client, { taskQueue: config.TEMPORAL_TASK_QUEUE, cron: config.INTAKE_CRON, timezone: config.INTAKE_TIMEZONE });
    }

    const app = await buildApp({
      config,
      db,
      temporal: client,
      logger,
      // Demo tokens at sign-in only on the development secret, which anyone can sign with anyway.
      console: {
        devTokens: config.JWT_JWKS_URL === undefined && config.JWT_SECRET === DEVELOPMENT_JWT_SECRET,
        temporalUiUrl: config.TEMPORAL_UI_URL ?? temporal.uiUrl,
      },
    });
    cleanups.push({ what: 'API', run: () => app.close() });
    stopping.signal.throwIfAborted();

    const workerConnection = await NativeConnection.connect(connectionOptions);
    cleanups.push({ what: 'worker connection', run: () => workerConnection.close() });
    // Notifications only log unless NOTIFY_CHANNELS names real adapters (see README).
    const notifications = notificationSettings(config, { requireDelivery: false });
    const channels = channelsFromSettings(notifications, logger);
    cleanups.push({
      what: 'notification channels',
      run: () => Promise.all([...new Set(Object.values(channels))].map(async (adapter) => adapter?.close?.())),
    });
    // Two workers, run as one: cases on TEMPORAL_TASK_QUEUE, delivery on its -delivery queue.
    const worker = await createCaseWorker({
      connection: workerConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      db,
      logger,
      channels,
      unconfiguredChannels: 'fail',
      delivery: { maxAttempts: notifications.maxAttempts },
      sweepIntervalMs: notifications.sweepIntervalMs,
      ...(tracing ? { plugins: [tracing.plugin] } : {}),
      dataConverter,
      intake: intakeSettingsFrom(config),
    });
    // Inside runUntil, so that a port already taken shuts the new worker down again.
    await worker.runUntil(async () => {
      if (stopping.signal.aborted) return;
      await app.listen({ host: config.HOST, port: config.PORT });
      const { port } = app.server.address() as AddressInfo;
      const host = ['0.0.0.0', '::'].includes(config.HOST) ? '127.0.0.1' : config.HOST;
      printBanner({
        api: `http://${host}:${port}`,
        temporalUi: temporal.uiUrl,
        temporalAddress: temporal.address,
        database: database.shown,
        workerMetrics: workerMetrics && `http://${workerMetrics.replace(/^(0\.0\.0\.0|\[::\]):/, '127.0.0.1:')}/metrics`,
        metricsEnabled: config.METRICS_ENABLED,
        developmentSecrets: developmentSecretsIn(config),
      });
      await stopping.stopped;
    });
  } catch (err) {
    if (err !== stopping.signal.reason) throw err;
  } finally {
    await runCleanups(cleanups, logger);
    logger.info('stopped');
  }
}

/** The first SIGINT/SIGTERM stops gracefully; a second exits at once (exit hooks still kill the servers). */
function stopOnSignals(logger: Logger): { signal: AbortSignal; stopped: Promise<void> } {
  const controller = new AbortController();
  const stopped = new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true }));
  let firstAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      // Launchers such as the tsx CLI relay the terminal's Ctrl-C a second time, milliseconds later.
      if (Date.now() - firstAt < 500) return;
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    firstAt = Date.now();
    logger.info({ signal }, 'stopping');
    controller.abort(new Error(`stopped by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, stopped };
}

async function temporalServer(logger: Logger, cleanups: Cleanup[]): Promise<{ address: string; uiUrl?: string }> {
  const configured = process.env.TEMPORAL_ADDRESS;
  if (configured) {
    logger.info({ address: configured }, 'using the Temporal server at TEMPORAL_ADDRESS');
    return { address: configured };
  }
  logger.info('starting the Temporal dev server');
  const server = await startTemporalDevServer({
    port: portFromEnv('TEMPORAL_PORT', 7233),
    uiPort: portFromEnv('TEMPORAL_UI_PORT', 8233),
    dbFilename: path.join(DATA_DIR, 'temporal.db'),
    // The UI decodes payloads through the API's codec endpoint, for supervisors' and admins' tokens.
    uiCodecEndpoint: apiCodecEndpoint(),
    onLog: (line) => logger.warn({ component: 'temporal-server' }, line),
  });
  cleanups.push({ what: 'Temporal dev server', run: server.stop });
  return server;
}

async function postgres(logger: Logger, cleanups: Cleanup[]): Promise<{ url: string; shown: string }> {
  const configured = process.env.DATABASE_URL;
  if (configured) {
    const { host, pathname } = new URL(configured);
    return { url: configured, shown: `${host}${pathname} (DATABASE_URL)` };
  }
  const dataDir = path.join(DATA_DIR, 'pg');
  logger.info({ dataDir }, 'starting embedded PostgreSQL');
  const server = await startEmbeddedPostgres({
    dataDir,
    database: 'collection_cases',
    persistent: true,
    onLog: (line) => logger.debug({ component: 'postgres' }, line),
  });
  cleanups.push({ what: 'embedded PostgreSQL', run: server.stop });
  return { url: server.url, shown: `${server.url} (embedded, data in ${path.relative(PROJECT_ROOT, dataDir)})` };
}

/** Where the API this process starts serves the codec (before the configuration is loaded). */
function apiCodecEndpoint(): string {
  const host = process.env.HOST && !['0.0.0.0', '::'].includes(process.env.HOST) ? process.env.HOST : '127.0.0.1';
  return `http://${host}:${portFromEnv('PORT', 3000)}/codec`;
}

function portFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`env/${name} must be a port number, not "${value}"`);
  return port;
}

/** Newest first, each even when an earlier one fails, so that no server is left running. */
async function runCleanups(cleanups: Cleanup[], logger: Logger): Promise<void> {
  for (const { what, run } of cleanups.reverse()) {
    try {
      await run();
      logger.debug(`stopped ${what}`);
    } catch (err) {
      logger.error({ err }, `could not stop ${what}`);
      process.exitCode = 1;
    }
  }
}

function printBanner({ api, temporalUi, temporalAddress, database, workerMetrics, metricsEnabled, developmentSecrets }: Endpoints): void {
  const loan = {
    loanId: `DEMO-${Date.now().toString(36).toUpperCase()}`,
    borrower: { name: 'Wang Fang', idNumber: '110101199001011234', phone: '+86 138 0000 0000' },
    branch: 'BR01',
    product: 'consumer_loan',
    secured: false,
    currency: 'CNY',
    principal: 5_000_000,
    outstanding: 4_200_000,
    overdue: 350_000,
    overdueSince: msToDate(Date.now()),
    policy: 'demo',
  };
  process.stdout.write(
    [
      '',
      'Collection cases is running. Ctrl-C stops it; data stays in .data/ for the next start.',
      `  API           ${api}`,
      `  Console       ${api}/app/ (officers, supervisors: sign in with a token${developmentSecrets.length > 0 ? ' or a demo identity' : ''})`,
      `  OpenAPI docs  ${api}/docs`,
      temporalUi ? `  Temporal UI   ${temporalUi}` : `  Temporal      ${temporalAddress}`,
      `  PostgreSQL    ${database}`,
      `  Metrics       ${[metricsEnabled ? `${api}/metrics (API)` : undefined, workerMetrics ? `${workerMetrics} (worker)` : undefined].filter(Boolean).join(', ') || 'off'}`,
      ...(developmentSecrets.length > 0
        ? [
            `  Secrets       DEVELOPMENT ones for ${developmentSecrets.join(' and ')}: anyone with this repository can sign tokens.`,
            '                Fine on this machine only; npm run server and npm run worker refuse them.',
          ]
        : []),
      '',
      'Get a token (a supervisor, alice, of branch BR01):',
      '  TOKEN=$(npm run -s token -- supervisor alice BR01)',
      'Open a case on the demo policy (a case day lasts 2 s, a new hand every 6 s):',
      `  curl -sS -X POST ${api}/v1/cases -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `    -d '${JSON.stringify(loan)}'`,
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
