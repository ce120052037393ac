import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDatabase } from '../db/client';
import { migrateDatabase } from '../db/migrate';
import { seedPolicies } from '../db/seed';
import { startEmbeddedPostgres } from './embedded-postgres';

/** Hands a cleanup (named for the error that its failure would raise) to whoever stops the run. */
export type RegisterCleanup = (what: string, cleanup: () => Promise<unknown>) => void;

/**
 * A fresh database of a run's own (the test suite's, a benchmark's), migrated and seeded: on
 * DATABASE_URL's server when it is set, else on a throw-away embedded cluster. Dropped, and the
 * cluster stopped, by the registered cleanups.
 */
export async function createRunDatabase(purpose: string, onCleanup: RegisterCleanup): Promise<{ url: string; configured: boolean }> {
  const configured = process.env.DATABASE_URL;
  const serverUrl = configured ?? (await startThrowAwayPostgres(onCleanup));
  const name = `collection_cases_${purpose}_${randomBytes(4).toString('hex')}`;
  await runOnServer(serverUrl, `create database ${pg.escapeIdentifier(name)}`).catch((err: Error) => {
    const { host, pathname } = new URL(serverUrl);
    throw new Error(`cannot create the ${purpose} database on ${host}${pathname}: ${err.message}`, { cause: err });
  });
  // FORCE: connections a crashed process left open must not keep the database alive.
  onCleanup(`drop database ${name}`, () => runOnServer(serverUrl, `drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = createDatabase(url.toString(), 1, undefined, { statementTimeoutMs: 0 });
  try {
    await migrateDatabase(database.db);
    await seedPolicies(database.db);
  } finally {
    await database.close();
  }
  return { url: url.toString(), configured: configured !== undefined };
}

async function startThrowAwayPostgres(onCleanup: RegisterCleanup): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'collection-cases-pg-'));
  onCleanup('embedded PostgreSQL data directory', () => rm(dataDir, { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({ dataDir, database: 'postgres', persistent: false });
  onCleanup('embedded PostgreSQL', server.stop);
  return server.serverUrl;
}

async function runOnServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
