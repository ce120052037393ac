/**
 * The quiet-case engine on a real worker, Temporal server and PostgreSQL: time applied before
 * every message, late wakes entering each hand passed, quiet cases that cost nothing, and a
 * batch the ledger refuses set aside without blocking the case.
 */
import { randomUUID } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents, notificationOutbox, officerTasks, projectionIncidents } from '../../db/schema';
import { addNoteUpdate, caseStateQuery, msToDate, promiseToPayUpdate, recordPaymentSignal, recordPaymentUpdate, type CaseView } from '../../domain';
import { createCasesRepository } from '../../api/plugins/app/cases-repository';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { OFFICER, eventually, newLoan, open, settledHistoryLength, testPolicy } from '../support/fixtures';
import { updateCase } from '../support/updates';

let h: CaseHarness;
beforeAll(async () => {
  h = await startCaseHarness();
});
afterAll(async () => {
  await h?.close();
});

const trail = (caseId: string) => h.db.select().from(caseEvents).where(eq(caseEvents.caseId, caseId)).orderBy(asc(caseEvents.seq));

async function until(caseId: string, check: (view: CaseView) => boolean, timeoutMs?: number): Promise<CaseView> {
  return eventually(async () => {
    const view = await h.client.workflow.getHandle(caseId).query(caseStateQuery);
    return check(view) ? view : undefined;
  }, timeoutMs);
}

const historyOf = async (caseId: string) => (await h.client.workflow.getHandle(caseId).fetchHistory()).events!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The case date of a case that opened at `openedAt` on a calendar of `dayMs`. */
const caseDate = (openedAt: string, dayMs: number, nowMs = Date.now()) =>
  msToDate(Date.parse(openedAt) + ((nowMs - Date.parse(openedAt)) * 86_400_000) / dayMs);

describe('time first, then the message', () => {
  it('applies a broken promise and the hand it brings before a payment that arrives after them', async () => {
    const dayMs = 500;
    const policy = await testPolicy(h.db, { dayMs, entersAtDays: [0, 5, 12, 400, 500, 600] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 500_000 }), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    // Due by the end of tomorrow (case days): judged two case days (1 s) after opening.
    const tomorrow = msToDate(Date.parse(`${opened.caseDate}T00:00:00Z`) + 86_400_000);
    const promised = await handle.executeUpdate(promiseToPayUpdate, {
      args: [{ requestId: randomUUID(), by: OFFICER, amount: 100_000, dueDate: tomorrow }],
    });
    expect(promised.case.openPromise).toMatchObject({ amount: 100_000, dueDate: tomorrow });

    await h.stopWorker();
    try {
      // The promise's end (day 2) and hand 2 (day 2, on the broken promise) pass; the payment is
      // sent on day 8, and the worker returns around day 10.
      await sleep(4 * dayMs);
      await handle.signal(recordPaymentSignal, {
        requestId: randomUUID(),
        by: OFFICER,
        amount: 100_000,
        reference: 'AFTER-THE-DATE',
        paidAt: new Date().toISOString(),
        sentAt: new Date().toISOString(),
      });
      await sleep(2 * dayMs);
    } finally {
      await h.startWorker();
    }
    const rows = await eventually(async () => {
      const rows = await trail(opened.caseId);
      return rows.some((e) => e.type === 'payment_recorded') ? rows : undefined;
    }, 30_000);
    const types = rows.map((e) => e.type);
    expect(types.indexOf('promise_broken')).toBeGreaterThan(-1);
    expect(types.indexOf('promise_broken')).toBeLessThan(types.indexOf('payment_recorded'));
    expect(types).not.toContain('promise_kept');
    const entered = rows.find((e) => e.type.startsWith('hand_entered') && e.payload.hand === 2)!;
    expect(entered).toMatchObject({ type: 'hand_entered_late', payload: { reason: 'broken_promise', from: 1 } });
    expect(rows.indexOf(entered)).toBeLessThan(types.indexOf('payment_recorded'));
    const paid = rows.find((e) => e.type === 'payment_recorded')!;
    expect(paid.payload).toMatchObject({ hand: 2, reference: 'AFTER-THE-DATE' });
    // Applied as of when it was sent, not when the worker came back.
    expect(Date.parse(paid.payload.receivedAt as string)).toBeLessThan(Date.parse(rows.at(-1)!.recordedAt.toISOString()));
    await saveHistory('v2-payment-after-outage', await handle.fetchHistory());
  });
});

