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
import { createActivities, type Channels } from './activities';
import { loadConfig, temporalConnectionOptions } from './config';
import { createDatabase, type Database } from './db/client';
import { createLogger, type Logger } from './logger';
import { ensureSearchAttributes } from './temporal/search-attributes';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface CaseWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: Database;
  logger: Logger;
  channels?: Channels;
  /** A prebuilt bundle (tests bundle once per suite; production may ship one). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
}

export function createCaseWorker(options: CaseWorkerOptions): Promise<Worker> {
  const source = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : { workflowsPath: WORKFLOWS_PATH };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...source,
    activities: createActivities({ db: options.db, logger: options.logger, channels: options.channels }),
    // Let a running projection finish on shutdown instead of cancelling it midway.
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
  });
}

/** Routes the SDK's own logs through pino so that one redacting logger sees everything. */
export function installRuntime(logger: Logger): void {
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => logger.child({ sdk: true }).warn(entry.meta ?? {}, entry.message)),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  installRuntime(logger);
  const connectionOptions = temporalConnectionOptions(config);
  const client = await Connection.connect(connectionOptions);
  const added = await ensureSearchAttributes(client, config.TEMPORAL_NAMESPACE);
  if (added.length) logger.info({ added }, 'registered case search attributes');
  await client.close();

  const database = createDatabase(config.DATABASE_URL, config.DATABASE_POOL_MAX, (err) =>
    logger.warn({ err }, 'idle database connection lost'),
  );
  const connection = await NativeConnection.connect(connectionOptions);
  const worker = await createCaseWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    db: database.db,
    logger,
  });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker started');
  try {
    await worker.run(); // the SDK shuts down on SIGINT/SIGTERM
  } finally {
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
