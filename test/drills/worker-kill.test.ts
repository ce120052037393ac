/**
 * Failure drill (issue 10): the case worker, an OS process of its own, is killed with SIGKILL
 * three times during a run of 200 cases while officers send payments and promises over HTTP to
 * the real API in this process. Clients behave as the API tells them: on a 503 (no worker
 * answered in time) they retry with the same Idempotency-Key; some also resend a payment whose
 * answer they already had. Afterwards every case is in the state its inputs dictate, every
 * payment reference is in the ledger exactly once, and nothing is counted twice.
 *
 * On the run's Temporal server and a scratch database. The plan is drawn from a seed printed at
 * the start (DRILL_SEED=… reproduces it); DRILL_CASES sizes the run by hand.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { asc, inArray } from 'drizzle-orm';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { caseEvents, cases, payments } from '../../db/schema';
import { dateToMs, msToDate, type CollectionPolicy, type LoanFacts } from '../../domain';
import { newLoan, testPolicy } from '../support/fixtures';
import { CORE_BANKING, OFFICER_LI, startDrill, type Caller, type Drill } from '../support/drill';

const CASES = Number(process.env.DRILL_CASES ?? 200);
const KILLS = 3;
/** Officers working at once (requests in flight). */
const CONCURRENCY = 8;
const OVERDUE = 300_000;
/** How long one request is retried (503s while no worker runs) before the drill gives up. */
const RETRY_FOR_MS = 120_000;

/** A small seeded PRNG (mulberry32): the plan is reproduced from its printed seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The seed of the plan: DRILL_SEED when set, else a fresh one (print it). */
function drillSeed(): number {
  return process.env.DRILL_SEED ? Number(process.env.DRILL_SEED) : Math.floor(Math.random() * 2 ** 31);
}

interface Payment {
  key: string;
  reference: string;
  amount: number;
  /** The client resends it with the same key after its 200 (an answer it never saw). */
  resend: boolean;
}

interface CasePlan {
  loan: LoanFacts & { policy: string };
  caseId: string;
  promise: { key: string; amount: number; dueDate: string } | null;
  payments: Payment[];
}

/** A case's expected end: the arrears less what was paid; recovered once nothing is overdue. */
function expectedEnd(plan: CasePlan) {
  const paid = plan.payments.reduce((sum, p) => sum + p.amount, 0);
  const kept = plan.promise !== null && paid >= plan.promise.amount;
  return {
    recovered: paid,
    overdue: OVERDUE - paid,
    stage: paid === OVERDUE ? 'recovered' : 'collecting',
    openPromise: plan.promise && !kept ? { amount: plan.promise.amount, dueDate: plan.promise.dueDate } : null,
  };
}

/** Splits `total` into `parts` positive amounts. */
function split(random: () => number, total: number, parts: number): number[] {
  const cuts = new Set<number>();
  while (cuts.size < parts - 1) cuts.add(1 + Math.floor(random() * (total - 1)));
  const points = [0, ...[...cuts].sort((a, b) => a - b), total];
  return points.slice(1).map((p, i) => p - points[i]!);
}

function planCases(random: () => number, policy: CollectionPolicy): CasePlan[] {
  return Array.from({ length: CASES }, (_, i) => {
    const loan = { ...newLoan({ overdue: OVERDUE, guarantors: [] }), policy: policy.name };
    const draw = random();
    // A quarter pays the arrears in full, most pay part of them, some nothing at all.
    const total = draw < 0.25 ? OVERDUE : draw < 0.85 ? 1_000 + Math.floor(random() * (OVERDUE - 2_000)) : 0;
    const amounts = total === 0 ? [] : split(random, total, 1 + Math.floor(random() * 3));
    const promise =
      random() < 0.4
        ? {
            key: `promise-${randomUUID()}`,
            // Sometimes within what will be paid (kept), sometimes beyond it (left open).
            amount: Math.max(1, Math.floor(random() * OVERDUE)),
            dueDate: msToDate(dateToMs(loan.overdueSince) + (1 + Math.floor(random() * 10)) * 86_400_000),
          }
        : null;
    return {
      loan,
      caseId: `case-${loan.loanId}`,
      promise,
      payments: amounts.map((amount, n) => ({
        key: `pay-${randomUUID()}`,
        reference: `DRILL-${i}-${n + 1}`,
        amount,
        resend: random() < 0.3,
      })),
    };
  });
}

