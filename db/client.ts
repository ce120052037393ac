import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { describeDatabaseError } from './errors';
import { releaseClientsOnFailure } from './transaction';
import * as schema from './schema';

export type Database = NodePgDatabase<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  pool: pg.Pool;
  /** Ends the pool; safe to call more than once. */
  close(): Promise<void>;
}

/** Where a connection was when the server dropped it. */
export type LostConnectionState = 'idle' | 'checked-out';

/**
 * Hears of connections the server drops (a restart, a failover, `pg_terminate_backend`), idle
 * in the pool or checked out by a transaction between two statements. Unheard, pg's 'error'
 * event would kill the process. The pool replaces such connections itself; a transaction that
 * held one fails with a connection error and is retried by its caller. Whatever the handler
 * does, it can never throw into pg.
 */
export type ConnectionErrorHandler = (err: Error, state: LostConnectionState) => void;

export interface DatabaseOptions {
  /** Pool size. */
  max?: number;
  /** Connecting, and waiting for a free client of a full pool (pg-pool's `connectionTimeoutMillis`). */
  connectTimeoutMs?: number;
  /** The server's `statement_timeout` for every statement; 0 means none (migrations). */
  statementTimeoutMs?: number;
  /** The server ends a session left idle inside a transaction this long (a stuck client). */
  idleInTransactionTimeoutMs?: number;
  /** Idle clients are closed after this long. */
  idleTimeoutMs?: number;
  /** `application_name` shown in `pg_stat_activity`. */
  applicationName?: string;
}

export const DEFAULT_DATABASE_OPTIONS = {
  max: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 15_000,
  idleInTransactionTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
  applicationName: 'collection-cases',
} as const satisfies Required<DatabaseOptions>;

/** The client-side bound beyond the server's statement timeout: a server that stops answering
 * altogether (a half-open TCP connection) still fails the query. */
const QUERY_TIMEOUT_MARGIN_MS = 5_000;

/** The pool options the configuration asks for (`DATABASE_POOL_MAX`, `DATABASE_*_TIMEOUT_MS`). */
export function databaseOptionsFrom(config: {
  DATABASE_POOL_MAX?: number;
  DATABASE_CONNECT_TIMEOUT_MS?: number;
  DATABASE_STATEMENT_TIMEOUT_MS?: number;
}): DatabaseOptions {
  return {
    ...(config.DATABASE_POOL_MAX !== undefined ? { max: config.DATABASE_POOL_MAX } : {}),
    ...(config.DATABASE_CONNECT_TIMEOUT_MS !== undefined ? { connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS } : {}),
    ...(config.DATABASE_STATEMENT_TIMEOUT_MS !== undefined ? { statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS } : {}),
  };
}

/** Logs the cause only (message, code), never the client, its query or its parameters. */
export function defaultConnectionErrorHandler(err: Error, state: LostConnectionState): void {
  const { message, code } = describeDatabaseError(err);
  console.warn(`database connection lost (${state}): ${message}${code ? ` [${code}]` : ''}`);
}

/** The pg.Pool configuration for the options (exported for tests). */
export function poolConfig(url: string, options: DatabaseOptions = {}): pg.PoolConfig {
  const o = { ...DEFAULT_DATABASE_OPTIONS, ...options };
  return {
    connectionString: url,
    max: o.max,
    connectionTimeoutMillis: o.connectTimeoutMs,
    idleTimeoutMillis: o.idleTimeoutMs,
    application_name: o.applicationName,
    ...(o.statementTimeoutMs > 0
      ? { statement_timeout: o.statementTimeoutMs, query_timeout: o.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS }
      : {}),
    ...(o.idleInTransactionTimeoutMs > 0 ? { idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs } : {}),
    // TCP keepalive: a connection whose server vanished (no FIN) is found out and replaced.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * A pool on `url`. Every pool and every client it makes gets an 'error' listener that never
 * throws: a connection the server drops while idle in the pool, or while checked out by a
 * transaction between statements, is reported to `onConnectionError` (once) and replaced.
 *
 * `createDatabase(url, max, onConnectionError, options)`; `options.max` wins over `max`.
 */
export function createDatabase(
  url: string,
  max: number = DEFAULT_DATABASE_OPTIONS.max,
  onConnectionError: ConnectionErrorHandler = defaultConnectionErrorHandler,
  options: DatabaseOptions = {},
): DatabaseHandle {
  const pool = new pg.Pool(poolConfig(url, { max, ...options }));
  // One report per lost connection: pg-pool re-emits an idle client's error on the pool, and a
  // dying connection may emit twice (the server's FATAL, then "Connection terminated").
  const reported = new WeakSet<object>();
  const report = (err: unknown, client: object | undefined, state: LostConnectionState) => {
    try {
      const key = client ?? (err as object);
      if (typeof key === 'object' && key !== null) {
        if (reported.has(key)) return;
        reported.add(key);
      }
      onConnectionError(err instanceof Error ? err : new Error(String(err)), state);
    } catch {
      // A failing handler (a closed log stream, a throwing callback) must not kill the process.
    }
  };
  // A checked-out client has no pool listener: pg would throw its 'error' event.
  pool.on('connect', (client) => {
    client.on('error', (err) => report(err, client, isIdle(pool, client) ? 'idle' : 'checked-out'));
  });
  pool.on('error', (err, client) => report(err, client, 'idle'));

  const db = drizzle(pool, { schema });
  releaseClientsOnFailure(db._.session, pool);
  let closing: Promise<void> | undefined;
  return {
    db,
    pool,
    close: () => (closing ??= pool.end()),
  };
}

/** Whether pg-pool holds the client idle (its internals; falls back to "checked out"). */
function isIdle(pool: pg.Pool, client: pg.PoolClient): boolean {
  const idle = (pool as unknown as { _idle?: { client: unknown }[] })._idle;
  return Array.isArray(idle) && idle.some((item) => item.client === client);
}