describe('a late wake', () => {
  it('enters every hand it passed, records the delay, and runs only the actions of the hand it stays in', async () => {
    const dayMs = 250;
    const policy = await testPolicy(h.db, { dayMs, entersAtDays: [0, 2, 4, 6, 8, 10] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy);
    await h.stopWorker();
    try {
      await sleep(12 * dayMs + 2_000);
    } finally {
      await h.startWorker();
    }
    const rows = await eventually(async () => {
      const rows = await trail(opened.caseId);
      return rows.some((e) => e.payload.hand === 6 && e.type.startsWith('hand_entered')) ? rows : undefined;
    }, 30_000);
    const hands = rows.filter((e) => e.type.startsWith('hand_entered'));
    expect(hands.map((e) => [e.type, e.payload.hand])).toEqual([
      ['hand_entered', 1],
      ['hand_entered_late', 2],
      ['hand_entered_late', 3],
      ['hand_entered_late', 4],
      ['hand_entered_late', 5],
      ['hand_entered_late', 6],
    ]);
    for (const e of hands.slice(1)) {
      expect(e.payload).toMatchObject({ reason: 'days', skipped: [], dueAt: expect.any(String), rule: { policy: policy.name, version: policy.version } });
      expect(e.payload.delayMs).toBeGreaterThan(0);
    }
    // Hands passed through: their letters and tasks are recorded as superseded, never sent.
    for (const e of hands.slice(1, 5)) {
      expect((e.payload.actions as { status?: string }[]).every((a) => a.status === 'superseded')).toBe(true);
    }
    expect((hands[5]!.payload.actions as { status?: string }[]).some((a) => a.status === 'superseded')).toBe(false);
    const outbox = await h.db.select().from(notificationOutbox).where(eq(notificationOutbox.caseId, opened.caseId));
    expect(outbox.map((n) => n.template)).toEqual(['payment_reminder']);
    const tasks = await h.db.select().from(officerTasks).where(eq(officerTasks.caseId, opened.caseId));
    expect(tasks.map((t) => t.type).sort()).toEqual(['call', 'litigation_referral']);
    await saveHistory('v2-late-wake', await h.client.workflow.getHandle(opened.caseId).fetchHistory());
  });
});

describe('a quiet case', () => {
  it('adds no history while nothing falls due, and a message that changes no due time keeps the timer', async () => {
    const dayMs = 40;
    const policy = await testPolicy(h.db, { dayMs, entersAtDays: [0, 1, 2, 3, 4, 5] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy);
    await until(opened.caseId, (v) => v.hand === 6);
    const settled = await settledHistoryLength(h.client.workflow.getHandle(opened.caseId));
    await sleep(60 * dayMs); // two case months at hand 6
    expect((await historyOf(opened.caseId)).length).toBe(settled);
    // Days past due still move on where they are read; visibility filters by age on OverdueSince.
    const row = await createCasesRepository(h.db).findCase(opened.caseId);
    expect(row!.daysPastDue).toBeGreaterThanOrEqual(60);
    const listed = await eventually(async () => {
      const dayAfter = msToDate(Date.parse(`${opened.overdueSince}T00:00:00Z`) + 86_400_000);
      const query = `WorkflowId = "${opened.caseId}" AND OverdueSince < "${dayAfter}T00:00:00Z" AND CollectionHand = 6`;
      for await (const execution of h.client.workflow.list({ query })) return execution;
      return undefined;
    });
    expect(listed.searchAttributes.DaysPastDue).toBeUndefined();

    // A case waiting on a timer keeps it through a note.
    const slow = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: waiting } = await open(h.client, h.taskQueue, newLoan(), slow);
    const handle = h.client.workflow.getHandle(waiting.caseId);
    await eventually(async () => ((await historyOf(waiting.caseId)).some((e) => e.timerStartedEventAttributes) ? true : undefined));
    const before = (await historyOf(waiting.caseId)).length;
    const noted = await handle.executeUpdate(addNoteUpdate, { args: [{ requestId: randomUUID(), by: OFFICER, summary: 'called, no answer' }] });
    expect(noted.applied).toBe(true);
    const added = (await historyOf(waiting.caseId)).slice(before);
    expect(added.filter((e) => e.timerStartedEventAttributes || e.timerCanceledEventAttributes)).toEqual([]);
    expect(added.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'projectCase')).toHaveLength(1);
    await saveHistory('v2-quiet-hand-6', await h.client.workflow.getHandle(opened.caseId).fetchHistory());
    await saveHistory('v2-note-keeps-timer', await handle.fetchHistory());
  });
});

