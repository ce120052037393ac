/**
 * The litigation child workflow (司法起诉) on the real Temporal server and PostgreSQL, started
 * directly on the harness's task queue beside a real case (so its signals reach a live case run):
 * steps in order to judgment, enforcement and closing; refusals by the validators that cost the
 * history nothing; an overdue task for a late step; a settlement after filing; legal costs;
 * withdrawal by the case.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cases, officerTasks } from '../../db/schema';
import {
  LITIGATION_WORKFLOW_TYPE,
  MESSAGE_REFUSED,
  litigationStateQuery,
  litigationTaskId,
  litigationWithdrawnSignal,
  litigationWorkflowId,
  recordLegalCostUpdate,
  reportLitigationStepUpdate,
  settleLitigationUpdate,
  type LitigationInput,
  type LitigationStep,
  type LitigationView,
  type Refusal,
  type ReportLitigationStep,
} from '../../domain';
import type { litigation } from '../../workflows/litigation/workflow';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { OFFICER, SUPERVISOR, eventually, newLoan, open, settledHistoryLength, testPolicy } from '../support/fixtures';

const DAY = 86_400_000;
const LAWYER = { sub: 'lawyer-chen', role: 'officer' } as const;

let h: CaseHarness;
let caseId: string;
beforeAll(async () => {
  h = await startCaseHarness();
  // A case on a real-day calendar: it sits at hand 1 while the suits below run beside it.
  const policy = await testPolicy(h.db, { dayMs: DAY, entersAtDays: [0, 15, 30, 60, 90, 120] });
  caseId = (await open(h.client, h.taskQueue, newLoan(), policy)).case.caseId;
});
afterAll(async () => {
  await h?.close();
});

type Suit = WorkflowHandle<typeof litigation>;

async function startSuit(overrides: Partial<LitigationInput> = {}): Promise<{ handle: Suit; measureId: string }> {
  const measureId = randomUUID();
  const input: LitigationInput = { caseId, measureId, currency: 'CNY', parties: ['borrower'], stepDays: {}, dayMs: DAY, ...overrides };
  const handle = await h.client.workflow.start<typeof litigation>(LITIGATION_WORKFLOW_TYPE, {
    taskQueue: h.taskQueue,
    workflowId: litigationWorkflowId(input.caseId, measureId),
    args: [input],
  });
  return { handle, measureId };
}

function stepMessage(step: LitigationStep, date: string, extra: Partial<ReportLitigationStep> = {}): ReportLitigationStep {
  return { requestId: randomUUID(), by: LAWYER, step, date, documents: [`(2025)京0105民初${step}号`], ...extra };
}

const report = (handle: Suit, msg: ReportLitigationStep) =>
  handle.executeUpdate(reportLitigationStepUpdate, { args: [msg], updateId: `${reportLitigationStepUpdate.name}:${msg.requestId}` });

/** The refusal an update's validator answered with. */
async function refusalOf(sent: Promise<unknown>): Promise<Refusal> {
  const err = await sent.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(MESSAGE_REFUSED);
  return (cause as ApplicationFailure).details![0] as Refusal;
}

