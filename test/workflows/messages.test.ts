import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents, cases, payments } from '../../db/schema';
import {
  caseStateQuery,
  DAY_MS,
  dateToMs,
  msToDate,
  pauseSignal,
  promiseToPaySignal,
  recordPaymentSignal,
  resumeSignal,
  type CaseView,
} from '../../domain';
import { createCasesRepository } from '../../api/plugins/app/cases-repository';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { OFFICER, SUPERVISOR, eventually, newLoan, open, testPolicy } from '../support/fixtures';

let h: CaseHarness;
beforeAll(async () => {
  h = await startCaseHarness();
});
afterAll(async () => {
  await h?.close();
});

const events = (caseId: string) =>
  h.db.select().from(caseEvents).where(eq(caseEvents.caseId, caseId)).orderBy(asc(caseEvents.seq));

const query = (caseId: string) => h.client.workflow.getHandle(caseId).query(caseStateQuery);

async function until(caseId: string, check: (view: CaseView) => boolean): Promise<CaseView> {
  return eventually(async () => {
    const view = await query(caseId);
    return check(view) ? view : undefined;
  });
}

const payment = (amount: number, reference: string, paidAt = new Date().toISOString()) => ({
  requestId: randomUUID(),
  by: OFFICER,
  amount,
  reference,
  paidAt,
});

describe('payments', () => {
  it('credits partial payments, ignores a repeated reference and closes the case when arrears clear', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const loan = newLoan({ overdue: 100_000, outstanding: 900_000 });
    const { case: opened } = await open(h.client, h.taskQueue, loan, policy);
    const handle = h.client.workflow.getHandle(opened.caseId);

    const paidYesterday = new Date(Date.now() - 86_400_000).toISOString();
    await handle.signal(recordPaymentSignal, payment(30_000, 'BANK-001', paidYesterday));
    const repeated = payment(30_000, 'BANK-001');
    await handle.signal(recordPaymentSignal, repeated);
    await handle.signal(recordPaymentSignal, payment(20_000, 'BANK-002'));
    const partial = await until(opened.caseId, (v) => v.recovered === 50_000);
    expect(partial).toMatchObject({ stage: 'collecting', overdue: 50_000, outstanding: 850_000, hand: 1 });

    const future = payment(1, 'BANK-FUTURE', new Date(Date.now() + 3_600_000).toISOString());
    await handle.signal(recordPaymentSignal, future);
    await handle.signal(recordPaymentSignal, payment(50_000, 'BANK-003'));
    expect(await handle.result()).toMatchObject({ stage: 'recovered', recovered: 100_000 });

    const trail = await events(opened.caseId);
    const rejections = trail.filter((e) => e.type === 'message_rejected');
    expect(rejections.map((e) => [e.requestId, e.payload.reason])).toEqual([
      [repeated.requestId, 'duplicate_reference'],
      [future.requestId, 'paid_at_in_future'],
    ]);
    expect(trail.at(-1)).toMatchObject({ type: 'case_recovered', payload: { recovered: 100_000 } });

    const ledger = await h.db.select().from(payments).where(eq(payments.caseId, opened.caseId));
    expect(ledger.map((p) => [p.reference, p.amount]).sort()).toEqual([
      ['BANK-001', 30_000],
      ['BANK-002', 20_000],
      ['BANK-003', 50_000],
    ]);
    const first = ledger.find((p) => p.reference === 'BANK-001')!;
    expect(first.paidAt.toISOString()).toBe(paidYesterday);
    expect(first.receivedAt.getTime()).toBeGreaterThan(first.paidAt.getTime());

    const [row] = await h.db.select().from(cases).where(eq(cases.caseId, opened.caseId));
    expect(row).toMatchObject({ stage: 'recovered', overdue: 0, recovered: 100_000, outstanding: 800_000 });
    expect(row!.closedAt).not.toBeNull();
    await saveHistory('v2-payments-to-recovery', await handle.fetchHistory());
  });

  it('has no second effect when the same request id arrives twice', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 100_000 }), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    const msg = payment(10_000, 'BANK-A');
    await handle.signal(recordPaymentSignal, msg);
    await handle.signal(recordPaymentSignal, { ...msg, reference: 'BANK-B' });
    await handle.signal(recordPaymentSignal, payment(1, 'BANK-C'));
    await until(opened.caseId, (v) => v.recovered === 10_001);
    const trail = await eventually(async () => {
      const rows = await events(opened.caseId);
      return rows.filter((e) => e.type === 'payment_recorded').length === 2 ? rows : undefined;
    });
    expect(trail.filter((e) => e.requestId === msg.requestId)).toHaveLength(1);
  });
  it('refuses amounts that are not positive whole minor units, from whatever client they come', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 100_000 }), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    const bad = [payment(-5_000, 'NEG'), payment(10.5, 'FRACTION'), payment(0, 'ZERO')];
    for (const msg of bad) await handle.signal(recordPaymentSignal, msg);
    const promise = { requestId: randomUUID(), by: OFFICER, amount: -1, dueDate: msToDate(Date.now()) };
    await handle.signal(promiseToPaySignal, promise);
    const trail = await eventually(async () => {
      const rows = await events(opened.caseId);
      return rows.filter((e) => e.type === 'message_rejected').length === 4 ? rows : undefined;
    });
    expect(trail.filter((e) => e.type === 'message_rejected').map((e) => e.payload.reason)).toEqual(
      Array(4).fill('invalid_amount'),
    );
    expect(await query(opened.caseId)).toMatchObject({ recovered: 0, overdue: 100_000, openPromise: null });
  });
});

