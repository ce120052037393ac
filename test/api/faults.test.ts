/**
 * The API under faults, on the real servers: PostgreSQL down (a database of the test's own,
 * refusing connections), hung (a server that never answers), Temporal cut off and back (a TCP
 * proxy in front of the run's dev server); and input bounds that once reached PostgreSQL
 * (integer overflow, cursors, NUL in text).
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../api/app';
import { problemForFault } from '../../api/faults';
import { apiConnectionOptions, hasApiConnectionOptions, TemporalDeadlineError, withTemporalDeadline } from '../../api/plugins/app/temporal';
import { READINESS_TIMEOUT_MS } from '../../api/routes/health';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { createLogger } from '../../logger';
import { eventually, newLoan } from '../support/fixtures';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { startSilentServer, startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { build, expectProblem, type ApiTest } from './helper';

let t: ApiTest;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => {
  await t?.close();
});

const ADMIN = ['admin', 'admin-1'] as ['admin', string];
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const started = Date.now();
  const value = await fn();
  return [value, Date.now() - started];
};

function expectUnavailable(res: Awaited<ReturnType<ApiTest['as']>>) {
  const body = expectProblem(res, 503);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(body.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|terminat/);
  return body;
}

describe('bounds: what once reached PostgreSQL answers 400 naming the field', () => {
  it.each([
    ['/v1/cases?minDaysPastDue=549755813888', 'minDaysPastDue'],
    ['/v1/cases?maxDaysPastDue=99999999999999999999', 'maxDaysPastDue'],
    ['/v1/cases?hand=9007199254740993', 'hand'],
    ['/v1/cases?limit=1e400', 'limit'],
    [`/v1/cases?cursor=${'A'.repeat(201)}`, 'cursor'],
    ['/v1/cases?cursor=%00', 'cursor'],
    [`/v1/cases?cursor=${Buffer.from(JSON.stringify({ after: 'case-\u0000' })).toString('base64url')}`, 'cursor'],
    [`/v1/cases?cursor=${Buffer.from('[1,2]').toString('base64url')}`, 'cursor'],
    [`/v1/cases/case-NO-SUCH/events?cursor=${Buffer.from(JSON.stringify({ episode: 2 ** 40, seq: 1 })).toString('base64url')}`, 'cursor'],
    ['/v1/cases?branch=BR%0001', 'branch'],
  ])('GET %s', async (url, field) => {
    expectProblem(await t.as(ADMIN, { url }), 400, [field]);
  });

  const c = '/v1/cases/case-NO-SUCH';
  it.each([
    ['/v1/cases', { ...newLoan(), borrower: { name: 'Zhang\u0000Wei', idNumber: '110101199003071234', phone: '+8613800138000' } }, 'borrower.name'],
    ['/v1/cases', { ...newLoan(), product: 'small\u0000business' }, 'product'],
    ['/v1/cases', { ...newLoan(), collateral: [{ kind: 'real_estate', description: 'Shop\u0000', value: 1 }] }, 'collateral.0.description'],
    [`${c}/notes`, { summary: 'met the borrower\u0000' }, 'summary'],
    [`${c}/notes`, { summary: 'ok', nextSteps: '\u0000' }, 'nextSteps'],
    [`${c}/contacts`, { channel: 'phone', outcome: 'answered', note: 'a\u0000' }, 'note'],
    [`${c}/payments`, { amount: 100, paidAt: new Date().toISOString(), reference: 'R\u00001' }, 'reference'],
    [`${c}/pause`, { reason: 'dispute', note: '\u0000' }, 'note'],
    [`${c}/resume`, { note: 'back\u0000' }, 'note'],
  ])('POST %s with NUL in %j', async (url, payload, field) => {
    const res = await t.as(ADMIN, { method: 'POST', url, payload });
    expectProblem(res, 400, [field]);
    expect(res.json().errors).toContainEqual({ field, reason: expect.stringMatching(/NUL/) });
  });

  it('a numeric overflow that still reaches PostgreSQL is a 400 naming the parameter, not a 500', () => {
    const overflow = Object.assign(new Error('integer out of range'), { code: '22003' });
    const wrapped = new Error('Failed query: select …\nparams: 549755813888', { cause: overflow });
    const problem = problemForFault(wrapped, { query: { minDaysPastDue: 549755813888, stage: 'paused' } });
    expect(problem?.status).toBe(400);
    expect(problem?.errors).toEqual([{ field: 'minDaysPastDue', reason: 'is out of range' }]);
    expect(problemForFault(Object.assign(new Error('bad'), { code: '22P02' }))?.errors).toEqual([
      { field: 'request', reason: expect.any(String) },
    ]);
    expect(problemForFault(new Error('a bug'))).toBeUndefined();
  });
});

describe('PostgreSQL down', () => {
  let scratch: ScratchDatabase;
  let database: DatabaseHandle;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = createDatabase(scratch.url, 3, () => undefined, { connectTimeoutMs: 1_000 });
    await migrateDatabase(database.db);
    app = await buildApp({ config: t.config, db: database.db, temporal: t.client, logger: createLogger('silent') });
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    await scratch?.drop();
  });

  const as = (url: string) => app.inject({ url, headers: { authorization: t.auth('admin', 'admin-1') } });

  it('reads answer 503 with Retry-After, /readyz says not ready in time, and all is well once it is back', async () => {
    expect((await as('/v1/cases')).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);

    await scratch.takeDown();
    try {
      expectUnavailable(await as('/v1/cases'));
      expectUnavailable(await as('/v1/cases?stage=paused&branch=BR01'));
      expectUnavailable(await as('/v1/cases/case-LN1'));
      expectUnavailable(await as('/v1/cases/case-LN1/events'));
      const [ready, ms] = await timed(() => app.inject({ url: '/readyz' }));
      expect(ms).toBeLessThan(READINESS_TIMEOUT_MS + 500);
      const body = expectProblem(ready, 503);
      expect(ready.headers['retry-after']).toBeDefined();
      expect(body.checks).toEqual({ postgres: { status: 'down', reason: expect.any(String) }, temporal: { status: 'up' } });
    } finally {
      await scratch.bringUp();
    }
    await eventually(async () => ((await as('/v1/cases')).statusCode === 200 ? true : undefined), 5_000);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('a server that never answers: /readyz answers within its timeout, reads 503 after the connect timeout', async () => {
    const silent = await startSilentServer();
    const hung = createDatabase(`postgres://postgres@127.0.0.1:${silent.port}/none`, 1, () => undefined, { connectTimeoutMs: 1_000 });
    const hungApp = await buildApp({ config: t.config, db: hung.db, temporal: t.client, logger: createLogger('silent') });
    try {
      const [ready, ms] = await timed(() => hungApp.inject({ url: '/readyz' }));
      expect(ms).toBeLessThan(READINESS_TIMEOUT_MS + 500);
      expect(expectProblem(ready, 503).checks).toMatchObject({ postgres: { status: 'down' } });
      const [read, readMs] = await timed(() => hungApp.inject({ url: '/v1/cases', headers: { authorization: t.auth('admin', 'admin-1') } }));
      expectUnavailable(read);
      expect(readMs).toBeLessThan(3_000);
    } finally {
      await hungApp.close();
      await hung.close();
      await silent.close();
    }
  });
});

describe('Temporal cut off and back', () => {
  let proxy: TcpProxy;
  let connection: Connection;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let client: Client;
  beforeAll(async () => {
    proxy = await startTcpProxy(inject('temporalAddress'));
    connection = await Connection.connect(apiConnectionOptions({ address: proxy.address }));
    client = new Client({ connection });
    app = await buildApp({ config: t.config, db: t.database.db, temporal: client, logger: createLogger('silent') });
  });
  afterAll(async () => {
    await app?.close();
    await connection?.close();
    await proxy?.close();
  });

  it('/readyz stays within its timeout while Temporal is away and is ready again at once when it returns', async () => {
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    await proxy.cut();
    // Probes over 10 s: grpc-js's default reconnect backoff (1 s growing by 1.6, up to 120 s)
    // would then keep the API unready some 6 s after Temporal returned; capped at 1 s here.
    const outageStarted = Date.now();
    while (Date.now() - outageStarted < 10_000) {
      const [res, ms] = await timed(() => app.inject({ url: '/readyz' }));
      expect(ms).toBeLessThan(READINESS_TIMEOUT_MS + 300);
      expect(expectProblem(res, 503).checks).toMatchObject({ postgres: { status: 'up' }, temporal: { status: 'down' } });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // A Temporal call with its own deadline answers by it, mapped to 503 with Retry-After.
    const [err, ms] = await timed(() =>
      withTemporalDeadline(client, 500, () => client.workflow.getHandle('case-NONE').describe()).catch((e: unknown) => e),
    );
    expect(ms).toBeLessThan(800);
    expect(problemForFault(err)?.status).toBe(503);
    expect(problemForFault(err)?.headers['retry-after']).toBeDefined();

    await proxy.restore();
    const restoredAt = Date.now();
    await eventually(async () => ((await app.inject({ url: '/readyz' })).statusCode === 200 ? true : undefined), 10_000, 100);
    expect(Date.now() - restoredAt).toBeLessThan(2_500);
  });

  it('the API can tell a connection made with apiConnectionOptions', async () => {
    expect(hasApiConnectionOptions(client)).toBe(true);
    const plain = Connection.lazy({ address: proxy.address });
    expect(hasApiConnectionOptions(new Client({ connection: plain }))).toBe(false);
    await plain.close();
  });

  it('withTemporalDeadline answers by its deadline whatever the call awaits', async () => {
    const never = () => new Promise<never>(() => undefined);
    const [err, ms] = await timed(() => withTemporalDeadline(client, 200, never).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(TemporalDeadlineError);
    expect(ms).toBeLessThan(400);
    expect(problemForFault(err)?.status).toBe(503);
    await expect(withTemporalDeadline(client, 2_000, () => client.workflowService.getSystemInfo({}))).resolves.toBeDefined();
  });
});
