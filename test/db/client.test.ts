/**
 * The pool under faults, on the run's real PostgreSQL server: connections terminated while idle
 * in the pool, while checked out between statements, inside a transaction; a database that
 * refuses connections; a server that never answers; a statement past its timeout. No pool or
 * client error may kill the process, and every failure classifies as db/errors.ts says.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, databaseOptionsFrom, poolConfig, type LostConnectionState } from '../../db/client';
import { classifyDatabaseError, isConnectionError, isTimeoutError, isUnavailableError } from '../../db/errors';
import { loadConfig } from '../../config';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { startSilentServer, startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/fixtures';

let scratch: ScratchDatabase;
beforeAll(async () => {
  scratch = await createScratchDatabase();
});
afterAll(async () => {
  await scratch?.drop();
});

type Lost = { err: Error; state: LostConnectionState };

function pool(options: Parameters<typeof createDatabase>[3] = {}) {
  const lost: Lost[] = [];
  const database = createDatabase(scratch.url, 3, (err, state) => lost.push({ err, state }), options);
  return { ...database, lost };
}

const pidOf = async (query: (text: string) => Promise<{ rows: { pid: number }[] }>) => (await query('select pg_backend_pid() as pid')).rows[0]!.pid;

describe('a connection the server drops', () => {
  it('while checked out and idle between statements: reported once, never thrown; the pool goes on', async () => {
    const { pool: p, db, lost, close } = pool();
    try {
      const client = await p.connect();
      const pid = await pidOf((text) => client.query(text));
      await scratch.admin('select pg_terminate_backend($1)', [pid]);
      const [report] = await eventually(async () => (lost.length > 0 ? lost : undefined), 5_000, 20);
      expect(report!.state).toBe('checked-out');
      expect(report!.err.message).toMatch(/terminat/);
      expect(isConnectionError(report!.err)).toBe(true);
      // The broken client refuses further statements with a connection error, then goes.
      const next = await client.query('select 1').catch((err: unknown) => err);
      expect(isConnectionError(next)).toBe(true);
      client.release(true);
      expect((await db.execute(sql`select 1 as one`)).rows).toEqual([{ one: 1 }]);
      expect(lost).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('while idle in the pool: reported once with the cause only; replaced on the next query', async () => {
    const { pool: p, db, lost, close } = pool();
    try {
      await db.execute(sql`select 1`);
      expect(p.idleCount).toBe(1);
      expect(await scratch.terminateSessions()).toBe(1);
      await eventually(async () => (lost.length > 0 ? true : undefined), 5_000, 20);
      expect(lost).toHaveLength(1);
      expect(lost[0]!.state).toBe('idle');
      expect((lost[0]!.err as { code?: string }).code).toBe('57P01');
      expect((await db.execute(sql`select 2 as two`)).rows).toEqual([{ two: 2 }]);
    } finally {
      await close();
    }
  });

  it('inside a transaction: the transaction fails with a connection error, nothing is thrown elsewhere', async () => {
    const { db, lost, close } = pool();
    try {
      const outcome = await db
        .transaction(async (tx) => {
          const { rows } = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
          await scratch.admin('select pg_terminate_backend($1)', [rows[0]!.pid]);
          await new Promise((resolve) => setTimeout(resolve, 200));
          await tx.execute(sql`select 1`);
        })
        .then(
          () => 'committed',
          (err: unknown) => err,
        );
      expect(outcome).not.toBe('committed');
      expect(isConnectionError(outcome)).toBe(true);
      expect(lost.length).toBeLessThanOrEqual(1);
      expect((await db.execute(sql`select 3 as three`)).rows).toEqual([{ three: 3 }]);
    } finally {
      await close();
    }
  });

  it('does not kill a process holding a checked-out client (a bare pool without the listener does)', async () => {
    const run = async (mode: 'safe' | 'raw') => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/hold-connection.ts', mode, scratch.url], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += String(chunk)));
      child.stderr.on('data', (chunk) => (stderr += String(chunk)));
      const exited = once(child, 'exit') as Promise<[number | null]>;
      const pid = await eventually(async () => {
        const line = stdout.split('\n').find((l) => l.startsWith('{"pid"'));
        return line ? (JSON.parse(line) as { pid: number }).pid : undefined;
      }, 20_000, 20);
      await scratch.admin('select pg_terminate_backend($1)', [pid]);
      child.stdin.end('go\n');
      const [code] = await exited;
      return { code, stdout, stderr };
    };

    const safe = await run('safe');
    expect(safe.code, safe.stderr).toBe(0);
    const lines = safe.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual({ lost: 'checked-out', message: expect.stringMatching(/terminat/), code: '57P01' });
    expect(lines).toContainEqual({ alive: true });

    // The control: the same process on a bare pool dies of the unheard 'error' event.
    const raw = await run('raw');
    expect(raw.code).not.toBe(0);
    expect(raw.stderr).toMatch(/terminat|Unhandled 'error' event/);
  });
});

describe('a database that is down', () => {
  it('refuses connections: queries fail fast with connection errors, and work again once it is back', async () => {
    const { db, close } = pool({ connectTimeoutMs: 2_000 });
    try {
      await db.execute(sql`select 1`);
      await scratch.takeDown();
      const started = Date.now();
      const err = await db.execute(sql`select 1`).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(isConnectionError(err), String(err)).toBe(true);
      await scratch.bringUp();
      await eventually(async () => ((await db.execute(sql`select 1 as one`)).rows.length === 1 ? true : undefined), 5_000);
    } finally {
      await scratch.bringUp();
      await close();
    }
  });

  it('that never answers: connecting gives up after the connect timeout', async () => {
    const silent = await startSilentServer();
    const lost: Error[] = [];
    const database = createDatabase(`postgres://postgres@127.0.0.1:${silent.port}/none`, 1, (err) => lost.push(err), {
      connectTimeoutMs: 300,
    });
    try {
      const started = Date.now();
      const err = await database.db.execute(sql`select 1`).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(isConnectionError(err), String(err)).toBe(true);
    } finally {
      await database.close();
      await silent.close();
    }
  });

  it('unreachable (nothing listens): a connection error', async () => {
    const database = createDatabase('postgres://postgres@127.0.0.1:1/none', 1, () => undefined);
    try {
      const err = await database.db.execute(sql`select 1`).catch((e: unknown) => e);
      expect(classifyDatabaseError(err)).toBe('connection');
    } finally {
      await database.close();
      await database.close(); // closing twice is harmless
    }
  });
});

describe('a transaction on a connection that stops answering', () => {
  // One client only: a client the pool lost would leave it none. The client-side query timeout
  // is the statement timeout plus 5 s: the server never sees the silenced statements.
  let proxy: TcpProxy;
  let handle: ReturnType<typeof createDatabase>;
  beforeAll(async () => {
    const url = new URL(scratch.url);
    proxy = await startTcpProxy(`${url.hostname}:${url.port || 5432}`);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    handle = createDatabase(url.toString(), 1, () => undefined, { statementTimeoutMs: 100, connectTimeoutMs: 2_000 });
  });
  afterAll(async () => {
    await handle?.close();
    await proxy?.close();
  });
  const nextTransactionWorks = async () => {
    const { rows } = await handle.db.transaction((tx) => tx.execute<{ one: number }>(sql`select 1 as one`));
    expect(rows).toEqual([{ one: 1 }]);
  };

  it('whose BEGIN fails gives its client back, and the pool serves the next transaction', async () => {
    await handle.db.execute(sql`select 1`);
    proxy.silence(true);
    const err = await handle.db.transaction((tx) => tx.execute(sql`select 2`)).catch((e: unknown) => e);
    proxy.silence(false);
    expect(isTimeoutError(err), String(err)).toBe(true);
    expect(handle.pool.totalCount).toBe(0);
    await nextTransactionWorks();
  }, 20_000);

  it('whose ROLLBACK fails fails with its own error, and its client is not used again', async () => {
    const seen: string[] = [];
    const err = await handle.db
      .transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        proxy.silence(true);
        try {
          await tx.execute(sql`select 2`);
        } catch (inner) {
          seen.push(String(inner));
          throw new Error('the work failed');
        }
      })
      .catch((e: unknown) => e);
    proxy.silence(false);
    expect(seen).toHaveLength(1);
    expect((err as Error).message).toBe('the work failed');
    expect(handle.pool.totalCount).toBe(0);
    await nextTransactionWorks();
  }, 30_000);
});

describe('timeouts', () => {
  it('a statement past statement_timeout fails as a timeout (57014), and the pool goes on', async () => {
    const { db, close } = pool({ statementTimeoutMs: 200 });
    try {
      const err = await db.execute(sql`select pg_sleep(2)`).catch((e: unknown) => e);
      expect(isTimeoutError(err), String(err)).toBe(true);
      expect(isUnavailableError(err)).toBe(true);
      expect((await db.execute(sql`select 1 as one`)).rows).toEqual([{ one: 1 }]);
    } finally {
      await close();
    }
  });

  it('are configured from the environment, with defaults', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db/x' });
    expect(config).toMatchObject({ DATABASE_CONNECT_TIMEOUT_MS: 5_000, DATABASE_STATEMENT_TIMEOUT_MS: 15_000 });
    expect(() => loadConfig({ DATABASE_URL: 'postgres://app@db/x', DATABASE_CONNECT_TIMEOUT_MS: 'soon' })).toThrow(
      /DATABASE_CONNECT_TIMEOUT_MS/,
    );
    const custom = loadConfig({ DATABASE_URL: 'postgres://app@db/x', DATABASE_STATEMENT_TIMEOUT_MS: '30000', DATABASE_CONNECT_TIMEOUT_MS: '2000' });
    expect(poolConfig('postgres://app@db/x', databaseOptionsFrom(custom))).toMatchObject({
      connectionTimeoutMillis: 2_000,
      statement_timeout: 30_000,
      query_timeout: 35_000,
      idle_in_transaction_session_timeout: 60_000,
      keepAlive: true,
      max: 10,
    });
    expect(poolConfig('postgres://app@db/x', { statementTimeoutMs: 0 })).not.toHaveProperty('statement_timeout');
  });
});
