/**
 * A case's suit (司法起诉) through the API, on live workflows: a litigation measure proposed,
 * approved and started on a real case starts its suit (a child workflow of the case); its steps,
 * legal costs and settlement are reported through the suit's routes and answered at once; the
 * case hears how it ended. Refusals, access, a late step's overdue task, a worker outage.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPolicyVersion } from '../../db/policies';
import { officerTasks } from '../../db/schema';
import { STANDARD_POLICY } from '../../db/seed';
import { DAY_MS, litigationTaskId, litigationWorkflowId, type LitigationStep, type Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { eventually, newLoan } from '../support/fixtures';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const OFFICER_LI: Who = ['officer', 'officer-li', 'BR01'];
const OFFICER_ZHANG: Who = ['officer', 'officer-zhang', 'BR01'];
const OFFICER_BR02: Who = ['officer', 'officer-zhao', 'BR02'];
const SUPERVISOR_WANG: Who = ['supervisor', 'supervisor-wang', 'BR01'];

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

/** A policy that allows litigation from hand 1 and proposes nothing itself; its later hands lie
 * far away, so the case stays where it is while its suit runs. */
async function suitPolicy(dayMs = DAY_MS, litigationStepDays?: Partial<Record<LitigationStep, number>>): Promise<string> {
  const policy = await addPolicyVersion(h.db, {
    ...STANDARD_POLICY,
    name: `suit-${randomUUID().slice(0, 8)}`,
    dayMs,
    hands: STANDARD_POLICY.hands.map((rule, i) => ({ ...rule, entersAtDay: i * 100_000 })),
    measureRules: { minHand: {}, compliance: { publicNotice: false }, autoPropose: [], ...(litigationStepDays ? { litigationStepDays } : {}) },
  });
  return policy.name;
}

const post = (who: Who, url: string, payload: object, key?: string) =>
  t.as(who, { method: 'POST', url, payload, headers: key ? { 'idempotency-key': key } : {} });

async function openCase(policy: string): Promise<string> {
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan(), policy } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().case.caseId;
}

/** A litigation measure proposed, approved and started: its suit runs. */
async function startSuit(caseId: string): Promise<{ measureId: string; base: string }> {
  const proposed = await post(OFFICER_LI, `/v1/cases/${caseId}/measures`, { type: 'litigation', rationale: 'secured loan: sue first', expectedRecovery: 800_000 });
  expect(proposed.statusCode, proposed.body).toBe(201);
  const { measureId } = proposed.json();
  const approved = await post(SUPERVISOR_WANG, `/v1/cases/${caseId}/measures/${measureId}/decision`, { decision: 'approve', reason: 'collateral covers it' });
  expect(approved.statusCode, approved.body).toBe(200);
  const started = await post(OFFICER_LI, `/v1/cases/${caseId}/measures/${measureId}/progress`, { status: 'in_progress', note: 'to the lawyer' });
  expect(started.statusCode, started.body).toBe(200);
  const base = `/v1/cases/${caseId}/measures/${measureId}/litigation`;
  // The case starts the suit once its ledger shows the measure in progress.
  await eventually(async () => ((await t.as(OFFICER_LI, { url: base })).statusCode === 200 ? true : undefined));
  return { measureId, base };
}