describe('promises to pay', () => {
  // Hands 2+ far away: only a broken promise can move this case.
  const ladder = { dayMs: 400, entersAtDays: [0, 500, 600, 700, 800, 900] };

  it('marks a promise kept when the promised amount arrives by its date', async () => {
    const policy = await testPolicy(h.db, { ...ladder, dayMs: 86_400_000 });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 500_000 }), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    const today = msToDate(Date.now());
    await handle.signal(promiseToPaySignal, { requestId: randomUUID(), by: OFFICER, amount: 60_000, dueDate: today });
    const second = { requestId: randomUUID(), by: OFFICER, amount: 1, dueDate: today };
    await handle.signal(promiseToPaySignal, second);
    const promised = await until(opened.caseId, (v) => v.openPromise !== null);
    expect(promised.openPromise).toMatchObject({ amount: 60_000, dueDate: today, paidSoFar: 0 });
    expect(promised.nextAction).toMatchObject({ type: 'promise_due' });

    await handle.signal(recordPaymentSignal, payment(25_000, 'P-1'));
    await handle.signal(recordPaymentSignal, payment(35_000, 'P-2'));
    const kept = await until(opened.caseId, (v) => v.openPromise === null);
    expect(kept).toMatchObject({ hand: 1, recovered: 60_000 });
    const trail = await eventually(async () => {
      const rows = await events(opened.caseId);
      return rows.some((e) => e.type === 'promise_kept') ? rows : undefined;
    });
    expect(trail.find((e) => e.requestId === second.requestId)?.payload.reason).toBe('promise_already_open');
    expect(trail.some((e) => e.type === 'promise_broken')).toBe(false);
    await saveHistory('v2-promise-kept', await h.client.workflow.getHandle(opened.caseId).fetchHistory());
  });

  it('escalates at once when a promise is broken', async () => {
    // Promised for the case's next day, on 3 s days: the promise and the payment have at least a
    // whole day to reach the case, on a loaded machine too (beside the worker-kill drill signals
    // took over 2 s), whatever part of its first day a case opens in (the first day starts at the
    // wall clock's time of day: opened at 22:00 UTC, a case has a twelfth of it left).
    const policy = await testPolicy(h.db, { ...ladder, dayMs: 3_000 });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 500_000 }), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    const { caseDate } = await handle.query(caseStateQuery);
    await handle.signal(promiseToPaySignal, {
      requestId: randomUUID(),
      by: OFFICER,
      amount: 60_000,
      dueDate: msToDate(dateToMs(caseDate) + DAY_MS),
    });
    await handle.signal(recordPaymentSignal, payment(10_000, 'SHORT-1'));
    const escalated = await until(opened.caseId, (v) => v.hand === 2);
    expect(escalated.openPromise).toBeNull();
    // On a loaded machine the day's end can wake the case a second or so after it: the entry is
    // then recorded as late, with its delay, and is the same escalation.
    const enteredHand2 = (e: { type: string; payload: Record<string, unknown> }) =>
      (e.type === 'hand_entered' || e.type === 'hand_entered_late') && e.payload.hand === 2;
    const trail = await eventually(async () => {
      const rows = await events(opened.caseId);
      return rows.some(enteredHand2) ? rows : undefined;
    });
    expect(trail.find((e) => e.type === 'promise_broken')?.payload).toMatchObject({ amount: 60_000, paidSoFar: 10_000 });
    expect(trail.find(enteredHand2)?.payload.reason).toBe('broken_promise');
    await saveHistory('v2-promise-broken', await handle.fetchHistory());
  });
});

