import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../api/app';
import { signToken, type TokenClaims } from '../../api/auth/tokens';
import { apiConnectionOptions } from '../../api/plugins/app/temporal';
import { loadConfig } from '../../config';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { seedPolicies } from '../../db/seed';
import { createLogger } from '../../logger';
import { dataConverterFrom } from '../../temporal/codec';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database';
import { spawnWorkerProcess, writeWorkflowBundle, type WorkerProcess } from './worker-processes';

export type Caller = [TokenClaims['role'], string, string?];
export const CORE_BANKING: Caller = ['system', 'core-banking'];
/** The fixtures' loans are assigned to officer-li of BR01. */
export const OFFICER_LI: Caller = ['officer', 'officer-li', 'BR01'];

/**
 * A failure drill's world: a scratch database (migrated, seeded) it may take down, the real API
 * in the test process (`app.inject`), and case workers in OS processes of their own on a task
 * queue of the drill's, which the drill kills and starts at will.
 */
export interface Drill {
  scratch: ScratchDatabase;
  /** The API's pool on the scratch database; the drill reads the ledger through it too. */
  database: DatabaseHandle;
  app: FastifyInstance;
  /** The API's Temporal client (the service's data converter): for what a test sends straight to a case. */
  client: Client;
  taskQueue: string;
  as(caller: Caller, options: InjectOptions): Promise<LightMyRequestResponse>;
  /** The worker process running now, if any. */
  worker(): WorkerProcess | undefined;
  /** Starts a worker process and waits until it polls; ms until then. */
  startWorker(): Promise<number>;
  /** SIGKILL to the running worker process, waited for. */
  killWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function startDrill(options: { temporalAddress: string; sweepIntervalMs?: number }): Promise<Drill> {
  const scratch = await createScratchDatabase();
  const cleanups: (() => Promise<unknown>)[] = [() => scratch.drop()];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err: unknown) => console.warn('[drill] cleanup failed:', err));
  };
  try {
    const setup = createDatabase(scratch.url, 1, undefined, { statementTimeoutMs: 0 });
    try {
      await migrateDatabase(setup.db);
      await seedPolicies(setup.db);
    } finally {
      await setup.close();
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drill-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const bundlePath = await writeWorkflowBundle(dir);
    const taskQueue = `drill-${randomUUID()}`;
    const logLevel = process.env.TEST_LOG_LEVEL ?? 'silent';

    // The database lost and found again is the drill's own doing: the pool's reports stay quiet.
    const database = createDatabase(scratch.url, 4, () => undefined);
    cleanups.push(() => database.close());
    const connection = await Connection.connect(apiConnectionOptions({ address: options.temporalAddress }));
    cleanups.push(() => connection.close());
    const config = {
      // A drill's officers send hundreds of requests a minute; the limit has its own test.
      ...loadConfig({ DATABASE_URL: scratch.url, TEMPORAL_ADDRESS: options.temporalAddress, LOG_LEVEL: logLevel, RATE_LIMIT_MAX: '1000000' }),
      TEMPORAL_TASK_QUEUE: taskQueue,
    };
    // The worker process uses the same (development) payload key: test/support/worker-process.ts.
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFrom(config) });
    const app = await buildApp({ config, db: database.db, temporal: client, logger: createLogger(logLevel) });
    cleanups.push(() => app.close());

    let current: WorkerProcess | undefined;
    cleanups.push(async () => current?.kill());
    const auth = ([role, sub, branch]: Caller) =>
      `Bearer ${signToken(config.JWT_SECRET, { role, sub, ...(branch ? { branch } : {}) }, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE })}`;
    return {
      scratch,
      database,
      app,
      client,
      taskQueue,
      as: (caller, injectOptions) => app.inject({ ...injectOptions, headers: { ...injectOptions.headers, authorization: auth(caller) } }),
      worker: () => current,
      async startWorker() {
        if (current?.isRunning()) throw new Error('a worker process is already running');
        const started = Date.now();
        current = spawnWorkerProcess({
          temporalAddress: options.temporalAddress,
          databaseUrl: scratch.url,
          taskQueue,
          bundlePath,
          sweepIntervalMs: options.sweepIntervalMs ?? 0,
          // Kept in the process's tail, shown when it fails.
          logLevel: process.env.TEST_LOG_LEVEL ?? 'warn',
        });
        const ready = await Promise.race([current.ready.then(() => true), sleep(60_000).then(() => false)]);
        if (!ready) throw new Error(`the worker process was not ready within 60 s:\n${current.tail.join('\n')}`);
        return Date.now() - started;
      },
      async killWorker() {
        await current?.kill();
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