const step = (stepName: LitigationStep, date: string, extra: object = {}) => ({ step: stepName, date, documents: [`(2025)京0105民初${stepName}号`], ...extra });
const measureOf = async (caseId: string, measureId: string) =>
  ((await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}` })).json().measures as { measureId: string; state: string }[]).find(
    (m) => m.measureId === measureId,
  );

describe('a suit through the API', () => {
  it('takes steps in order, costs and a settlement after filing; refuses what it cannot take; the case hears how it ended', async () => {
    const caseId = await openCase(await suitPolicy());
    const { measureId, base } = await startSuit(caseId);
    const started = (await t.as(OFFICER_LI, { url: base })).json();
    expect(started).toMatchObject({ caseId, measureId, parties: ['borrower'], currency: 'CNY', nextStep: 'assess', steps: [], outcome: null });
    // The policy's default: five case days to assess.
    expect(Date.parse(started.nextStepDueAt) - Date.parse(started.startedAt)).toBe(5 * DAY_MS);

    // Out of order: 409, kept with the case's refusals.
    const early = expectProblem(await post(OFFICER_LI, `${base}/steps`, step('filed', '2025-03-01'), `early-${randomUUID()}`), 409);
    expect(early).toMatchObject({ reason: 'litigation_step_out_of_order', accepted: { step: 'filed', expected: 'assess', lastStep: null } });
    const refusals = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/refusals` })).json().items as { message: string; reason: string }[];
    expect(refusals).toContainEqual(expect.objectContaining({ message: 'reportLitigationStep', reason: 'litigation_step_out_of_order' }));

    const assessKey = `assess-${randomUUID()}`;
    const assessed = await post(OFFICER_LI, `${base}/steps`, step('assess', '2025-03-01', { note: 'collateral valued at 800,000.00' }), assessKey);
    expect(assessed.statusCode, assessed.body).toBe(200);
    expect(assessed.json()).toMatchObject({ nextStep: 'file_prepared', steps: [{ step: 'assess', date: '2025-03-01', by: { sub: 'officer-li', role: 'officer' } }] });
    // A retry answers as the first did; nothing is reported twice.
    const retried = await post(OFFICER_LI, `${base}/steps`, step('assess', '2025-03-01', { note: 'collateral valued at 800,000.00' }), assessKey);
    expect(retried.json().steps).toHaveLength(1);

    // What the suit cannot accept: 422 naming the field; what the request gets wrong: 400.
    expect(expectProblem(await post(OFFICER_LI, `${base}/steps`, step('file_prepared', '2025-02-01')), 422, ['date'])).toMatchObject({
      reason: 'litigation_step_date',
      accepted: { earliestDate: '2025-03-01', previousStep: 'assess' },
    });
    expectProblem(await post(OFFICER_LI, `${base}/steps`, step('file_prepared', '2025-02-30')), 400, ['date']);
    expectProblem(await post(OFFICER_LI, `${base}/steps`, step('file_prepared', '03/05/2025')), 400, ['date']);
    expectProblem(await post(OFFICER_LI, `${base}/steps`, step('file_prepared', '2025-03-05', { closing: 'recovered' })), 400, ['closing']);
    expectProblem(await post(OFFICER_LI, `${base}/steps`, { ...step('file_prepared', '2025-03-05'), documents: Array.from({ length: 21 }, (_, i) => `doc-${i}`) }), 400, ['documents']);
    expectProblem(await post(OFFICER_LI, `${base}/steps`, { ...step('file_prepared', '2025-03-05'), documents: ['a\u0000b'] }), 400, ['documents.0']);
    expect(expectProblem(await post(OFFICER_LI, `${base}/settlement`, { terms: 'pay half', amount: 400_000 }), 409)).toMatchObject({
      reason: 'litigation_not_filed',
      accepted: { lastStep: 'assess', requiredStep: 'filed' },
    });

    for (const [name, date] of [['file_prepared', '2025-03-05'], ['lawyer_assigned', '2025-03-06'], ['filed', '2025-03-20']] as const) {
      const res = await post(OFFICER_LI, `${base}/steps`, step(name, date));
      expect(res.statusCode, res.body).toBe(200);
    }
    expectProblem(await post(OFFICER_LI, `${base}/costs`, { amount: 0, description: 'court fee' }), 400, ['amount']);
    expectProblem(await post(OFFICER_LI, `${base}/costs`, { amount: 12.5, description: 'court fee' }), 400, ['amount']);
    const fee = await post(OFFICER_LI, `${base}/costs`, { amount: 250_000, description: 'court filing fee' }, `fee-${randomUUID()}`);
    expect(fee.statusCode, fee.body).toBe(200);
    expect(fee.json()).toMatchObject({ legalCosts: 250_000, costs: [{ amount: 250_000, description: 'court filing fee', by: { sub: 'officer-li' } }] });

    const settleKey = `settle-${randomUUID()}`;
    const settlement = { terms: 'pays 700,000.00 in two instalments; the bank withdraws the claim', amount: 70_000_000 };
    const settled = await post(OFFICER_LI, `${base}/settlement`, settlement, settleKey);
    expect(settled.statusCode, settled.body).toBe(200);
    expect(settled.json()).toMatchObject({ outcome: 'settled', nextStep: null, settlement: { ...settlement, by: { sub: 'officer-li' } } });

    // The case hears of the cost and of the end: its measure succeeded, the cost is in its trail.
    const measure = await eventually(async () => {
      const m = await measureOf(caseId, measureId);
      return m?.state === 'succeeded' ? m : undefined;
    });
    expect(measure).toMatchObject({ state: 'succeeded', endedAt: expect.any(String) });
    const trail = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string; payload: Record<string, unknown> }[];
    expect(trail.find((e) => e.type === 'legal_cost_recorded')?.payload).toMatchObject({ measureId, amount: 250_000 });
    expect(trail.find((e) => e.type === 'measure_succeeded')?.payload).toMatchObject({ measureId, outcome: 'settled', legalCosts: 250_000 });

    // Once the suit's workflow has ended: a retried settlement answers as the first did, a new
    // report is refused, and the suit still shows itself.
    await eventually(async () => ((await h.client.workflow.getHandle(litigationWorkflowId(caseId, measureId)).describe()).status.name === 'COMPLETED' ? true : undefined));
    const again = await post(OFFICER_LI, `${base}/settlement`, settlement, settleKey);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ outcome: 'settled', legalCosts: 250_000 });
    expect(expectProblem(await post(OFFICER_LI, `${base}/steps`, step('hearing', '2025-04-01')), 409)).toMatchObject({
      reason: 'litigation_ended',
      accepted: { outcome: 'settled', legalCosts: 250_000 },
    });
    expect((await t.as(OFFICER_LI, { url: base })).json()).toMatchObject({ outcome: 'settled', steps: [{}, {}, {}, {}] });
  });

  it('closes through judgment and enforcement: exhausted fails the measure; a cancelled measure withdraws its suit', async () => {
    const caseId = await openCase(await suitPolicy());
    const { measureId, base } = await startSuit(caseId);
    const steps: [LitigationStep, string][] = [
      ['assess', '2025-03-01'],
      ['file_prepared', '2025-03-05'],
      ['lawyer_assigned', '2025-03-06'],
      ['filed', '2025-03-20'],
      ['hearing', '2025-05-10'],
      ['judgment', '2025-06-01'],
      ['enforcement', '2025-06-20'],
    ];
    for (const [name, date] of steps) expect((await post(OFFICER_LI, `${base}/steps`, step(name, date))).statusCode).toBe(200);
    expectProblem(await post(OFFICER_LI, `${base}/steps`, step('closed', '2025-09-01')), 400, ['closing']);
    const closed = await post(OFFICER_LI, `${base}/steps`, step('closed', '2025-09-01', { closing: 'exhausted', note: 'no assets found' }));
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json()).toMatchObject({ outcome: 'exhausted', nextStep: null });
    await eventually(async () => ((await measureOf(caseId, measureId))?.state === 'failed' ? true : undefined));

    // Another case: its suit is withdrawn when the measure is cancelled.
    const other = await openCase(await suitPolicy());
    const suit = await startSuit(other);
    const cancelled = await post(OFFICER_LI, `/v1/cases/${other}/measures/${suit.measureId}/progress`, { status: 'cancelled', note: 'the borrower sold the shop and paid' });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const withdrawn = await eventually(async () => {
      const view = (await t.as(OFFICER_LI, { url: suit.base })).json();
      return view.outcome === 'withdrawn' ? view : undefined;
    });
    expect(withdrawn).toMatchObject({ withdrawnReason: 'the borrower sold the shop and paid', endedAt: expect.any(String) });
  });
});

