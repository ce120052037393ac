/**
 * What the API answers before any case workflow is involved: authentication, role checks,
 * validation of every endpoint's input, unknown cases, the OpenAPI document, health. Real
 * PostgreSQL and Temporal; no worker needed.
 */
import { Client, Connection } from '@temporalio/client';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { createDatabase } from '../../db/client';
import pino from 'pino';
import { loggerOptions } from '../../logger';
import { tokenFromArgs } from '../../scripts/token';
import { msToDate, type Role } from '../../domain';
import { apiConnectionOptions } from '../../api/plugins/app/temporal';
import { build, expectProblem, type ApiTest } from './helper';
import { newLoan } from '../support/fixtures';

let t: ApiTest;
beforeAll(async () => {
  t = await build();
});
afterAll(async () => {
  await t?.close();
});

type Who = [Role, string, string?];
const ADMIN: Who = ['admin', 'admin-1'];
const SYSTEM: Who = ['system', 'core-banking'];
const SUPERVISOR_BR01: Who = ['supervisor', 'sup-1', 'BR01'];
const SUPERVISOR_BR02: Who = ['supervisor', 'sup-2', 'BR02'];
const OFFICER_BR01: Who = ['officer', 'officer-li', 'BR01'];
const UNKNOWN_CASE = 'case-NO-SUCH-LOAN';
const day = (offset: number) => msToDate(Date.now() + offset * 86_400_000);

/** A loan the API accepts, with any field overridden (bad values included). */
function loan(overrides: Record<string, unknown> = {}) {
  const { officerId: _unassigned, ...facts } = newLoan({ loanId: 'LNREQ1', overdueSince: day(-3), guarantors: [] });
  return { ...facts, ...overrides };
}

describe('health', () => {
  it('answers liveness and readiness', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { postgres: { status: 'up' }, temporal: { status: 'up' } } });
  });

  it('answers 503 naming the dependencies that do not answer, and masks a 5xx but logs it with its request', async () => {
    // Real clients aimed at ports where nothing listens; a logger whose lines the test reads.
    const lines: Record<string, any>[] = [];
    const logger = pino(loggerOptions('info'), { write: (line: string) => void lines.push(JSON.parse(line)) });
    // As server.ts connects: a call's retry never outlives its deadline or the connection.
    const connection = Connection.lazy(apiConnectionOptions({ address: '127.0.0.1:1' }));
    const database = createDatabase('postgres://postgres@127.0.0.1:1/none', 1);
    const app = await buildApp({ config: t.config, db: database.db, temporal: new Client({ connection }), logger });
    try {
      const res = await app.inject({ url: '/readyz' });
      const body = expectProblem(res, 503);
      expect(body.detail).toMatch(/postgres and temporal/);
      expect(body.checks).toMatchObject({ postgres: { status: 'down' }, temporal: { status: 'down' } });

      const authorization = t.auth('admin', 'admin-1');
      const failed = await app.inject({ url: '/v1/cases?stage=paused', headers: { authorization } });
      const problem = expectProblem(failed, 503);
      expect(failed.headers['retry-after']).toBeDefined();
      expect(problem.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      const logged = lines.find((l) => l.msg === 'dependency unavailable');
      expect(logged).toMatchObject({
        level: 40,
        err: { message: expect.stringMatching(/ECONNREFUSED/) },
        request: { method: 'GET', url: '/v1/cases?stage=paused', query: { stage: 'paused' }, caller: { sub: 'admin-1', role: 'admin' } },
      });
      expect(JSON.stringify(lines)).not.toContain(authorization.slice('Bearer '.length));
    } finally {
      await app.close();
      await connection.close();
      await database.close();
    }
  });
});

