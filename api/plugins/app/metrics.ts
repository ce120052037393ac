/**
 * `GET /metrics`: the API's metrics in Prometheus's text format (prom-client).
 *
 * - HTTP: `collection_cases_http_requests_total` and the latency histogram
 *   `collection_cases_http_request_duration_seconds`, by method, route pattern (never the raw
 *   URL: `/v1/cases/:caseId`; `unmatched` for a 404 without a route) and status code.
 * - The ledger, read at scrape time in one round trip bounded by `LEDGER_SCRAPE_TIMEOUT_MS`:
 *   cases by stage and hand, the notification outbox backlog (pending, failed, the oldest
 *   pending row's age) and open projection incidents. While PostgreSQL does not answer, the
 *   scrape still succeeds: `collection_cases_ledger_up` is 0 and the ledger's series are left
 *   out, never stale.
 * - The process: Node.js's default metrics (CPU, memory, event loop lag, GC), once per process.
 *
 * The ledger's figures are the whole database's, the same from every API replica: aggregate
 * them with `max`, not `sum`. Unauthenticated like `/healthz`; `METRICS_ENABLED=false` removes
 * the route (and the HTTP instrumentation).
 */
import { sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CASE_STAGES, HANDS } from '../../../domain';

/** The scrape's ledger query answers within this, or the ledger counts as down for that scrape. */
export const LEDGER_SCRAPE_TIMEOUT_MS = 2_000;

export const METRICS_PATH = '/metrics';

const PREFIX = 'collection_cases_';

/** Seconds; the API answers most reads in milliseconds and gives up on a worker after 5 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Node.js process metrics: one set per process, however many apps it builds (tests build many). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

interface LedgerRow extends Record<string, unknown> {
  kind: 'cases' | 'outbox' | 'outbox_oldest' | 'incidents';
  label: string | null;
  hand: number | null;
  value: string | number | null;
}

/**
 * One statement: the ledger by stage and hand (a scan of `cases`, grouped), the outbox backlog
 * (pending rows through their partial index; failed ones), the age of the oldest pending row, and
 * open incidents (their partial index).
 */