describe('who may, and which suit', () => {
  it('answers 404 outside the caller\'s branch (as for a missing case), 403 to who may not act, and 404 for what is no suit', async () => {
    const caseId = await openCase(await suitPolicy());
    const { base } = await startSuit(caseId);
    expect(expectProblem(await t.as(OFFICER_BR02, { url: base }), 404).detail).toBe(`No case ${caseId}`);
    expect((await t.as(OFFICER_ZHANG, { url: base })).statusCode).toBe(200); // reading: the branch
    expectProblem(await post(OFFICER_ZHANG, `${base}/steps`, step('assess', '2025-03-01')), 403); // acting: the assigned officer
    const bySupervisor = await post(SUPERVISOR_WANG, `${base}/costs`, { amount: 100, description: 'stamp duty' }); // a supervisor of the branch
    expect(bySupervisor.statusCode, bySupervisor.body).toBe(200);

    expectProblem(await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}/measures/${randomUUID()}/litigation` }), 404);
    expectProblem(await t.as(OFFICER_LI, { url: `/v1/cases/case-NO-SUCH/measures/${randomUUID()}/litigation` }), 404);
    const visit = (await post(OFFICER_LI, `/v1/cases/${caseId}/measures`, { type: 'field_visit', rationale: 'see the shop', expectedRecovery: 0 })).json();
    expectProblem(await post(OFFICER_LI, `/v1/cases/${caseId}/measures/${visit.measureId}/litigation/steps`, step('assess', '2025-03-01')), 404);
    expectProblem(await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}/measures/not-a-uuid/litigation` }), 400, ['measureId']);
  });
});

