import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema';

export type Database = NodePgDatabase<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** `onIdleError` hears of idle connections the server drops (a restart, a failover): unheard,
 * pg's 'error' event would crash the process. The pool replaces such connections itself. */
export function createDatabase(
  url: string,
  max = 10,
  onIdleError: (err: Error) => void = (err) => console.warn(`idle database connection lost: ${err.message}`),
): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', onIdleError);
  return { db: drizzle(pool, { schema }), pool, close: () => pool.end() };
}
