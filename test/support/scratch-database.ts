import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * A database of its own on the run's PostgreSQL server, for tests that cut connections off
 * (`pg_terminate_backend`, `ALLOW_CONNECTIONS false`) without disturbing the database the other
 * test files share. Empty: tests that need the schema migrate it.
 */
export interface ScratchDatabase {
  name: string;
  url: string;
  /** Runs a statement as the server's admin, from the run's own database. */
  admin(statement: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Ends every session on the scratch database (as a restart or a failover would). */
  terminateSessions(): Promise<number>;
  /** Refuses new connections and ends the open ones: the database is down. */
  takeDown(): Promise<void>;
  bringUp(): Promise<void>;
  drop(): Promise<void>;
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const runUrl = inject('databaseUrl');
  const name = `cc_scratch_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string, values?: unknown[]) => {
    const client = new pg.Client({ connectionString: runUrl });
    await client.connect();
    try {
      return await client.query(statement, values);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${pg.escapeIdentifier(name)}`);
  const url = new URL(runUrl);
  url.pathname = `/${name}`;
  const terminateSessions = async () => {
    const { rowCount } = await admin(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
    return rowCount ?? 0;
  };
  return {
    name,
    url: url.toString(),
    admin,
    terminateSessions,
    async takeDown() {
      await admin(`alter database ${pg.escapeIdentifier(name)} allow_connections false`);
      await terminateSessions();
    },
    async bringUp() {
      await admin(`alter database ${pg.escapeIdentifier(name)} allow_connections true`);
    },
    async drop() {
      await admin(`alter database ${pg.escapeIdentifier(name)} allow_connections true`).catch(() => undefined);
      await admin(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    },
  };
}
