/**
 * The API's production entry: `tsx server.ts`. Owns the process's resources (the Temporal
 * connection, the database pool) and closes them, after the HTTP server, on SIGINT/SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './api/app';
import { loadConfig, refuseDevelopmentSecrets, temporalConnectionOptions } from './config';
import { apiConnectionOptions } from './api/plugins/app/temporal';
import { createDatabase, databaseOptionsFrom } from './db/client';
import { describeDatabaseError } from './db/errors';
import { createLogger } from './logger';
import { dataConverterFrom } from './temporal/codec';
import { startTracing } from './tracing';

/** How long in-flight requests get to finish on shutdown. */
const CLOSE_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  refuseDevelopmentSecrets(config, 'server');
  const logger = createLogger(config.LOG_LEVEL);
  // Traces (where OTEL_EXPORTER_OTLP_ENDPOINT is set): the request's, carried into Temporal.
  const tracing = startTracing({ serviceName: 'collection-cases-api', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  // Every call has a deadline and the client reconnects within a second of Temporal's return.
  const connection = await Connection.connect(apiConnectionOptions(temporalConnectionOptions(config)));
  const temporal = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFrom(config),
    ...(tracing ? { plugins: [tracing.plugin] } : {}),
  });
  const database = createDatabase(
    config.DATABASE_URL,
    config.DATABASE_POOL_MAX,
    (err, state) => logger.warn({ error: describeDatabaseError(err).message, state }, 'database connection lost'),
    databaseOptionsFrom(config),
  );

  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  closeWithGrace({ delay: CLOSE_GRACE_MS, logger }, async ({ err, signal }) => {
    if (err) logger.error({ err }, 'closing after an uncaught error');
    else logger.info({ signal }, 'closing');
    await app?.close();
    await connection.close();
    await database.close();
    await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'traces not flushed'));
  });

  app = await buildApp({ config, db: database.db, temporal, logger });
  await app.listen({ host: config.HOST, port: config.PORT });
  logger.info(
    { namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, docs: '/docs' },
    'API listening',
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