const stats = { requests: 0, answered503: 0, answered504: 0, resent: 0, kills: [] as { atMessage: number; inFlight: number; restartMs: number }[] };
let drill: Drill;

beforeAll(async () => {
  drill = await startDrill({ temporalAddress: inject('temporalAddress') });
  await drill.startWorker();
}, 120_000);

afterAll(async () => {
  await drill?.close();
});

/**
 * Sends as a client does: on 503/504 it waits and retries with the same key (the API says so)
 * until another answer comes, and resolves with that one.
 */
async function send(caller: Caller, options: InjectOptions): Promise<LightMyRequestResponse> {
  const deadline = Date.now() + RETRY_FOR_MS;
  for (;;) {
    stats.requests++;
    const res = await drill.as(caller, options);
    if (res.statusCode !== 503 && res.statusCode !== 504) return res;
    if (res.statusCode === 503) {
      stats.answered503++;
      expect(Number(res.headers['retry-after']), res.body).toBeGreaterThanOrEqual(1);
    } else {
      stats.answered504++;
    }
    if (Date.now() > deadline) {
      const worker = drill.worker();
      throw new Error(
        `${options.method} ${options.url} still ${res.statusCode} after ${RETRY_FOR_MS} ms: ${res.body}\n` +
          `worker ${worker?.pid} ${worker?.isRunning() ? 'running' : 'not running'}; its last lines:\n${worker?.tail.join('\n')}`,
      );
    }
    // Sooner than Retry-After asks: the drill wants to hit the restart as it happens.
    await sleep(500);
  }
}