const eventTypes = async (handle: Suit) =>
  ((await handle.fetchHistory()).events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes'))!.replace('EventAttributes', ''));

const ALL_STEPS: [LitigationStep, string][] = [
  ['assess', '2025-03-01'],
  ['file_prepared', '2025-03-08'],
  ['lawyer_assigned', '2025-03-10'],
  ['filed', '2025-03-20'],
  ['hearing', '2025-05-15'],
  ['judgment', '2025-06-10'],
  ['enforcement', '2025-07-01'],
];

describe('a suit step by step', () => {
  it('goes from assessment through judgment and enforcement to closed (recovered), and tells the case', async () => {
    const { handle, measureId } = await startSuit({ stepDays: { assess: 5, file_prepared: 10 } });
    const started = await handle.query(litigationStateQuery);
    expect(started).toMatchObject({ caseId, measureId, nextStep: 'assess', steps: [], outcome: null, legalCosts: 0, overdue: [] });
    expect(Date.parse(started.nextStepDueAt!) - Date.parse(started.startedAt)).toBe(5 * DAY);

    let view: LitigationView | undefined;
    for (const [step, date] of ALL_STEPS) {
      view = await report(handle, stepMessage(step, date, step === 'judgment' ? { note: 'judgment for the bank in full' } : {}));
      expect(view.steps.at(-1)).toMatchObject({ step, date, by: LAWYER });
    }
    expect(view!.nextStep).toBe('closed');
    expect(view!.steps.find((s) => s.step === 'judgment')).toMatchObject({ note: 'judgment for the bank in full', documents: ['(2025)京0105民初judgment号'] });
    // A step with no deadline in the policy arms no timer.
    expect(view!.nextStepDueAt).toBeNull();

    // A retried report (the same request id) answers the view without a second step.
    const closing = stepMessage('closed', '2025-09-30', { closing: 'recovered', note: 'enforced against the shop unit' });
    const closed = await report(handle, closing);
    expect(closed).toMatchObject({ outcome: 'recovered', nextStep: null, nextStepDueAt: null, endedAt: expect.any(String) });
    expect(closed.steps.map((s) => s.step)).toEqual([...ALL_STEPS.map(([s]) => s), 'closed']);

    expect(await handle.result()).toEqual({ measureId, outcome: 'recovered', legalCosts: 0 });
    const final = await handle.query(litigationStateQuery);
    expect(final.steps).toHaveLength(8);
    const types = await eventTypes(handle);
    // The end goes to the case's current run.
    expect(types.filter((t) => t === 'externalWorkflowExecutionSignaled')).toHaveLength(1);
    // One timer at a time: the deadline of assess, cancelled by its report, then file_prepared's.
    expect(types.filter((t) => t === 'timerStarted')).toHaveLength(2);
    expect(types.filter((t) => t === 'timerCanceled')).toHaveLength(2);
    expect(types.length).toBeLessThan(80);
    await saveHistory('litigation-closed-recovered', await handle.fetchHistory());
  });

  it('answers a retried request with the current view and no second effect', async () => {
    const { handle } = await startSuit();
    const assess = stepMessage('assess', '2025-03-01');
    await report(handle, assess);
    await report(handle, stepMessage('file_prepared', '2025-03-02'));
    // The same request again under the same update id: Temporal answers as it first did.
    const again = await report(handle, assess);
    expect(again.steps.map((s) => s.step)).toEqual(['assess']);
    // Under another update id (the suit's own memory of request ids): the current view, and
    // nothing applied twice.
    const resent = await handle.executeUpdate(reportLitigationStepUpdate, { args: [assess], updateId: randomUUID() });
    expect(resent.steps.map((s) => s.step)).toEqual(['assess', 'file_prepared']);
    const cost = { requestId: assess.requestId, by: OFFICER, amount: 100, description: 'a reused request id' };
    expect((await handle.executeUpdate(recordLegalCostUpdate, { args: [cost] })).legalCosts).toBe(0);
    await handle.signal(litigationWithdrawnSignal, { reason: 'test over' });
    await handle.result();
  });
});

describe('refusals', () => {
  it('refuses a step out of order, a bad date, a closing without its outcome and a settlement before filing, with no history event', async () => {
    const { handle } = await startSuit({ stepDays: { assess: 30 } });
    await report(handle, stepMessage('assess', '2025-03-01'));
    const before = await settledHistoryLength(handle);

    expect(await refusalOf(report(handle, stepMessage('lawyer_assigned', '2025-03-05')))).toEqual({
      reason: 'litigation_step_out_of_order',
      field: 'step',
      detail: { step: 'lawyer_assigned', expected: 'file_prepared', lastStep: 'assess' },
    });
    expect(await refusalOf(report(handle, stepMessage('assess', '2025-03-05')))).toMatchObject({ reason: 'litigation_step_out_of_order' });
    expect(await refusalOf(report(handle, stepMessage('file_prepared', '2025-02-28')))).toEqual({
      reason: 'litigation_step_date',
      field: 'date',
      detail: { date: '2025-02-28', earliestDate: '2025-03-01', previousStep: 'assess' },
    });
    expect((await refusalOf(report(handle, stepMessage('file_prepared', '2025-02-30')))).reason).toBe('litigation_step_date');
    expect(await refusalOf(report(handle, stepMessage('file_prepared', '2025-03-02', { closing: 'recovered' })))).toMatchObject({
      reason: 'litigation_closing_not_allowed',
      field: 'closing',
    });
    expect(await refusalOf(report(handle, stepMessage('file_prepared', '2025-03-02', { note: 'nul \u0000 here' })))).toMatchObject({
      reason: 'invalid_text',
      field: 'note',
    });
    const settle = { requestId: randomUUID(), by: SUPERVISOR, terms: 'pay in 6 instalments', amount: 500_000 };
    expect(await refusalOf(handle.executeUpdate(settleLitigationUpdate, { args: [settle] }))).toEqual({
      reason: 'litigation_not_filed',
      detail: { lastStep: 'assess', requiredStep: 'filed' },
    });
    const zero = { requestId: randomUUID(), by: OFFICER, amount: 0, description: 'court fee' };
    expect(await refusalOf(handle.executeUpdate(recordLegalCostUpdate, { args: [zero] }))).toMatchObject({ reason: 'invalid_amount', field: 'amount' });
    const fraction = { ...zero, requestId: randomUUID(), amount: 12.5 };
    expect((await refusalOf(handle.executeUpdate(recordLegalCostUpdate, { args: [fraction] }))).reason).toBe('invalid_amount');

    // Refused by the validators: the suit's history holds none of it.
    expect((await handle.fetchHistory()).events!.length).toBe(before);

    // The same date as the step before is fine; the closed step needs its outcome.
    for (const [step, date] of ALL_STEPS.slice(1)) await report(handle, stepMessage(step, date));
    expect(await refusalOf(report(handle, stepMessage('closed', '2025-08-01')))).toEqual({
      reason: 'litigation_closing_required',
      field: 'closing',
      detail: { closings: ['recovered', 'exhausted'] },
    });
    const exhausted = await report(handle, stepMessage('closed', '2025-07-01', { closing: 'exhausted' }));
    expect(exhausted.outcome).toBe('exhausted');
    expect((await handle.result()).outcome).toBe('exhausted');
  });
});

describe('deadlines', () => {
  it('raises one overdue task for the case\'s officer when a step runs late, and arms the next deadline once it is reported', async () => {
    // A compressed calendar: a case day of 100 ms, three days for each of the first two steps.
    const { handle, measureId } = await startSuit({ dayMs: 100, stepDays: { assess: 3, file_prepared: 3 } });
    const late = await eventually(async () => {
      const view = await handle.query(litigationStateQuery);
      return view.overdue.length > 0 ? view : undefined;
    });
    const taskId = litigationTaskId(measureId, 'assess');
    expect(late.overdue).toEqual([
      { step: 'assess', dueAt: late.nextStepDueAt, raisedAt: expect.any(String), taskId, officerId: OFFICER.sub },
    ]);
    expect(Date.parse(late.overdue[0]!.raisedAt)).toBeGreaterThanOrEqual(Date.parse(late.nextStepDueAt!));
    const [task] = await h.db.select().from(officerTasks).where(eq(officerTasks.id, taskId));
    const [ledger] = await h.db.select().from(cases).where(eq(cases.caseId, caseId));
    expect(task).toMatchObject({
      caseId,
      type: 'litigation_step_overdue',
      officerId: OFFICER.sub,
      hand: ledger!.hand,
      status: 'open',
      dueAt: new Date(late.nextStepDueAt!),
    });

    // Waiting on: no second task, no second timer for the same step.
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await handle.query(litigationStateQuery)).overdue).toHaveLength(1);
    const stillOne = await h.db.select().from(officerTasks).where(and(eq(officerTasks.caseId, caseId), eq(officerTasks.type, 'litigation_step_overdue')));
    expect(stillOne.filter((t) => t.id.startsWith(measureId))).toHaveLength(1);

    // Reported late, the step arms the next deadline; file_prepared runs late too.
    const assessed = await report(handle, stepMessage('assess', '2025-03-01'));
    expect(assessed.nextStep).toBe('file_prepared');
    expect(Date.parse(assessed.nextStepDueAt!) - Date.parse(assessed.steps[0]!.at)).toBe(300);
    await eventually(async () => ((await handle.query(litigationStateQuery)).overdue.length === 2 ? true : undefined));
    const tasks = await h.db.select().from(officerTasks).where(eq(officerTasks.caseId, caseId));
    expect(tasks.filter((t) => t.id.startsWith(measureId)).map((t) => t.id).sort()).toEqual(
      [litigationTaskId(measureId, 'assess'), litigationTaskId(measureId, 'file_prepared')].sort(),
    );

    // lawyer_assigned has no deadline: no timer. Two timers in all, both fired, two tasks raised.
    await report(handle, stepMessage('file_prepared', '2025-03-02'));
    await handle.signal(litigationWithdrawnSignal, { reason: 'done with the test' });
    await handle.result();
    const types = await eventTypes(handle);
    expect(types.filter((t) => t === 'activityTaskCompleted')).toHaveLength(2);
    expect(types.filter((t) => t === 'timerStarted')).toHaveLength(2);
    expect(types.filter((t) => t === 'timerFired')).toHaveLength(2);
    await saveHistory('litigation-overdue-withdrawn', await handle.fetchHistory());
  });
});

