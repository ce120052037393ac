import type { TestProject } from 'vitest/node';
import { createRunDatabase } from '../tools/run-database';
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
  const [temporal, database] = await Promise.allSettled([startTemporal(cleanups), createTestDatabase(cleanups)]);
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
async function createTestDatabase(cleanups: Cleanup[]): Promise<string> {
  const { url } = await createRunDatabase('test', (_what, cleanup) => cleanups.push(cleanup));
  return url;
}

/** Newest first, every one of them even when an earlier one fails. */
async function runCleanups(cleanups: Cleanup[]): Promise<void> {
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((err: unknown) => errors.push(err));
  }
  if (errors.length) throw new AggregateError(errors, 'test services did not stop cleanly');
}