const LEDGER_QUERY = sql`
  select 'cases' as kind, stage as label, hand::int as hand, count(*)::float8 as value from cases group by 1, 2, 3
  union all
  select 'outbox', status, null, count(*)::float8 from notification_outbox where status in ('pending', 'failed') group by 2
  union all
  select 'outbox_oldest', null, null, extract(epoch from now() - min(created_at))::float8 from notification_outbox where status = 'pending'
  union all
  select 'incidents', null, null, count(*)::float8 from projection_incidents where resolved_at is null`;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => undefined); // a late failure after the timeout is not unhandled
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the ledger did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const metrics: FastifyPluginAsync = async (fastify) => {
  if (!fastify.config.METRICS_ENABLED) return;
  const registry = new Registry();
  /** The ledger's figures: in the answer only when this scrape read them (never stale, never a
   * misleading 0 while PostgreSQL is down). */
  const ledgerRegistry = new Registry();

  const requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from receiving a request to sending its answer, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const ledgerUp = new Gauge({
    name: `${PREFIX}ledger_up`,
    help: 'Whether the ledger (PostgreSQL) answered this scrape\'s query: 1 yes, 0 no (its series are then left out)',
    registers: [registry],
  });
  const scrapeSeconds = new Gauge({
    name: `${PREFIX}ledger_scrape_duration_seconds`,
    help: 'Time this scrape\'s ledger query took (up to its timeout)',
    registers: [registry],
  });
  const casesByStageAndHand = new Gauge({
    name: `${PREFIX}ledger_cases`,
    help: 'Cases in the ledger by stage and hand (closed ones included, by the hand they closed at)',
    labelNames: ['stage', 'hand'] as const,
    registers: [ledgerRegistry],
  });
  const outbox = new Gauge({
    name: `${PREFIX}outbox_notifications`,
    help: 'Notification outbox backlog: rows pending delivery, and rows failed for good',
    labelNames: ['status'] as const,
    registers: [ledgerRegistry],
  });
  const outboxOldest = new Gauge({
    name: `${PREFIX}outbox_oldest_pending_age_seconds`,
    help: 'Age of the oldest notification still pending delivery (0 when none is)',
    registers: [ledgerRegistry],
  });
  const incidents = new Gauge({
    name: `${PREFIX}projection_incidents_open`,
    help: 'Batches the ledger refused (projection_failed incidents) not yet resolved',
    registers: [ledgerRegistry],
  });
  const ledgerGauges = [casesByStageAndHand, outbox, outboxOldest, incidents];

  // Scrapes at the same moment share one query (and never interleave their gauge updates).
  let collecting: Promise<boolean> | undefined;
  const collectOnce = (): Promise<boolean> => {
    collecting ??= collectLedger().finally(() => {
      collecting = undefined;
    });
    return collecting;
  };

  /** Reads the ledger's figures; answers whether PostgreSQL answered. */
  async function collectLedger(): Promise<boolean> {
    const started = process.hrtime.bigint();
    for (const gauge of ledgerGauges) gauge.reset();
    try {
      // A statement timeout of its own, below the pool's: a slow scan ends on the server too,
      // and the race bounds the wait for a free connection.
      const rows = await withTimeout(
        fastify.db.transaction(async (tx) => {
          await tx.execute(sql.raw(`set local statement_timeout = ${LEDGER_SCRAPE_TIMEOUT_MS}`));
          return (await tx.execute<LedgerRow>(LEDGER_QUERY)).rows;
        }, { accessMode: 'read only' }),
        LEDGER_SCRAPE_TIMEOUT_MS,
      );
      // Every stage and hand is reported, 0 when empty, so that a series never just stops.
      for (const stage of CASE_STAGES) for (const hand of HANDS) casesByStageAndHand.set({ stage, hand: String(hand) }, 0);
      outbox.set({ status: 'pending' }, 0);
      outbox.set({ status: 'failed' }, 0);
      outboxOldest.set(0);
      incidents.set(0);
      for (const row of rows) {
        const value = Number(row.value ?? 0);
        if (row.kind === 'cases') casesByStageAndHand.set({ stage: row.label ?? 'unknown', hand: String(row.hand) }, value);
        else if (row.kind === 'outbox') outbox.set({ status: row.label ?? 'unknown' }, value);
        else if (row.kind === 'outbox_oldest') outboxOldest.set(value);
        else if (row.kind === 'incidents') incidents.set(value);
      }
      ledgerUp.set(1);
      return true;
    } catch (err) {
      ledgerUp.set(0);
      fastify.log.warn({ err }, 'metrics: the ledger did not answer the scrape');
      return false;
    } finally {
      scrapeSeconds.set(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === METRICS_PATH) return;
    const labels = { method: request.method, route: route ?? 'unmatched', status_code: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  fastify.get(
    METRICS_PATH,
    {
      schema: {
        summary: 'Metrics',
        description:
          'Prometheus text format: HTTP requests and latency by route and status, cases by stage and hand, the notification outbox backlog, ' +
          `open projection incidents (read from PostgreSQL, bounded by ${LEDGER_SCRAPE_TIMEOUT_MS} ms; \`collection_cases_ledger_up\` is 0 when it does not answer) ` +
          'and the process\'s own. The worker\'s Temporal SDK metrics are served by the worker (WORKER_METRICS_ADDRESS).',
        tags: ['metrics'],
        response: {
          200: {
            description: 'The metrics, in Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      const ledgerAnswered = await collectOnce();
      const parts = [processMetrics(), registry, ...(ledgerAnswered ? [ledgerRegistry] : [])];
      const text = (await Promise.all(parts.map((r) => r.metrics()))).join('');
      return reply.type(registry.contentType).send(text);
    },
  );
};

export default fp(metrics, { name: 'metrics', dependencies: ['resources'] });