describe('settlement, costs and withdrawal', () => {
  it('settles after filing: the suit ends as settled with its agreement, and the case hears of it', async () => {
    const { handle, measureId } = await startSuit();
    for (const [step, date] of ALL_STEPS.slice(0, 5)) await report(handle, stepMessage(step, date));
    const settle = { requestId: randomUUID(), by: SUPERVISOR, terms: 'pays 800,000.00 in 4 monthly instalments; the bank withdraws the claim', amount: 80_000_000 };
    const settled = await handle.executeUpdate(settleLitigationUpdate, { args: [settle], updateId: `${settleLitigationUpdate.name}:${settle.requestId}` });
    expect(settled).toMatchObject({
      outcome: 'settled',
      nextStep: null,
      settlement: { terms: settle.terms, amount: 80_000_000, by: SUPERVISOR, at: expect.any(String) },
    });
    expect(settled.steps.map((s) => s.step)).toEqual(['assess', 'file_prepared', 'lawyer_assigned', 'filed', 'hearing']);
    expect(await handle.result()).toEqual({ measureId, outcome: 'settled', legalCosts: 0, settlement: { amount: 80_000_000 } });
    expect((await eventTypes(handle)).filter((t) => t === 'externalWorkflowExecutionSignaled')).toHaveLength(1);
  });

  it('records legal costs, each told to the case once, and reports their total at the end', async () => {
    const { handle, measureId } = await startSuit();
    const fee = { requestId: randomUUID(), by: OFFICER, amount: 1_250_00, description: 'court filing fee' };
    const send = (cost: typeof fee) => handle.executeUpdate(recordLegalCostUpdate, { args: [cost], updateId: `${recordLegalCostUpdate.name}:${cost.requestId}` });
    expect(await send(fee)).toMatchObject({ legalCosts: 1_250_00, costs: [{ amount: 1_250_00, description: 'court filing fee', by: OFFICER }] });
    expect((await send(fee)).legalCosts).toBe(1_250_00);
    const lawyer = await send({ requestId: randomUUID(), by: OFFICER, amount: 3_000_00, description: 'lawyer\'s fee' });
    expect(lawyer.legalCosts).toBe(4_250_00);
    expect(lawyer.costs.map((c) => c.amount)).toEqual([1_250_00, 3_000_00]);

    for (const [step, date] of ALL_STEPS.slice(0, 4)) await report(handle, stepMessage(step, date));
    await handle.executeUpdate(settleLitigationUpdate, { args: [{ requestId: randomUUID(), by: SUPERVISOR, terms: 'pays in full', amount: 1_200_000 }] });
    expect(await handle.result()).toEqual({ measureId, outcome: 'settled', legalCosts: 4_250_00, settlement: { amount: 1_200_000 } });
    // Two costs and the end: three signals to the case, in that order.
    const history = (await handle.fetchHistory()).events!;
    const signals = history
      .filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)
      .map((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes!.signalName);
    expect(signals).toEqual(['legalCost', 'legalCost', 'litigationEnded']);
    expect(history.filter((e) => e.externalWorkflowExecutionSignaledEventAttributes)).toHaveLength(3);
    await saveHistory('litigation-costs-settled', await handle.fetchHistory());
  });

  it('ends as withdrawn when the case withdraws it, without a word back, and refuses what comes after', async () => {
    const { handle, measureId } = await startSuit({ stepDays: { assess: 10 } });
    await report(handle, stepMessage('assess', '2025-03-01'));
    await handle.signal(litigationWithdrawnSignal, { reason: 'the borrower paid in full' });
    expect(await handle.result()).toEqual({ measureId, outcome: 'withdrawn', legalCosts: 0 });
    const view = await handle.query(litigationStateQuery);
    expect(view).toMatchObject({ outcome: 'withdrawn', withdrawnReason: 'the borrower paid in full', nextStep: null, endedAt: expect.any(String) });
    const types = await eventTypes(handle);
    expect(types).not.toContain('signalExternalWorkflowExecutionInitiated');
    // The suit has ended: Temporal takes no more updates for it (the API answers 409 litigation_ended).
    await expect(report(handle, stepMessage('file_prepared', '2025-03-02'))).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // assess's deadline (unless its report came in the suit's first task), cancelled by the
    // report; file_prepared has none.
    const started = types.filter((t) => t === 'timerStarted').length;
    expect(started).toBeLessThanOrEqual(1);
    expect(types.filter((t) => t === 'timerCanceled')).toHaveLength(started);
  });
});
