import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../db/client';
import { migrateDatabase } from '../db/migrate';
import { seedPolicies } from '../db/seed';
import { startEmbeddedPostgres } from '../tools/embedded-postgres';
import { ensureTemporalCli } from '../tools/temporal-cli';
import { createLocalTemporal } from '../tools/temporal-dev-server';

type Cleanup = () => Promise<unknown>;

/**
 * One Temporal dev server and one fresh PostgreSQL database for the whole run, handed to the
 * test files through `inject`. Runs in vitest's main process: Runtime.instance() is created
 * here by the SDK, while every test fork installs its own runtime.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: Cleanup[] = [];
  const teardown = () => runCleanups(cleanups);
  // vitest calls the teardown only after a successful setup; a half-started run cleans up here.
  const [temporal, database] = await Promise.allSettled([startTemporal(cleanups), createRunDatabase(cleanups)]);
  if (temporal.status === 'rejected' || database.status === 'rejected') {
    await teardown();
    throw temporal.status === 'rejected' ? temporal.reason : (database as PromiseRejectedResult).reason;
  }
  project.provide('temporalAddress', temporal.value);
  project.provide('databaseUrl', database.value);
  return teardown;
}

/** In memory: faster than a SQLite file here, and nothing to delete afterwards. */
async function startTemporal(cleanups: Cleanup[]): Promise<string> {
  const env = await createLocalTemporal({}, ensureTemporalCli());
  cleanups.push(() => env.teardown());
  return env.address;
}

/** A database of its own on DATABASE_URL's server, else on a throw-away embedded cluster. */
async function createRunDatabase(cleanups: Cleanup[]): Promise<string> {
  const serverUrl = process.env.DATABASE_URL ?? (await startThrowAwayPostgres(cleanups));
  const name = `collection_cases_test_${randomBytes(4).toString('hex')}`;
  await runOnServer(serverUrl, `create database ${pg.escapeIdentifier(name)}`).catch((err: Error) => {
    const { host, pathname } = new URL(serverUrl);
    throw new Error(`cannot create the test database on ${host}${pathname}: ${err.message}`, { cause: err });
  });
  // FORCE: connections a crashed test fork left open must not keep the database alive.
  cleanups.push(() => runOnServer(serverUrl, `drop database if exists ${pg.escapeIdentifier(name)} with (force)`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const database = createDatabase(url.toString(), 1);
  try {
    await migrateDatabase(database.db);
    await seedPolicies(database.db);
  } finally {
    await database.close();
  }
  return url.toString();
}

async function startThrowAwayPostgres(cleanups: Cleanup[]): Promise<string> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'collection-cases-pg-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({ dataDir, database: 'postgres', persistent: false });
  cleanups.push(server.stop);
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

/** Newest first, every one of them even when an earlier one fails. */
async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((err: unknown) => errors.push(err));
  }
  if (errors.length) throw new AggregateError(errors, 'test services did not stop cleanly');
}
