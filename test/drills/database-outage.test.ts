/**
 * Failure drill (issue 10): PostgreSQL refuses connections for 45 s mid-run (`ALLOW_CONNECTIONS
 * false` and its backends ended, on a scratch database) under the real API in this process and
 * a case worker in a process of its own. Cases run on a compressed calendar, so hands fall due
 * while the ledger is down; payments arrive both ways a client sends them.
 *
 * Meanwhile: reads answer 503 with Retry-After, promptly; a payment the API cannot check answers
 * 503 too, and is retried with its key afterwards; messages queued in the workflows before the
 * cut wait there; projections retry. After: the worker process never died, and the ledger
 * converges with every case at the hand its time dictates, every payment once. The time to
 * converge is printed, not asserted (`[database-outage] converged …`).
 *
 * test/workflows/database-outage.test.ts is the small in-process version (6 s, one case).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { asc, inArray } from 'drizzle-orm';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { caseEvents, cases, payments } from '../../db/schema';
import { recordPaymentSignal } from '../../domain';
import { newLoan, testPolicy } from '../support/fixtures';
import { CORE_BANKING, OFFICER_LI, startDrill, type Caller, type Drill } from '../support/drill';

const OUTAGE_MS = 45_000;
const CASES = 8;
const OVERDUE = 500_000;
/** A case day of 2 s, a hand every 3 days: hands 2–6 fall due 6–30 s after opening, in the outage. */
const DAY_MS = 2_000;
const ENTERS_AT_DAYS = [0, 3, 6, 9, 12, 15];
/** A read answers within this while the database is down (the pool's connect timeout is 5 s). */
const READ_BOUND_MS = 6_000;

let drill: Drill;

beforeAll(async () => {
  drill = await startDrill({ temporalAddress: inject('temporalAddress') });
  await drill.startWorker();
}, 120_000);

afterAll(async () => {
  await drill?.close();
});

const timed = async (request: () => Promise<LightMyRequestResponse>) => {
  const started = Date.now();
  const res = await request();
  return { res, ms: Date.now() - started };
};

/** As a client does: retries with the same key while the API says to (503), up to `forMs`. */
async function sendUntilAnswered(caller: Caller, options: InjectOptions, forMs: number): Promise<LightMyRequestResponse> {
  const deadline = Date.now() + forMs;
  for (;;) {
    const res = await drill.as(caller, options);
    if (res.statusCode !== 503 || Date.now() > deadline) return res;
    await sleep(500);
  }
}

