/**
 * The API against live case workflows: a real worker (test/support/harness) on the run's
 * Temporal server and PostgreSQL database. Intake, reads, messages answered at once (and queued
 * with `?async=true`), the permission matrix on real cases, reopening, and the Temporal history.
 */
import { randomUUID } from 'node:crypto';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNoteUpdate, msToDate, type Role } from '../../domain';
import { startCaseHarness, workflowBundle, type CaseHarness } from '../support/harness';
import { eventually, newLoan, open, settledHistoryLength, SYSTEM, testPolicy } from '../support/fixtures';
import { saveHistory } from '../support/histories';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const ADMIN: Who = ['admin', 'admin-1'];
const CORE: Who = ['system', 'core-banking'];
const SUPERVISOR_BR01: Who = ['supervisor', 'supervisor-wang', 'BR01'];
const SUPERVISOR_BR02: Who = ['supervisor', 'supervisor-zhao', 'BR02'];
const OFFICER_LI: Who = ['officer', 'officer-li', 'BR01']; // the fixtures' loans are assigned to officer-li
const OFFICER_CHEN: Who = ['officer', 'officer-chen', 'BR01'];
const OFFICER_BR02: Who = ['officer', 'officer-sun', 'BR02'];

const BORROWER_ID = '110101199003071234';
const BORROWER = { name: 'Zhang Wei', idNumber: BORROWER_ID, phone: '+8613800138000' };
const BORROWER_PHONE = '+8613800138000';
const today = (offset = 0) => msToDate(Date.now() + offset * 86_400_000);

let h: CaseHarness;
let t: ApiTest;
beforeAll(async () => {
  h = await startCaseHarness();
  t = await build({ harness: h });
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

const intake = (who: Who, loan: object, headers: Record<string, string> = {}) =>
  t.as(who, { method: 'POST', url: '/v1/cases', payload: loan, headers });
const send = (who: Who, caseId: string, message: string, payload: object | undefined, options: { async?: boolean; key?: string } = {}) =>
  t.as(who, {
    method: 'POST',
    url: `/v1/cases/${caseId}/${message}${options.async ? '?async=true' : ''}`,
    ...(payload ? { payload } : {}),
    headers: options.key ? { 'idempotency-key': options.key } : {},
  });

/** Opens a case through the API (as the core banking system) and returns its id. */
async function openThroughApi(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await intake(CORE, { ...newLoan(), ...overrides });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().case.caseId;
}

describe('intake', () => {
  it('opens a case once: 201, then 200 with the same case; the ledger has it at once', async () => {
    const loan = newLoan({ borrower: BORROWER });
    const first = await intake(SUPERVISOR_BR01, loan);
    expect(first.statusCode, first.body).toBe(201);
    const caseId = `case-${loan.loanId}`;
    expect(first.headers.location).toBe(`/v1/cases/${caseId}`);
    expect(first.json()).toMatchObject({
      created: true,
      case: { caseId, stage: 'collecting', hand: 1, branch: 'BR01', officerId: 'officer-li', policy: { name: 'standard', version: 1 } },
    });

    const read = await t.as(OFFICER_CHEN, { url: `/v1/cases/${caseId}` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ caseId, episode: 1, overdue: loan.overdue, lastEvent: { type: expect.any(String) } });
    expect(read.body).not.toContain(BORROWER_ID);

    const { runId } = await t.client.workflow.getHandle(caseId).describe();
    const again = await intake(CORE, loan);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ created: false, case: { caseId } });
    const latest = await t.client.workflow.getHandle(caseId).describe();
    expect(latest.runId).toBe(runId); // no second workflow

    const trail = await t.as(SUPERVISOR_BR01, { url: `/v1/cases/${caseId}/events` });
    expect(trail.json().items[0]).toMatchObject({ type: 'case_opened', episode: 1, seq: 1, actor: { sub: 'supervisor-wang', role: 'supervisor' } });
  });

  it('runs the named policy\'s latest version', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const res = await intake(ADMIN, { ...newLoan(), policy: policy.name });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().case.policy).toEqual({ name: policy.name, version: policy.version });
  });

  it('refuses a supervisor a loan whose case is open in another branch', async () => {
    const loan = newLoan({ branch: 'BR02' });
    expect((await intake(CORE, loan)).statusCode).toBe(201);
    expectProblem(await intake(SUPERVISOR_BR01, { ...loan, branch: 'BR01' }), 403);
  });
});