describe('authentication', () => {
  const sign = (claims: Record<string, unknown>, key?: string) =>
    createSigner({ key: key ?? t.config.JWT_SECRET, algorithm: 'HS256' })(claims);

  it.each([
    ['no token', () => undefined],
    ['a malformed token', () => 'Bearer not-a-token'],
    ['another secret', () => `Bearer ${sign({ sub: 'a', role: 'admin' }, 'x'.repeat(40))}`],
    ['an expired token', () => `Bearer ${sign({ sub: 'a', role: 'admin', exp: Math.floor(Date.now() / 1000) - 60 })}`],
    ['an unknown role', () => `Bearer ${sign({ sub: 'a', role: 'root' })}`],
    ['an officer without a branch', () => `Bearer ${sign({ sub: 'a', role: 'officer' })}`],
    ['a token without sub', () => `Bearer ${sign({ role: 'admin' })}`],
  ])('answers 401 for %s', async (_name, header) => {
    const authorization = header();
    const res = await t.app.inject({ url: '/v1/cases', headers: authorization ? { authorization } : {} });
    expectProblem(res, 401);
  });

  it('accepts the tokens scripts/token.ts prints', async () => {
    const token = tokenFromArgs(['supervisor', 'sup-1', 'BR01'], { JWT_SECRET: t.config.JWT_SECRET });
    const res = await t.app.inject({ url: '/v1/cases', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    expect(() => tokenFromArgs(['root', 'x'], {})).toThrow(/ROLE must be one of/);
    expect(() => tokenFromArgs(['officer', 'o-1'], {})).toThrow(/needs a BRANCH/);
    expect(() => tokenFromArgs(['admin'], {})).toThrow(/usage/);
  });
});

describe('roles', () => {
  it.each([
    ['an officer opens a case', OFFICER_BR01, 'POST', '/v1/cases', loan()],
    ['a supervisor opens a case in another branch', SUPERVISOR_BR02, 'POST', '/v1/cases', loan()],
    ['an officer pauses', OFFICER_BR01, 'POST', `/v1/cases/${UNKNOWN_CASE}/pause`, { reason: 'dispute' }],
    ['an officer resumes', OFFICER_BR01, 'POST', `/v1/cases/${UNKNOWN_CASE}/resume`, {}],
    ['a system pauses', SYSTEM, 'POST', `/v1/cases/${UNKNOWN_CASE}/pause`, { reason: 'dispute' }],
    ['an officer assigns', OFFICER_BR01, 'POST', `/v1/cases/${UNKNOWN_CASE}/assignment`, { officerId: 'o-2' }],
    ['an officer reads a history', OFFICER_BR01, 'GET', `/v1/cases/${UNKNOWN_CASE}/history`, undefined],
    ['a system reads a history', SYSTEM, 'GET', `/v1/cases/${UNKNOWN_CASE}/history`, undefined],
    ['an officer lists another branch', OFFICER_BR01, 'GET', '/v1/cases?branch=BR02', undefined],
    ['a supervisor lists another branch', SUPERVISOR_BR01, 'GET', '/v1/cases?branch=BR02', undefined],
  ] as [string, Who, 'GET' | 'POST', string, object | undefined][])('answers 403 when %s', async (_name, caller, method, url, payload) => {
    const res = await t.as(caller, { method, url, ...(payload ? { payload } : {}) });
    expectProblem(res, 403);
  });

  it('checks the role before the body: a forbidden caller learns nothing of it', async () => {
    const res = await t.as(OFFICER_BR01, { method: 'POST', url: '/v1/cases', payload: { nonsense: true } });
    expectProblem(res, 403);
  });
});

describe('unknown cases', () => {
  it.each([
    ['GET', ''],
    ['GET', '/events'],
    ['GET', '/history'],
    ['POST', '/contacts', { channel: 'phone', outcome: 'answered' }],
    ['POST', '/resume', {}],
  ] as ['GET' | 'POST', string, object?][])('answer 404 to %s %s', async (method, path, payload) => {
    const res = await t.as(ADMIN, { method, url: `/v1/cases/${UNKNOWN_CASE}${path}`, ...(payload ? { payload } : {}) });
    expectProblem(res, 404);
  });

  it('answers 404 problem details for an unknown route', async () => {
    expectProblem(await t.app.inject({ url: '/v2/nothing' }), 404);
  });
});

describe('validation: every endpoint names the bad field and why', () => {
  const post = (path: string, payload: unknown, headers: Record<string, string> = {}) =>
    t.as(ADMIN, { method: 'POST', url: `/v1/cases${path}`, payload: payload as object, headers });
  const get = (url: string) => t.as(ADMIN, { method: 'GET', url });
  const c = `/${UNKNOWN_CASE}`;

  it.each([
    ['missing fields', { loanId: 'L1' }, ['borrower', 'branch', 'principal', 'overdueSince']],
    ['a nested field', loan({ borrower: { name: 'Z', idNumber: '1101', phone: 'call me' } }), ['borrower.phone']],
    ['an unknown property', loan({ interestRate: 3 }), ['interestRate']],
    ['a string amount (no coercion of bodies)', loan({ overdue: '1200000' }), ['overdue']],
    ['a null amount', loan({ outstanding: null }), ['outstanding']],
    ['a zero overdue', loan({ overdue: 0 }), ['overdue']],
    ['an unsafe integer', loan({ principal: 2 ** 60 }), ['principal']],
    ['a lower-case currency', loan({ currency: 'cny' }), ['currency']],
    ['an unknown collateral kind', loan({ collateral: [{ kind: 'gold', description: 'bar', value: 1 }] }), ['collateral.0.kind']],
    ['a guarantor without ID number', loan({ guarantors: [{ name: 'Li', phone: '+8613900139000' }] }), ['guarantors.0.idNumber']],
    ['overdue above outstanding', loan({ overdue: 40_000_000 }), ['overdue']],
    ['a date that is no calendar date', loan({ overdueSince: '2025-02-30' }), ['overdueSince']],
    ['an overdue date in the future', loan({ overdueSince: day(2) }), ['overdueSince']],
    ['a secured loan without collateral', loan({ collateral: [] }), ['collateral']],
    ['an unknown policy', loan({ policy: 'no-such-policy' }), ['policy']],
    ['a malformed loan id', loan({ loanId: 'has space' }), ['loanId']],
  ])('POST /v1/cases: %s', async (_name, payload, fields) => {
    expectProblem(await post('', payload), 400, fields);
  });

  it('POST /v1/cases: an empty or non-JSON body', async () => {
    expectProblem(await t.as(ADMIN, { method: 'POST', url: '/v1/cases', payload: '{"loanId":', headers: { 'content-type': 'application/json' } }), 400);
    expectProblem(await t.as(ADMIN, { method: 'POST', url: '/v1/cases', payload: 'x', headers: { 'content-type': 'text/plain' } }), 400, ['body']);
    expectProblem(await t.as(ADMIN, { method: 'POST', url: '/v1/cases', payload: '<loan/>', headers: { 'content-type': 'application/xml' } }), 415);
  });

  it.each([
    ['/v1/cases?limit=0', ['limit']],
    ['/v1/cases?limit=201', ['limit']],
    ['/v1/cases?stage=lost', ['stage']],
    ['/v1/cases?hand=7', ['hand']],
    ['/v1/cases?minDaysPastDue=-1', ['minDaysPastDue']],
    ['/v1/cases?minDaysPastDue=30&maxDaysPastDue=10', ['maxDaysPastDue']],
    ['/v1/cases?cursor=bm90IGpzb24', ['cursor']],
    ['/v1/cases?sort=hand', ['sort']],
    ['/v1/cases/LOAN1', ['caseId']],
    [`/v1/cases${c}/events?limit=abc`, ['limit']],
    [`/v1/cases${c}/events?cursor=e30`, ['cursor']],
    [`/v1/cases${c}/history?format=xml`, ['format']],
    [`/v1/cases${c}/history?runId=not-a-run`, ['runId']],
  ])('GET %s', async (url, fields) => {
    expectProblem(await get(url), 400, fields);
  });

  it.each([
    ['/contacts', { channel: 'pigeon', outcome: 'answered' }, ['channel']],
    ['/contacts', { channel: 'phone' }, ['outcome']],
    ['/payments', { amount: 0, paidAt: new Date().toISOString(), reference: 'R1' }, ['amount']],
    ['/payments', { amount: '100', paidAt: new Date().toISOString(), reference: 'R1' }, ['amount']],
    ['/payments', { amount: 100, paidAt: 'yesterday', reference: 'R1' }, ['paidAt']],
    ['/payments', { amount: 100, paidAt: new Date(Date.now() + 3_600_000).toISOString(), reference: 'R1' }, ['paidAt']],
    ['/payments', { amount: 100, paidAt: new Date().toISOString() }, ['reference']],
    ['/promises', { amount: 100, dueDate: '2030-13-01' }, ['dueDate']],
    ['/promises', { amount: -5, dueDate: day(3) }, ['amount']],
    ['/notes', { summary: '' }, ['summary']],
    ['/notes', { problems: 'no summary' }, ['summary']],
    ['/assignment', {}, ['officerId']],
    ['/assignment', { officerId: 'two words' }, ['officerId']],
    ['/pause', { reason: 'holiday' }, ['reason']],
    ['/pause', { reason: 'dispute', until: '2030-02-30' }, ['until']],
    ['/resume', undefined, ['body']],
    ['/resume', { note: 'ok', extra: 1 }, ['extra']],
  ])('POST %s', async (path, payload, fields) => {
    expectProblem(await post(`${c}${path}`, payload), 400, fields);
  });

  it('says what to write instead: dates, date-times with their zone, whole minor units', async () => {
    const reasons = async (path: string, payload: object) =>
      (expectProblem(await post(`${c}${path}`, payload), 400).errors as { field: string; reason: string }[]).map((e) => `${e.field}: ${e.reason}`);
    expect(await reasons('/payments', { amount: 12.5, paidAt: new Date().toISOString(), reference: 'R1' })).toEqual([
      'amount: must be a whole number of minor units of the currency: 12.50 CNY is 1250',
    ]);
    expect((await reasons('/payments', { amount: 100, paidAt: '2026-11-30 09:30', reference: 'R1' }))[0]).toMatch(/RFC 3339 .* zone/);
    expect((await reasons('/promises', { amount: 100, dueDate: '30/11/2026' }))[0]).toMatch(/YYYY-MM-DD/);
  });

  it('POST messages: the query and the Idempotency-Key header', async () => {
    expectProblem(await post(`${c}/notes?async=maybe`, { summary: 'x' }), 400, ["async"]);
    expectProblem(await post(`${c}/notes`, { summary: 'x' }, { 'idempotency-key': 'short' }), 400, ['idempotency-key']);
  });
});

describe('the OpenAPI document', () => {
  it('lists every route with its schemas, tags, security and problem answers', async () => {
    const res = await t.app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const operations = Object.entries(doc.paths as Record<string, Record<string, Record<string, any>>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(operations.map((o) => o.route).sort()).toEqual(
      [
        'GET /healthz',
        'GET /metrics',
        'GET /readyz',
        'GET /v1/approvals',
        'POST /v1/cases',
        'GET /v1/cases',
        'GET /v1/cases/{caseId}',
        'GET /v1/cases/{caseId}/events',
        'GET /v1/cases/{caseId}/history',
        'GET /v1/cases/{caseId}/refusals',
        'GET /v1/incidents',
        'GET /v1/officers',
        'POST /v1/officers',
        'POST /v1/assignments',
        'GET /v1/worklist',
        'GET /v1/reports/portfolio',
        'GET /v1/reports/roll-rates',
        'GET /v1/cases/export.csv',
        'GET /v1/cases/{caseId}/audit/verify',
        'GET /v1/audit',
        'GET /v1/audit/reads',
        'POST /codec/decode',
        'POST /codec/encode',
        'POST /v1/intake/overdue',
        'GET /v1/intake/runs',
        'GET /v1/intake/runs/{runId}',
        'GET /v1/policies',
        'GET /v1/policies/{name}/versions/{version}',
        'POST /v1/policies/{name}/versions',
        'GET /v1/policies/{name}/diff',
        'POST /v1/watches',
        'GET /v1/watches',
        'GET /v1/watches/{watchId}',
        'POST /v1/watches/{watchId}/exit-measures',
        'POST /v1/watches/{watchId}/exit-measures/{measureId}/decision',
        ...['visits', 'resolve', 'exit'].map((m) => `POST /v1/watches/{watchId}/${m}`),
        ...['contacts', 'payments', 'promises', 'notes', 'classification', 'assignment', 'pause', 'resume', 'measures'].map((m) => `POST /v1/cases/{caseId}/${m}`),
        'POST /v1/cases/{caseId}/measures/{measureId}/decision',
        'POST /v1/cases/{caseId}/measures/{measureId}/progress',
        'POST /v1/cases/{caseId}/write-off',
        'POST /v1/cases/{caseId}/write-off/decision',
        'GET /v1/households/{householdId}',
        'GET /v1/cases/{caseId}/measures/{measureId}/litigation',
        'POST /v1/cases/{caseId}/measures/{measureId}/litigation/steps',
        'POST /v1/cases/{caseId}/measures/{measureId}/litigation/costs',
        'POST /v1/cases/{caseId}/measures/{measureId}/litigation/settlement',
      ].sort(),
    );
    for (const { route, op } of operations) {
      expect(op.tags, route).toHaveLength(1);
      expect(op.summary, route).toEqual(expect.any(String));
      if (!route.startsWith('GET /v1') && !route.startsWith('POST /v1')) continue;
      expect(op.security, route).toEqual([{ bearerAuth: [] }]);
      // Success is 200, or 201 where the route creates something.
      expect(op.responses['200'] ?? op.responses['201'], `${route} success`).toBeDefined();
      for (const status of ['400', '401', '403', '500']) expect(op.responses[status], `${route} ${status}`).toBeDefined();
      expect(op.responses['400'].content['application/problem+json'].schema.properties.errors).toBeDefined();
      if (route.includes('{caseId}')) {
        expect(op.parameters.find((p: { in: string; name: string }) => p.in === 'path' && p.name === 'caseId').schema.pattern).toBeDefined();
        expect(op.responses['404'], route).toBeDefined();
      }
      if (route.startsWith('POST')) expect(op.requestBody.content['application/json'].schema.properties, route).toBeDefined();
    }
    const intake = doc.paths['/v1/cases'].post;
    expect(intake.responses['201'].content['application/json'].schema.properties.case.properties.hand).toBeDefined();
    expect(intake.description).toMatch(/new episode/);
    expect(intake.requestBody.content['application/json'].schema.required).toEqual(
      expect.arrayContaining(['loanId', 'borrower', 'overdue', 'overdueSince']),
    );
    const pause = doc.paths['/v1/cases/{caseId}/pause'].post;
    expect(Object.keys(pause.responses).sort()).toEqual(['200', '202', '400', '401', '403', '404', '409', '422', '500', '503']);
    expect(pause.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['async', 'idempotency-key', 'caseId']));
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await t.app.inject({ url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});