describe('pause and resume', () => {
  it('stops the escalation clock while paused and resumes by hand or on its end date', async () => {
    const policy = await testPolicy(h.db, { dayMs: 200, entersAtDays: [0, 15, 400, 500, 600, 700] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    await handle.signal(pauseSignal, { requestId: randomUUID(), by: SUPERVISOR, reason: 'hardship' });
    const paused = await until(opened.caseId, (v) => v.stage === 'paused');
    expect(paused.pause).toMatchObject({ reason: 'hardship', until: null });
    expect(paused.nextAction).toBeNull();

    // Paused for longer than the 15 days (3 s) that would have moved it to hand 2.
    await new Promise((resolve) => setTimeout(resolve, 3_600));
    expect(await query(opened.caseId)).toMatchObject({ stage: 'paused', hand: 1 });

    await handle.signal(resumeSignal, { requestId: randomUUID(), by: SUPERVISOR });
    const resumed = await until(opened.caseId, (v) => v.stage === 'collecting');
    expect(resumed.hand).toBe(1);
    expect(resumed.pausedDays).toBeGreaterThanOrEqual(18);
    expect(resumed.nextAction).toMatchObject({ type: 'escalate', hand: 2 });
    // The ladder runs on days past due less paused days.
    expect(resumed.daysPastDue - resumed.pausedDays).toBeLessThan(15);
    await until(opened.caseId, (v) => v.hand === 2);

    const caseToday = msToDate(Date.parse(opened.openedAt) + ((Date.now() - Date.parse(opened.openedAt)) * 86_400_000) / 200);
    const until2 = msToDate(Date.parse(caseToday) + 3 * 86_400_000);
    await handle.signal(pauseSignal, { requestId: randomUUID(), by: SUPERVISOR, reason: 'dispute', until: until2 });
    await until(opened.caseId, (v) => v.stage === 'paused');
    const auto = await until(opened.caseId, (v) => v.stage === 'collecting');
    expect(auto.pause).toBeNull();
    const trail = await eventually(async () => {
      const rows = await events(opened.caseId);
      return rows.filter((e) => e.type === 'case_resumed').length === 2 ? rows : undefined;
    });
    expect(trail.filter((e) => e.type === 'case_resumed').map((e) => e.payload.automatic)).toEqual([false, true]);
    const row = await createCasesRepository(h.db).findCase(opened.caseId);
    expect(row!.pausedDays).toBeGreaterThanOrEqual(18);
    expect(row!.incidents).toEqual([]);
    await saveHistory('v2-pause-and-resume', await handle.fetchHistory());
  });

  it('refuses to resume a case that is not paused', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy);
    const msg = { requestId: randomUUID(), by: SUPERVISOR };
    await h.client.workflow.getHandle(opened.caseId).signal(resumeSignal, msg);
    const rejected = await eventually(async () => {
      const rows = await events(opened.caseId);
      return rows.find((e) => e.requestId === msg.requestId);
    });
    expect(rejected).toMatchObject({ type: 'message_rejected', payload: { reason: 'not_paused', signal: 'resume' } });
  });
});