describe('reading the ledger', () => {
  it('lists with filters and an opaque cursor; branch staff see their branch only', async () => {
    const product = `list-${randomUUID().slice(0, 6)}`;
    const ids = [];
    for (const branch of ['BR01', 'BR01', 'BR01', 'BR02']) ids.push(await openThroughApi({ branch, product }));
    const ours = ids.slice(0, 3).sort();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.as(ADMIN, { url: `/v1/cases?branch=BR01&hand=1&stage=collecting&limit=2${cursor ? `&cursor=${cursor}` : ''}` });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c: { caseId: string }) => c.caseId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(expect.arrayContaining(ours));
    expect(seen).not.toContain(ids[3]);

    const officers = await t.as(OFFICER_BR02, { url: '/v1/cases?limit=200' });
    const branches = new Set(officers.json().items.map((c: { branch: string }) => c.branch));
    expect([...branches]).toEqual(['BR02']);

    // Days past due are computed at read time; the filter runs on them (other test files share
    // the ledger, so the officer narrows it to this test's case).
    const officerId = `officer-${randomUUID().slice(0, 8)}`;
    const aged = await openThroughApi({ officerId, overdueSince: today(-40) });
    const byDays = (query: string) => t.as(ADMIN, { url: `/v1/cases?officerId=${officerId}&${query}` });
    expect((await byDays('minDaysPastDue=40&maxDaysPastDue=40')).json().items.map((c: { caseId: string }) => c.caseId)).toEqual([aged]);
    expect((await byDays('minDaysPastDue=41')).json()).toEqual({ items: [], nextCursor: null });
    expect((await byDays('maxDaysPastDue=39')).json()).toEqual({ items: [], nextCursor: null });
  });
});

describe('permissions on a real case', () => {
  let caseId: string;
  beforeAll(async () => {
    caseId = await openThroughApi();
  });

  // Another branch's case is, to its staff, a missing one (404 `No case …`); the branch's own
  // staff who may not do something hear 403.
  it.each([
    ['an officer of another branch reads it', OFFICER_BR02, 'GET', '', 404],
    ['an officer of another branch reads its events', OFFICER_BR02, 'GET', '/events', 404],
    ['a supervisor of another branch reads its history', SUPERVISOR_BR02, 'GET', '/history', 404],
    ['an officer it is not assigned to reports a contact', OFFICER_CHEN, 'POST', '/contacts', 403],
    ['an officer of another branch reports a contact', OFFICER_BR02, 'POST', '/contacts', 404],
    ['a supervisor of another branch reports a contact', SUPERVISOR_BR02, 'POST', '/contacts', 404],
    ['a supervisor of another branch pauses it', SUPERVISOR_BR02, 'POST', '/pause', 404],
    ['its own officer pauses it', OFFICER_LI, 'POST', '/pause', 403],
    ['its own officer reassigns it', OFFICER_LI, 'POST', '/assignment', 403],
  ] as [string, Who, 'GET' | 'POST', string, number][])('%s: %i', async (_name, who, method, path, status) => {
    const payloads: Record<string, object> = {
      '/contacts': { channel: 'phone', outcome: 'answered' },
      '/pause': { reason: 'dispute' },
      '/assignment': { officerId: 'officer-chen' },
    };
    const res = await t.as(who, { method, url: `/v1/cases/${caseId}${path}`, ...(method === 'POST' ? { payload: payloads[path] } : {}) });
    const problem = expectProblem(res, status);
    if (status === 404) expect(problem.detail).toBe(`No case ${caseId}`);
  });

  it('lets the assigned officer, the branch supervisor, admins and systems report; officers of the branch read', async () => {
    const contact = { channel: 'phone', outcome: 'no_answer' };
    for (const who of [OFFICER_LI, SUPERVISOR_BR01, ADMIN, CORE]) {
      const res = await send(who, caseId, 'contacts', contact, { async: true });
      expect(res.statusCode, `${who[0]}: ${res.body}`).toBe(202);
      expect(res.json()).toEqual({ caseId, requestId: expect.any(String) });
    }
    expect((await t.as(OFFICER_CHEN, { url: `/v1/cases/${caseId}` })).statusCode).toBe(200);
    expect((await t.as(OFFICER_CHEN, { url: `/v1/cases/${caseId}/events` })).statusCode).toBe(200);
  });
});

