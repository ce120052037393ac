/**
 * `GET /metrics` (api/plugins/app/metrics.ts): Prometheus text with HTTP requests by route
 * pattern and status, and the ledger's figures read from PostgreSQL at scrape time — on a
 * database of the test's own, so the counts are exactly the rows it wrote; with PostgreSQL down
 * or hung, the scrape still answers, saying `collection_cases_ledger_up 0`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { LEDGER_SCRAPE_TIMEOUT_MS } from '../../api/plugins/app/metrics';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { cases, notificationOutbox, projectionIncidents } from '../../db/schema';
import { CASE_STAGES, HANDS, openingArrears } from '../../domain';
import { createLogger } from '../../logger';
import { eventually } from '../support/fixtures';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { startSilentServer } from '../support/tcp-proxy';
import { PROJECT_ROOT } from '../../tools/project-paths';
import { build, type ApiTest } from './helper';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (enough of the format for prom-client's output). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

let t: ApiTest;
let scratch: ScratchDatabase;
let database: DatabaseHandle;
let app: Awaited<ReturnType<typeof buildApp>>;

beforeAll(async () => {
  t = await build();
  scratch = await createScratchDatabase();
  database = createDatabase(scratch.url, 3, () => undefined, { connectTimeoutMs: 1_000 });
  await migrateDatabase(database.db);
  app = await buildApp({ config: t.config, db: database.db, temporal: t.client, logger: createLogger('silent') });
});
afterAll(async () => {
  await app?.close();
  await database?.close();
  await scratch?.drop();
  await t?.close();
});

const scrape = async (target = app) => {
  const res = await target.inject({ url: '/metrics' });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: res.body, samples: parseMetrics(res.body) };
};

function caseRow(caseId: string, stage: 'collecting' | 'paused' | 'recovered', hand: number) {
  return {
    caseId,
    loanId: caseId.replace(/^case-/, ''),
    runId: 'run-1',
    stage,
    hand,
    overdueSince: '2026-01-01',
    clockOrigin: new Date(),
    dayMs: 86_400_000,
    currency: 'CNY',
    principal: 100_000,
    outstanding: 50_000,
    overdue: 10_000,
    arrears: openingArrears(10_000, undefined),
    recovered: 0,
    branch: 'BR01',
    product: 'consumer_loan',
    secured: false,
    policyName: 'standard',
    policyVersion: 1,
    collateral: [],
    openedAt: new Date(),
    version: 1,
  };
}

function outboxRow(id: string, status: 'pending' | 'sent' | 'failed', createdAt = new Date()) {
  return {
    id,
    notificationId: id,
    caseId: 'case-M1',
    channel: 'sms',
    template: 'reminder',
    recipient: 'borrower',
    partyRole: 'borrower' as const,
    partyPosition: 0,
    payload: {},
    status,
    createdAt,
  };
}

describe('GET /metrics', () => {
  it('reports cases by stage and hand, the outbox backlog and open incidents from the ledger', async () => {
    await database.db.insert(cases).values([
      caseRow('case-M1', 'collecting', 1),
      caseRow('case-M2', 'collecting', 1),
      caseRow('case-M3', 'paused', 3),
      caseRow('case-M4', 'recovered', 6),
    ]);
    await database.db.insert(notificationOutbox).values([
      outboxRow('n1:borrower', 'pending', new Date(Date.now() - 120_000)),
      outboxRow('n2:borrower', 'pending'),
      outboxRow('n3:borrower', 'failed'),
      outboxRow('n4:borrower', 'sent'),
    ]);
    const incident = { runId: 'run-1', branch: 'BR01', error: 'refused', eventTypes: ['note_added'], batch: '[]' };
    await database.db.insert(projectionIncidents).values([
      { ...incident, caseId: 'case-M1', version: 2 },
      { ...incident, caseId: 'case-M2', version: 2, resolvedAt: new Date() },
    ]);

    const { samples, text } = await scrape();
    expect(value(samples, 'collection_cases_ledger_up')).toBe(1);
    const byStageAndHand = (stage: string, hand: number) => value(samples, 'collection_cases_ledger_cases', { stage, hand: String(hand) });
    expect(byStageAndHand('collecting', 1)).toBe(2);
    expect(byStageAndHand('paused', 3)).toBe(1);
    expect(byStageAndHand('recovered', 6)).toBe(1);
    // Every stage and hand is there, empty ones as 0: a series never just stops.
    expect(byStageAndHand('collecting', 2)).toBe(0);
    expect(samples.filter((s) => s.name === 'collection_cases_ledger_cases')).toHaveLength(CASE_STAGES.length * HANDS.length);
    expect(value(samples, 'collection_cases_outbox_notifications', { status: 'pending' })).toBe(2);
    expect(value(samples, 'collection_cases_outbox_notifications', { status: 'failed' })).toBe(1);
    expect(value(samples, 'collection_cases_outbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(119);
    expect(value(samples, 'collection_cases_projection_incidents_open')).toBe(1);
    expect(value(samples, 'collection_cases_ledger_scrape_duration_seconds')).toBeLessThan(LEDGER_SCRAPE_TIMEOUT_MS / 1000);
    // The process's own metrics, and help text for every family.
    expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^# HELP collection_cases_ledger_cases /m);
    expect(text).toMatch(/^# TYPE collection_cases_http_request_duration_seconds histogram$/m);
  });

  it('counts requests and their latency by route pattern (never the raw URL) and status', async () => {
    const admin = { authorization: t.auth('admin', 'admin-1') };
    await app.inject({ url: '/healthz' });
    await app.inject({ url: '/healthz' });
    expect((await app.inject({ url: '/v1/cases/case-METRICS404', headers: admin })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/cases/case-M1', headers: admin })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/cases' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/no/such/route/42' })).statusCode).toBe(404);

    const { samples, text } = await scrape();
    const requests = (labels: Record<string, string>) => value(samples, 'collection_cases_http_requests_total', labels);
    expect(requests({ method: 'GET', route: '/healthz', status_code: '200' })).toBe(2);
    expect(requests({ method: 'GET', route: '/v1/cases/:caseId', status_code: '404' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/cases/:caseId', status_code: '200' })).toBe(1);
    expect(requests({ method: 'GET', route: '/v1/cases', status_code: '401' })).toBe(1);
    expect(requests({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toMatch(/case-METRICS404|no\/such\/route/);
    // The histogram: buckets, sum and count per route and status; the scrape itself is left out.
    const latency = { method: 'GET', route: '/healthz', status_code: '200' };
    expect(value(samples, 'collection_cases_http_request_duration_seconds_count', latency)).toBe(2);
    expect(value(samples, 'collection_cases_http_request_duration_seconds_bucket', { ...latency, le: '+Inf' })).toBe(2);
    expect(value(samples, 'collection_cases_http_request_duration_seconds_sum', latency)).toBeGreaterThan(0);
    expect(samples.some((s) => s.labels.route === '/metrics')).toBe(false);
  });

  it('serves every collection_cases_ series the Grafana dashboard queries', async () => {
    const { text } = await scrape();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const dashboard = readFileSync(path.join(PROJECT_ROOT, 'deploy', 'grafana', 'collection-cases.json'), 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b(collection_cases_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')));
    expect(queried.size).toBeGreaterThan(5);
    for (const name of queried) expect(families, name).toContain(name);
  });

  it('needs no token and is in the OpenAPI document (text/plain, tagged)', async () => {
    const res = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer not-a-token' } });
    expect(res.statusCode).toBe(200);
    const doc = (await app.inject({ url: '/docs/json' })).json();
    const op = doc.paths['/metrics'].get;
    expect(op.tags).toEqual(['metrics']);
    expect(op.security).toBeUndefined();
    expect(op.responses['200'].content['text/plain'].schema).toEqual({ type: 'string' });
  });

  it('with PostgreSQL down, still answers: ledger_up 0 and no stale ledger series; back once it is', async () => {
    expect(value((await scrape()).samples, 'collection_cases_ledger_up')).toBe(1);
    await scratch.takeDown();
    try {
      const { samples } = await scrape();
      expect(value(samples, 'collection_cases_ledger_up')).toBe(0);
      for (const name of ['collection_cases_ledger_cases', 'collection_cases_outbox_notifications', 'collection_cases_projection_incidents_open']) {
        expect(samples.some((s) => s.name === name), name).toBe(false);
      }
      expect(value(samples, 'collection_cases_http_requests_total', { route: '/healthz' })).toBeGreaterThan(0);
    } finally {
      await scratch.bringUp();
    }
    await eventually(async () => (value((await scrape()).samples, 'collection_cases_ledger_up') === 1 ? true : undefined), 10_000);
  });

  it('with a PostgreSQL that never answers, answers within the scrape timeout', async () => {
    const silent = await startSilentServer();
    // A connect timeout far beyond the scrape's: the scrape's own bound must answer first.
    const hung = createDatabase(`postgres://postgres@127.0.0.1:${silent.port}/none`, 1, () => undefined, { connectTimeoutMs: 30_000 });
    const hungApp = await buildApp({ config: t.config, db: hung.db, temporal: t.client, logger: createLogger('silent') });
    try {
      const started = Date.now();
      const { samples } = await scrape(hungApp);
      expect(Date.now() - started).toBeLessThan(LEDGER_SCRAPE_TIMEOUT_MS + 1_000);
      expect(value(samples, 'collection_cases_ledger_up')).toBe(0);
    } finally {
      await hungApp.close();
      await silent.close();
      await hung.close().catch(() => undefined);
    }
  });

  it('is not served when METRICS_ENABLED is false', async () => {
    const off = await buildApp({ config: { ...t.config, METRICS_ENABLED: false }, db: database.db, temporal: t.client, logger: createLogger('silent') });
    try {
      expect((await off.inject({ url: '/metrics' })).statusCode).toBe(404);
      expect((await off.inject({ url: '/docs/json' })).json().paths['/metrics']).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});