describe('the worker process killed three times during a run of cases', { timeout: 420_000 }, () => {
  it('ends every case as its inputs dictate: no payment lost, none counted twice, every reference once', async () => {
    const seed = drillSeed();
    console.info(`[worker-kill] seed ${seed}, ${CASES} cases`);
    const random = seededRandom(seed);
    const policy = await testPolicy(drill.database.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const plans = planCases(random, policy);
    const total = plans.reduce((n, p) => n + 1 + (p.promise ? 1 : 0) + p.payments.length, 0);
    let done = 0;
    let inFlight = 0;
    const started = Date.now();

    const message = async (caller: Caller, options: InjectOptions, expected: number[]) => {
      inFlight++;
      try {
        const res = await send(caller, options);
        expect(expected, `${options.method} ${options.url}: ${res.body}`).toContain(res.statusCode);
        return res;
      } finally {
        inFlight--;
        done++;
      }
    };
    const runCase = async (plan: CasePlan) => {
      await message(CORE_BANKING, { method: 'POST', url: '/v1/cases', payload: plan.loan, headers: { 'idempotency-key': `intake-${plan.caseId}` } }, [200, 201]);
      if (plan.promise) {
        const { key, ...promise } = plan.promise;
        await message(OFFICER_LI, { method: 'POST', url: `/v1/cases/${plan.caseId}/promises`, payload: promise, headers: { 'idempotency-key': key } }, [200]);
      }
      for (const p of plan.payments) {
        const request: InjectOptions = {
          method: 'POST',
          url: `/v1/cases/${plan.caseId}/payments`,
          payload: { amount: p.amount, reference: p.reference, paidAt: new Date().toISOString() },
          headers: { 'idempotency-key': p.key },
        };
        const first = await message(OFFICER_LI, request, [200]);
        if (p.resend) {
          stats.resent++;
          const again = await send(OFFICER_LI, request);
          expect(again.statusCode, again.body).toBe(200);
          // The answer of the first call, not a second payment.
          expect(again.json().recovered).toBe(first.json().recovered);
        }
      }
    };

    // Officers take the cases one after another; the killer strikes at 20 %, 45 % and 70 % of the messages.
    const queue = [...plans];
    const officers = Array.from({ length: CONCURRENCY }, async () => {
      for (let plan = queue.shift(); plan; plan = queue.shift()) await runCase(plan);
    });
    const killer = (async () => {
      for (const share of [0.2, 0.45, 0.7].slice(0, KILLS)) {
        while (done < total * share) await sleep(50);
        const atMessage = done;
        // A worker that died by itself would make the kill meaningless (and stall the run).
        expect(drill.worker()!.isRunning(), drill.worker()!.tail.join('\n')).toBe(true);
        const pid = drill.worker()!.pid;
        const flying = inFlight;
        await drill.killWorker();
        console.info(`[worker-kill] +${((Date.now() - started) / 1000).toFixed(1)}s SIGKILL to worker ${pid} at message ${atMessage}/${total}, ${flying} in flight`);
        await sleep(500 + Math.floor(random() * 1_500));
        const restartMs = await drill.startWorker();
        stats.kills.push({ atMessage, inFlight: flying, restartMs });
      }
    })();
    await Promise.all([...officers, killer]);
    const runMs = Date.now() - started;

    expect(stats.kills).toHaveLength(KILLS);
    for (const kill of stats.kills) expect(kill.atMessage).toBeLessThan(total); // mid-run, not after it

    // ---- The ledger: each case as its inputs dictate.
    const db = drill.database.db;
    const caseIds = plans.map((p) => p.caseId);
    const rows = new Map((await db.select().from(cases).where(inArray(cases.caseId, caseIds))).map((r) => [r.caseId, r]));
    const paid = await db.select().from(payments).where(inArray(payments.caseId, caseIds));
    const events = await db.select().from(caseEvents).where(inArray(caseEvents.caseId, caseIds)).orderBy(asc(caseEvents.seq));
    const mismatches: string[] = [];
    for (const plan of plans) {
      const row = rows.get(plan.caseId);
      const want = expectedEnd(plan);
      const got = row && { recovered: row.recovered, overdue: row.overdue, stage: row.stage, openPromise: row.openPromise ? { amount: row.openPromise.amount, dueDate: row.openPromise.dueDate } : null };
      if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${plan.caseId}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);

      const references = paid.filter((p) => p.caseId === plan.caseId).map((p) => `${p.reference}:${p.amount}`).sort();
      const planned = plan.payments.map((p) => `${p.reference}:${p.amount}`).sort();
      if (JSON.stringify(references) !== JSON.stringify(planned)) mismatches.push(`${plan.caseId} payments ${references.join(',')} != ${planned.join(',')}`);

      const trail = events.filter((e) => e.caseId === plan.caseId);
      const recorded = trail.filter((e) => e.type === 'payment_recorded').map((e) => e.requestId).sort();
      if (JSON.stringify(recorded) !== JSON.stringify(plan.payments.map((p) => p.key).sort())) mismatches.push(`${plan.caseId} payment events ${recorded.join(',')}`);
      const counts = (type: string) => trail.filter((e) => e.type === type).length;
      if (counts('case_opened') !== 1 || counts('promise_made') !== (plan.promise ? 1 : 0)) {
        mismatches.push(`${plan.caseId} opened ${counts('case_opened')}×, promised ${counts('promise_made')}×`);
      }
      if (trail.some((e, i) => e.seq !== i + 1)) mismatches.push(`${plan.caseId} trail seqs ${trail.map((e) => e.seq).join(',')}`);
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    const allReferences = paid.map((p) => `${p.caseId}/${p.reference}`);
    expect(new Set(allReferences).size).toBe(allReferences.length);
    expect(allReferences).toHaveLength(plans.reduce((n, p) => n + p.payments.length, 0));

    // The API answers from the same ledger.
    const sample = plans[Math.floor(random() * plans.length)]!;
    const read = await drill.as(OFFICER_LI, { url: `/v1/cases/${sample.caseId}` });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({ recovered: expectedEnd(sample).recovered, stage: expectedEnd(sample).stage });

    console.info(
      `[worker-kill] ${plans.length} cases, ${total} messages (${stats.resent} resent) in ${(runMs / 1000).toFixed(1)} s; ` +
        `${stats.requests} requests, ${stats.answered503} answered 503, ${stats.answered504} answered 504; ` +
        `kills ${JSON.stringify(stats.kills)}`,
    );
  });
});