describe('messages', () => {
  it('records a contact and answers with the case at once; the trail names the officer', async () => {
    const caseId = await openThroughApi();
    const res = await send(OFFICER_LI, caseId, 'contacts', { channel: 'visit', outcome: 'promise_to_pay', note: 'at the shop' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ caseId, lastEvent: { type: 'contact_recorded' } });
    const trail = (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items;
    expect(trail.at(-1)).toMatchObject({
      type: 'contact_recorded',
      actor: { sub: 'officer-li', role: 'officer' },
      requestId: expect.any(String),
      payload: { channel: 'visit', outcome: 'promise_to_pay', note: 'at the shop' },
    });
  });

  it('pauses and resumes; the ledger refuses a second pause or resume with 409', async () => {
    const caseId = await openThroughApi();
    const paused = await send(SUPERVISOR_BR01, caseId, 'pause', { reason: 'hardship', until: today(5), note: 'hospital' });
    expect(paused.statusCode, paused.body).toBe(200);
    expect(paused.json()).toMatchObject({ stage: 'paused', pause: { reason: 'hardship', until: today(5) } });
    expect(expectProblem(await send(ADMIN, caseId, 'pause', { reason: 'dispute' }), 409).reason).toBe('already_paused');
    expectProblem(await send(SUPERVISOR_BR01, caseId, 'resume', undefined), 400);
    const resumed = await send(SUPERVISOR_BR01, caseId, 'resume', {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    expect(resumed.json()).toMatchObject({ stage: 'collecting', pause: null });
    expect(expectProblem(await send(SUPERVISOR_BR01, caseId, 'resume', {}), 409).reason).toBe('not_paused');
  });

  it('refuses at once what the case cannot accept, naming the reason and what it would accept, at no cost to its history', async () => {
    const caseId = await openThroughApi();
    const handle = t.client.workflow.getHandle(caseId);
    // Let the opening settle (its notifications' delivery answers the case) before counting.
    const eventsBefore = await settledHistoryLength(handle);
    // The standard policy allows promises up to 14 days ahead: 30 is too far, yesterday is past.
    const tooFar = expectProblem(await send(OFFICER_LI, caseId, 'promises', { amount: 500_000, dueDate: today(30) }), 422);
    expect(tooFar).toMatchObject({
      reason: 'promise_date_too_far',
      type: '/problems/message-rejected',
      errors: [{ field: 'dueDate' }],
      accepted: { caseDate: today(), latestDueDate: today(14), maxPromiseDays: 14 },
    });
    expect(tooFar.detail).toContain(today(14));
    const past = expectProblem(await send(OFFICER_LI, caseId, 'promises', { amount: 500_000, dueDate: today(-1) }), 422);
    expect(past).toMatchObject({ reason: 'promise_date_not_ahead', accepted: { caseDate: today(), earliestDueDate: today() } });
    expect(await settledHistoryLength(handle)).toBe(eventsBefore);

    const promised = await send(OFFICER_LI, caseId, 'promises', { amount: 500_000, dueDate: today(7) });
    expect(promised.statusCode, promised.body).toBe(200);
    expect(promised.json().openPromise).toMatchObject({ amount: 500_000, dueDate: today(7), paidSoFar: 0 });
    const open = expectProblem(await send(OFFICER_LI, caseId, 'promises', { amount: 1, dueDate: today(3) }), 409);
    expect(open).toMatchObject({ reason: 'promise_already_open', accepted: { dueDate: today(7), amount: 500_000 } });

    // Refusals stay out of the workflow's trail and history but are kept: who tried what, and why.
    const trail = (await t.as(ADMIN, { url: `/v1/cases/${caseId}/events` })).json().items;
    expect(trail.filter((e: { type: string }) => e.type === 'message_rejected')).toHaveLength(0);
    await saveHistory('v2-refused-updates', await handle.fetchHistory());
    const refusals = await t.as(SUPERVISOR_BR01, { url: `/v1/cases/${caseId}/refusals` });
    expect(refusals.statusCode, refusals.body).toBe(200);
    expect(refusals.json().items.map((r: { reason: string }) => r.reason)).toEqual([
      'promise_date_too_far',
      'promise_date_not_ahead',
      'promise_already_open',
    ]);
    expect(refusals.json().items[0]).toMatchObject({ message: 'promiseToPay', actor: { sub: 'officer-li', role: 'officer' }, field: 'dueDate' });
  });

  it('refuses NUL in text at the API, and the case refuses it from any other client', async () => {
    const caseId = await openThroughApi();
    expectProblem(await send(OFFICER_LI, caseId, 'notes', { summary: 'bad\u0000byte' }), 400, ['summary']);
    const refused = t.client.workflow
      .getHandle(caseId)
      .executeUpdate(addNoteUpdate, { args: [{ requestId: randomUUID(), by: { sub: 'officer-li', role: 'officer' }, summary: 'bad\u0000byte' }] });
    await expect(refused).rejects.toMatchObject({ cause: { type: 'MessageRefused', details: [{ reason: 'invalid_text', field: 'summary' }] } });
    // The case goes on: the next message reaches the ledger.
    const paid = await send(OFFICER_LI, caseId, 'payments', { amount: 1_000, paidAt: new Date().toISOString(), reference: 'AFTER-NUL' });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json().recovered).toBe(1_000);
  });

  it('reassigns; assigning the same officer again is a 409', async () => {
    const caseId = await openThroughApi();
    const res = await send(CORE, caseId, 'assignment', { officerId: 'officer-chen' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().officerId).toBe('officer-chen');
    // A second intake of the same loan attaches to the running case.
    expect((await intake(CORE, { ...newLoan(), loanId: caseId.slice('case-'.length) })).statusCode).toBe(200);
    expect(expectProblem(await send(SUPERVISOR_BR01, caseId, 'assignment', { officerId: 'officer-chen' }), 409).reason).toBe('same_officer');
    // Now the case is officer Chen's: officer Li may no longer report on it.
    expectProblem(await send(OFFICER_LI, caseId, 'notes', { summary: 'visited' }), 403);
    expect((await send(OFFICER_CHEN, caseId, 'notes', { summary: 'visited' })).statusCode).toBe(200);
    await saveHistory('v2-reassignment-and-second-intake', await t.client.workflow.getHandle(caseId).fetchHistory());
  });

  it('treats a retried call with the same Idempotency-Key as the same message', async () => {
    const caseId = await openThroughApi();
    const key = `note-${randomUUID()}`;
    const note = { summary: 'borrower lost his job', problems: 'no income', nextSteps: 'restructure' };
    const first = await send(OFFICER_LI, caseId, 'notes', note, { key });
    expect(first.statusCode, first.body).toBe(200);
    const retry = await send(OFFICER_LI, caseId, 'notes', note, { key });
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.json().lastEvent).toEqual(first.json().lastEvent);
    const queued = await send(OFFICER_LI, caseId, 'notes', note, { key, async: true });
    expect(queued.json()).toEqual({ caseId, requestId: key });
    const trail = (await t.as(ADMIN, { url: `/v1/cases/${caseId}/events` })).json().items;
    expect(trail.filter((e: { requestId: string | null }) => e.requestId === key).map((e: { type: string }) => e.type)).toEqual(['note_added']);
  });

  it('answers 503 at once when no worker answers, and queues messages durably on request', async () => {
    const caseId = await openThroughApi();
    await h.stopWorker();
    const key = `unanswered-${randomUUID()}`;
    let requestId: string;
    try {
      // Without ?async the officer hears at once that no worker answered.
      const started = Date.now();
      const unanswered = await send(OFFICER_LI, caseId, 'notes', { summary: 'unanswered' }, { key });
      expect(String(expectProblem(unanswered, 503).detail)).toContain(`Idempotency-Key: ${key}`);
      expect(Number(unanswered.headers['retry-after'])).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(9_000);
      const res = await send(OFFICER_LI, caseId, 'notes', { summary: 'called twice' }, { async: true });
      expect(res.statusCode, res.body).toBe(202);
      requestId = res.json().requestId;
    } finally {
      await h.startWorker();
    }
    // Retried with its key once a worker runs, the unanswered message gets its answer, applied once.
    const retried = await send(OFFICER_LI, caseId, 'notes', { summary: 'unanswered' }, { key });
    expect(retried.statusCode, retried.body).toBe(200);
    const items = await eventually(async () => {
      const items = (await t.as(ADMIN, { url: `/v1/cases/${caseId}/events` })).json().items as { requestId: string; payload: { summary?: string } }[];
      return items.some((e) => e.requestId === requestId) ? items : undefined;
    });
    expect(items.map((e) => e.payload.summary).filter(Boolean).sort()).toEqual(['called twice', 'unanswered']);
  });
});

describe('closing and reopening', () => {
  it('closes on full payment, refuses messages after, and opens a new episode when the loan is overdue again', async () => {
    const loan = newLoan({ overdue: 100_000, outstanding: 900_000, overdueSince: today(-10) });
    const caseId = (await intake(CORE, loan)).json().case.caseId as string;
    const paid = await send(OFFICER_LI, caseId, 'payments', { amount: 100_000, paidAt: new Date().toISOString(), reference: 'BANK-1' });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ stage: 'recovered', recovered: 100_000, closedAt: expect.any(String), episode: 1 });
    expect(expectProblem(await send(OFFICER_LI, caseId, 'contacts', { channel: 'phone', outcome: 'answered' }), 409).reason).toBe(
      'case_closed',
    );

    // Let the first episode's workflow finish before the loan goes overdue again.
    await h.client.workflow.getHandle(caseId).result();
    const closedRun = (await h.client.workflow.getHandle(caseId).describe()).runId;
    // The same intake again (a retry, or the same row in the next day's list) is no new delinquency.
    for (const repeat of [() => intake(CORE, loan), () => intake(CORE, loan, { 'idempotency-key': `intake-${randomUUID()}` })]) {
      const res = await repeat();
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ created: false, case: { caseId, stage: 'recovered' } });
    }
    expect((await h.client.workflow.getHandle(caseId).describe()).runId).toBe(closedRun);
    const again = await intake(CORE, { ...loan, overdue: 50_000, outstanding: 800_000, overdueSince: today() });
    expect(again.statusCode, again.body).toBe(201);
    const reopened = (await t.as(ADMIN, { url: `/v1/cases/${caseId}` })).json();
    expect(reopened).toMatchObject({ episode: 2, stage: 'collecting', overdue: 50_000, recovered: 0, closedAt: null });
    const trail = (await t.as(ADMIN, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { episode: number; type: string }[];
    expect(trail.filter((e) => e.type === 'case_opened').map((e) => e.episode)).toEqual([1, 2]);
    expect(trail.map((e) => e.episode)).toEqual([...trail.map((e) => e.episode)].sort());

    // The Temporal history holds both episodes' runs, the closed one first.
    const history = await eventually(async () => {
      const body = (await t.as(ADMIN, { url: `/v1/cases/${caseId}/history` })).json();
      return body.runs?.length === 2 ? body : undefined;
    });
    expect(history.episode).toBe(2);
    const runs = history.runs as { episode: number; events: { type: string }[] }[];
    expect(runs.map((r) => r.episode)).toEqual([1, 2]);
    expect(runs[0]!.events.at(-1)!.type).toBe('WorkflowExecutionCompleted');
    const [closed, reopenedRun] = history.runs as { runId: string }[];
    await saveHistory('v2-second-episode-first-run', await h.client.workflow.getHandle(caseId, closed!.runId).fetchHistory());
    await saveHistory('v2-second-episode-second-run', await h.client.workflow.getHandle(caseId, reopenedRun!.runId).fetchHistory());
  });
});