describe('an officer\'s retried message', () => {
  it('has one effect, within a run by its update id and across continue-as-new by its request id', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    // Room for the opening and the first note (a projection activity each) before the run continues.
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy, { continueAsNewAfterEvents: 45 });
    const handle = h.client.workflow.getHandle(opened.caseId);
    const firstRun = (await handle.describe()).runId;
    const requestId = randomUUID();
    const note = { requestId, by: OFFICER, summary: 'borrower will sell the van' };
    const send = () => handle.executeUpdate(addNoteUpdate, { args: [note], updateId: `addNote:${requestId}` });
    const first = await send();
    expect(first.applied).toBe(true);
    expect(await send()).toEqual(first); // Temporal answers the same update id with the first answer
    for (let i = 0; i < 6; i++) await handle.executeUpdate(addNoteUpdate, { args: [{ requestId: randomUUID(), by: OFFICER, summary: `call ${i}` }] });
    await eventually(async () => ((await handle.describe()).runId !== firstRun ? true : undefined));
    // A new run: Temporal no longer knows the update id, the case still knows the request id.
    const again = await send();
    expect(again.applied).toBe(false);
    const notes = (await trail(opened.caseId)).filter((e) => e.requestId === requestId);
    expect(notes.map((e) => e.type)).toEqual(['note_added']);
  });
});

describe('a batch the ledger refuses', () => {
  it('is set aside as an incident; the case and its ledger row go on', async () => {
    const marker = `refuse-me-${randomUUID()}`;
    // Stands for any row PostgreSQL refuses for its data (a constraint, an unexpected value).
    const constraint = `test_refuse_${randomUUID().slice(0, 8)}`;
    await h.db.execute(
      sql.raw(`alter table case_events add constraint ${constraint} check (payload->>'summary' is distinct from '${marker}') not valid`),
    );
    try {
      const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
      const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 300_000 }), policy);
      // The API's own write of the answered batch is refused too: it waits for the case's.
      const noted = await updateCase(h.client, h.db, opened.caseId, addNoteUpdate, { args: [{ requestId: randomUUID(), by: OFFICER, summary: marker }] });
      expect(noted.applied).toBe(true);
      const afterNote = await createCasesRepository(h.db).findCase(opened.caseId);
      expect(afterNote!.incidents).toHaveLength(1);
      expect(afterNote!.incidents[0]).toMatchObject({ eventTypes: ['note_added'], error: expect.stringContaining('23514') });

      const paid = await updateCase(h.client, h.db, opened.caseId, recordPaymentUpdate, {
        args: [{ requestId: randomUUID(), by: OFFICER, amount: 100_000, reference: 'AFTER-INCIDENT', paidAt: new Date().toISOString() }],
      });
      expect(paid.case).toMatchObject({ recovered: 100_000, overdue: 200_000 });
      const row = await createCasesRepository(h.db).findCase(opened.caseId);
      expect(row).toMatchObject({ recovered: 100_000, overdue: 200_000 });
      expect(row!.incidents).toHaveLength(1);
      const [incident] = await h.db.select().from(projectionIncidents).where(eq(projectionIncidents.caseId, opened.caseId));
      expect(incident).toMatchObject({ branch: 'BR01', eventTypes: ['note_added'], resolvedAt: null });
      expect(JSON.parse(incident!.batch).events[0].payload.summary).toBe(marker);
      expect((await trail(opened.caseId)).map((e) => e.type)).toContain('payment_recorded');
    } finally {
      await h.db.execute(sql.raw(`alter table case_events drop constraint ${constraint}`));
    }
  });
});

describe('the case date', () => {
  it('is the case calendar\'s own date, ahead of the wall clock on a compressed calendar', async () => {
    const dayMs = 1_000;
    const policy = await testPolicy(h.db, { dayMs, entersAtDays: [0, 400, 401, 402, 403, 404] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy);
    await sleep(2_500);
    const row = await createCasesRepository(h.db).findCase(opened.caseId);
    expect([caseDate(opened.openedAt, dayMs), caseDate(opened.openedAt, dayMs, Date.now() - 200)]).toContain(row!.caseDate);
    expect(row!.caseDate > opened.caseDate).toBe(true);
  });
});