describe('deadlines and outages', () => {
  it('shows the overdue task a late step raised for the case\'s officer', async () => {
    // A compressed calendar: 100 ms a case day, three days to assess.
    const caseId = await openCase(await suitPolicy(100, { assess: 3 }));
    const { measureId, base } = await startSuit(caseId);
    const late = await eventually(async () => {
      const view = (await t.as(OFFICER_LI, { url: base })).json();
      return view.overdue?.length ? view : undefined;
    });
    const taskId = litigationTaskId(measureId, 'assess');
    expect(late.overdue).toEqual([{ step: 'assess', dueAt: late.nextStepDueAt, raisedAt: expect.any(String), taskId, officerId: 'officer-li' }]);
    const [task] = await h.db.select().from(officerTasks).where(eq(officerTasks.id, taskId));
    expect(task).toMatchObject({ caseId, type: 'litigation_step_overdue', officerId: 'officer-li', status: 'open' });
    // Reported late, the step is still taken.
    expect((await post(OFFICER_LI, `${base}/steps`, step('assess', '2025-03-01'))).json().nextStep).toBe('file_prepared');
  });

  it('answers 503 with Retry-After when no worker answers, and a retry with the same key applies the report once', async () => {
    const caseId = await openCase(await suitPolicy());
    const { base } = await startSuit(caseId);
    const key = `outage-${randomUUID()}`;
    await h.stopWorker();
    try {
      const res = await post(OFFICER_LI, `${base}/steps`, step('assess', '2025-03-01'), key);
      expectProblem(res, 503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.json().detail).toContain(key);
    } finally {
      await h.startWorker();
    }
    const retried = await eventually(async () => {
      const res = await post(OFFICER_LI, `${base}/steps`, step('assess', '2025-03-01'), key);
      return res.statusCode === 200 ? (res.json() as { steps: { step: string }[] }) : undefined;
    }, 30_000);
    expect(retried.steps.map((s) => s.step)).toEqual(['assess']);
    expect((await t.as(OFFICER_LI, { url: base })).json().steps).toHaveLength(1);
  });
});