describe('the Temporal history', () => {
  it('decodes every run of the episode for a person, with senders and without personal data', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ borrower: BORROWER }), policy, { continueAsNewAfterEvents: 30 });
    const caseId = opened.caseId;
    const handle = h.client.workflow.getHandle(caseId);
    const firstRun = (await handle.describe()).runId;
    const noteKey = `history-${randomUUID()}`;
    expect((await send(OFFICER_LI, caseId, 'notes', { summary: 'first visit' }, { key: noteKey })).statusCode).toBe(200);
    for (let i = 0; i < 12; i++) await send(OFFICER_LI, caseId, 'contacts', { channel: 'phone', outcome: 'no_answer' }, { async: true });
    await eventually(async () => ((await handle.describe()).runId !== firstRun ? true : undefined));

    expectProblem(await t.as(CORE, { url: `/v1/cases/${caseId}/history` }), 403);
    const res = await t.as(SUPERVISOR_BR01, { url: `/v1/cases/${caseId}/history` });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    expect(res.body).not.toContain(BORROWER_ID);
    expect(res.body).not.toContain(BORROWER_PHONE);
    const history = res.json();
    expect(history).toMatchObject({ caseId, episode: 1 });
    expect(history.runs.length).toBeGreaterThanOrEqual(2);
    const [first, second] = history.runs;
    expect(first.runId).toBe(firstRun);
    expect(second.events[0]).toMatchObject({ type: 'WorkflowExecutionStarted', details: { continuedExecutionRunId: firstRun } });

    const events = history.runs.flatMap((run: { events: { type: string; details: Record<string, any> }[] }) => run.events);
    expect(events[0]).toMatchObject({
      eventId: 1,
      type: 'WorkflowExecutionStarted',
      time: expect.any(String),
      details: { workflowType: 'collectionCase', by: SYSTEM },
    });
    // The parties stay in PostgreSQL: the opening carries where they are.
    expect(events[0].details.input[0].opening.loan).toMatchObject({ partiesRef: `case_parties:${caseId}` });
    expect(events[0].details.input[0].opening.loan.borrower).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'WorkflowExecutionUpdateAccepted', details: expect.objectContaining({ updateName: 'openCase' }) }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'WorkflowExecutionUpdateAccepted',
        details: expect.objectContaining({ updateName: 'addNote', updateId: `addNote:${noteKey}`, by: { sub: 'officer-li', role: 'officer' }, requestId: noteKey }),
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'WorkflowExecutionSignaled',
        details: expect.objectContaining({ signalName: 'recordContact', by: { sub: 'officer-li', role: 'officer' } }),
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'ActivityTaskScheduled', details: expect.objectContaining({ activityType: 'projectCase' }) }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'WorkflowExecutionContinuedAsNew', details: expect.objectContaining({ newExecutionRunId: second.runId }) }),
    );
  });

  it('answers one run as raw JSON that replays, personal data masked inside its payloads', async () => {
    const caseId = await openThroughApi({ borrower: BORROWER });
    expect((await send(OFFICER_LI, caseId, 'contacts', { channel: 'sms', outcome: 'answered' })).statusCode).toBe(200);
    const res = await t.as(ADMIN, { url: `/v1/cases/${caseId}/history?format=raw` });
    expect(res.statusCode, res.body.slice(0, 500)).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const raw = res.json();
    expect(raw.events.length).toBeGreaterThan(3);
    const payloadTexts = JSON.stringify(raw)
      .match(/"data":"[A-Za-z0-9+/=]+"/g)!
      .map((m) => Buffer.from(m.slice(8, -1), 'base64').toString('utf8'));
    expect(payloadTexts.some((p) => p.includes('"borrower"'))).toBe(true);
    expect(payloadTexts.join()).not.toContain(BORROWER_ID);
    expect(payloadTexts.join()).not.toContain(BORROWER_PHONE);

    const { runId } = await h.client.workflow.getHandle(caseId).describe();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, historyFromJSON(raw), caseId);
    const byRunId = await t.as(ADMIN, { url: `/v1/cases/${caseId}/history?format=raw&runId=${runId}` });
    // The same run (it may have grown since: a delivery's result).
    expect(byRunId.json().events.slice(0, raw.events.length)).toEqual(raw.events);
    expectProblem(await t.as(ADMIN, { url: `/v1/cases/${caseId}/history?format=raw&runId=${randomUUID()}` }), 404);
  });
});