describe('PostgreSQL refusing connections for 45 s mid-run', { timeout: 300_000 }, () => {
  it('answers 503 meanwhile, loses nothing, doubles nothing, and the ledger converges', async () => {
    const policy = await testPolicy(drill.database.db, { dayMs: DAY_MS, entersAtDays: ENTERS_AT_DAYS });
    const loans = Array.from({ length: CASES }, () => ({ ...newLoan({ overdue: OVERDUE, guarantors: [] }), policy: policy.name }));
    const caseIds = loans.map((l) => `case-${l.loanId}`);
    const payment = (caseId: string, reference: string, amount: number, key = `pay-${randomUUID()}`): InjectOptions => ({
      method: 'POST',
      url: `/v1/cases/${caseId}/payments`,
      payload: { amount, reference, paidAt: new Date().toISOString() },
      headers: { 'idempotency-key': key },
    });

    // ---- Before: the cases open and take a payment each.
    for (const loan of loans) {
      const opened = await sendUntilAnswered(CORE_BANKING, { method: 'POST', url: '/v1/cases', payload: loan, headers: { 'idempotency-key': `intake-${loan.loanId}` } }, 30_000);
      expect(opened.statusCode, opened.body).toBe(201);
    }
    for (const caseId of caseIds) {
      const paid = await sendUntilAnswered(OFFICER_LI, payment(caseId, 'BEFORE', 10_000), 30_000);
      expect(paid.statusCode, paid.body).toBe(200);
    }

    // ---- The cut: connections refused, open ones ended.
    await drill.scratch.takeDown();
    const cutAt = Date.now();
    const refusedKeys = new Map<string, string>();
    const reads: { status: number; ms: number; retryAfter: unknown }[] = [];
    try {
      // Messages the workflows took before the cut reach the ledger only after it: sent straight
      // to the case, as `?async=true` queues them.
      for (const caseId of caseIds) {
        await drill.client.workflow.getHandle(caseId).signal(recordPaymentSignal, {
          requestId: `queued-${caseId}`,
          by: { sub: OFFICER_LI[1], role: 'officer' },
          amount: 20_000,
          reference: 'QUEUED',
          paidAt: new Date().toISOString(),
          sentAt: new Date().toISOString(),
        });
      }
      // While it is down: reads and payments through the API, every few seconds.
      let turn = 0;
      while (Date.now() - cutAt < OUTAGE_MS - READ_BOUND_MS) {
        const caseId = caseIds[turn++ % caseIds.length]!;
        for (const url of [`/v1/cases/${caseId}`, '/v1/cases?limit=5']) {
          const { res, ms } = await timed(() => drill.as(OFFICER_LI, { url }));
          reads.push({ status: res.statusCode, ms, retryAfter: res.headers['retry-after'] });
        }
        if (!refusedKeys.has(caseId)) {
          const key = `pay-${randomUUID()}`;
          const { res } = await timed(() => drill.as(OFFICER_LI, payment(caseId, 'DURING', 30_000, key)));
          expect(res.statusCode, res.body).toBe(503);
          expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
          refusedKeys.set(caseId, key);
        }
        await sleep(2_000);
      }
      const left = OUTAGE_MS - (Date.now() - cutAt);
      if (left > 0) await sleep(left);
    } finally {
      await drill.scratch.bringUp();
    }
    const upAt = Date.now();

    expect(reads.length).toBeGreaterThan(10);
    for (const read of reads) {
      expect(read.status).toBe(503);
      expect(Number(read.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(read.ms).toBeLessThan(READ_BOUND_MS);
    }
    expect(drill.worker()!.isRunning()).toBe(true);

    // ---- After: the refused payments retried with their keys; then the ledger converges.
    for (const [caseId, key] of refusedKeys) {
      const res = await sendUntilAnswered(OFFICER_LI, payment(caseId, 'DURING', 30_000, key), 120_000);
      expect(res.statusCode, res.body).toBe(200);
    }
    const answeredAt = Date.now();
    const expected = (caseId: string) => 10_000 + 20_000 + (refusedKeys.has(caseId) ? 30_000 : 0);
    const db = drill.database.db;
    const deadline = Date.now() + 150_000;
    let rows: (typeof cases.$inferSelect)[] = [];
    for (;;) {
      rows = await db.select().from(cases).where(inArray(cases.caseId, caseIds));
      if (rows.length === CASES && rows.every((r) => r.hand === 6 && r.recovered === expected(r.caseId))) break;
      if (Date.now() > deadline) break;
      await sleep(250);
    }
    const convergedAt = Date.now();
    for (const row of rows) {
      expect(row, row.caseId).toMatchObject({ hand: 6, stage: 'collecting', recovered: expected(row.caseId), overdue: OVERDUE - expected(row.caseId) });
    }
    const paid = await db.select().from(payments).where(inArray(payments.caseId, caseIds));
    const events = await db.select().from(caseEvents).where(inArray(caseEvents.caseId, caseIds)).orderBy(asc(caseEvents.seq));
    for (const caseId of caseIds) {
      const references = paid.filter((p) => p.caseId === caseId).map((p) => p.reference).sort();
      expect(references, caseId).toEqual(refusedKeys.has(caseId) ? ['BEFORE', 'DURING', 'QUEUED'] : ['BEFORE', 'QUEUED']);
      const trail = events.filter((e) => e.caseId === caseId);
      expect(trail.map((e) => e.seq), caseId).toEqual(trail.map((_, i) => i + 1));
      expect(trail.filter((e) => e.type === 'payment_recorded'), caseId).toHaveLength(references.length);
      const hands = trail.filter((e) => e.type === 'hand_entered' || e.type === 'hand_entered_late').map((e) => e.payload.hand);
      expect(hands, caseId).toEqual([1, 2, 3, 4, 5, 6]);
    }
    expect(drill.worker()!.isRunning()).toBe(true);

    const readMs = reads.map((r) => r.ms);
    console.info(
      `[database-outage] down ${((upAt - cutAt) / 1000).toFixed(1)} s; ${reads.length} reads meanwhile all 503 in ${Math.min(...readMs)}–${Math.max(...readMs)} ms; ` +
        `refused payments answered 200 ${((answeredAt - upAt) / 1000).toFixed(1)} s after it came back; ` +
        `ledger converged ${((convergedAt - upAt) / 1000).toFixed(1)} s after it came back`,
    );
  });
});
