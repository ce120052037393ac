/**
 * The plan per household (一户一策) through the API, on live case workflows: measures proposed,
 * decided under four eyes, carried out; the approvals queue; the policy's own proposals; the
 * ladder waiting for a measure with a schedule of its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPolicyVersion } from '../../db/policies';
import { STANDARD_POLICY } from '../../db/seed';
import { msToDate, type Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { eventually, newLoan, testPolicy } from '../support/fixtures';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const OFFICER_LI: Who = ['officer', 'officer-li', 'BR01'];
const SUPERVISOR_WANG: Who = ['supervisor', 'supervisor-wang', 'BR01'];
const SUPERVISOR_ZHOU: Who = ['supervisor', 'supervisor-zhou', 'BR01'];
const SUPERVISOR_BR02: Who = ['supervisor', 'supervisor-zhao', 'BR02'];
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

async function openCase(overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan(), ...overrides } });
  expect(res.statusCode, res.body).toBeLessThan(202);
  return res.json().case.caseId;
}
const post = (who: Who, url: string, payload: object, key?: string) =>
  t.as(who, { method: 'POST', url, payload, headers: key ? { 'idempotency-key': key } : {} });
const propose = (who: Who, caseId: string, body: object, key?: string) => post(who, `/v1/cases/${caseId}/measures`, body, key);
const decide = (who: Who, caseId: string, measureId: string, decision: 'approve' | 'reject', reason = 'sound') =>
  post(who, `/v1/cases/${caseId}/measures/${measureId}/decision`, { decision, reason });
const report = (who: Who, caseId: string, measureId: string, status: string, note = 'done') =>
  post(who, `/v1/cases/${caseId}/measures/${measureId}/progress`, { status, note });

describe('a measure\'s lifecycle', () => {
  it('is proposed, queued for the branch, decided under four eyes once, carried out and shown with the case', async () => {
    const caseId = await openCase();
    const key = `visit-${randomUUID()}`;
    const body = { type: 'field_visit', rationale: 'Borrower stopped answering; visit the shop', expectedRecovery: 300_000 };
    const proposed = await propose(OFFICER_LI, caseId, body, key);
    expect(proposed.statusCode, proposed.body).toBe(201);
    const measure = proposed.json();
    expect(measure).toMatchObject({ type: 'field_visit', state: 'proposed', proposedBy: { sub: 'officer-li' }, rule: null, decision: null });
    // A retry with the same key names the same measure and proposes nothing new.
    const retried = await propose(OFFICER_LI, caseId, body, key);
    expect(retried.json().measureId).toBe(measure.measureId);

    const queue = await eventually(async () => {
      const items = (await t.as(SUPERVISOR_WANG, { url: '/v1/approvals?limit=200' })).json().items as { measure: { measureId: string } }[];
      return items.some((i) => i.measure.measureId === measure.measureId) ? items : undefined;
    });
    expect(queue.find((i) => i.measure.measureId === measure.measureId)).toMatchObject({ caseId, branch: 'BR01' });
    const elsewhere = (await t.as(SUPERVISOR_BR02, { url: '/v1/approvals?limit=200' })).json().items as { caseId: string }[];
    expect(elsewhere.map((i) => i.caseId)).not.toContain(caseId);
    expectProblem(await t.as(SUPERVISOR_BR02, { url: '/v1/approvals?branch=BR01' }), 403);
    expectProblem(await decide(OFFICER_LI, caseId, measure.measureId, 'approve'), 403);

    const approved = await decide(SUPERVISOR_WANG, caseId, measure.measureId, 'approve', 'the shop is open on weekdays');
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ state: 'approved', decision: { decision: 'approve', by: { sub: 'supervisor-wang' } } });
    const twice = expectProblem(await decide(SUPERVISOR_ZHOU, caseId, measure.measureId, 'reject'), 409);
    expect(twice).toMatchObject({ reason: 'measure_already_decided', accepted: { state: 'approved' } });
    expect(expectProblem(await report(OFFICER_LI, caseId, measure.measureId, 'succeeded'), 409).reason).toBe('measure_transition_not_allowed');

    expect((await report(OFFICER_LI, caseId, measure.measureId, 'in_progress', 'on the way')).json()).toMatchObject({ state: 'in_progress', startedAt: expect.any(String) });
    const done = await report(OFFICER_LI, caseId, measure.measureId, 'succeeded', 'borrower agreed to pay weekly');
    expect(done.json()).toMatchObject({ state: 'succeeded', endedAt: expect.any(String), lastNote: 'borrower agreed to pay weekly' });

    const read = (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json();
    expect(read.measures).toEqual([expect.objectContaining({ measureId: measure.measureId, state: 'succeeded' })]);
    const trail = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string }[];
    expect(trail.map((e) => e.type).filter((type) => type.startsWith('measure_'))).toEqual([
      'measure_proposed',
      'measure_approved',
      'measure_started',
      'measure_succeeded',
    ]);
    const pending = (await t.as(SUPERVISOR_WANG, { url: '/v1/approvals?limit=200' })).json().items as { measure: { measureId: string } }[];
    expect(pending.map((i) => i.measure.measureId)).not.toContain(measure.measureId);
  });

  it('refuses the proposer\'s own approval, a decision on a paused case, and a measure the hand or policy forbids', async () => {
    const caseId = await openCase();
    const own = (await propose(SUPERVISOR_WANG, caseId, { type: 'collateral_sale', rationale: 'sell the shop unit', expectedRecovery: 1 })).json();
    expect(expectProblem(await decide(SUPERVISOR_WANG, caseId, own.measureId, 'approve'), 409)).toMatchObject({
      reason: 'four_eyes',
      accepted: { proposedBy: { sub: 'supervisor-wang' } },
    });
    expect(expectProblem(await propose(OFFICER_LI, caseId, { type: 'collateral_sale', rationale: 'again', expectedRecovery: 1 }), 409).reason).toBe(
      'measure_already_open',
    );
    const litigation = expectProblem(await propose(OFFICER_LI, caseId, { type: 'litigation', rationale: 'sue', expectedRecovery: 1 }), 409);
    expect(litigation).toMatchObject({ reason: 'measure_not_allowed_at_hand', accepted: { minHand: 5, hand: 1 } });
    const notice = expectProblem(await propose(OFFICER_LI, caseId, { type: 'public_notice', rationale: 'post it', expectedRecovery: 0 }), 422);
    expect(notice).toMatchObject({ reason: 'compliance_flag_off', errors: [{ field: 'type' }], accepted: { flag: 'compliance.publicNotice' } });
    expect(String(notice.detail)).toContain('compliance.publicNotice');

    expect((await post(SUPERVISOR_ZHOU, `/v1/cases/${caseId}/pause`, { reason: 'dispute' })).statusCode).toBe(200);
    expect(expectProblem(await decide(SUPERVISOR_ZHOU, caseId, own.measureId, 'approve'), 409).reason).toBe('case_paused');
    expect(expectProblem(await decide(SUPERVISOR_ZHOU, caseId, randomUUID(), 'approve'), 409).reason).toBe('unknown_measure');
  });

  it('allows a public notice where the policy\'s compliance flag does', async () => {
    const policy = await addPolicyVersion(h.db, {
      ...STANDARD_POLICY,
      name: `notice-${randomUUID().slice(0, 8)}`,
      measureRules: { minHand: {}, compliance: { publicNotice: true }, autoPropose: [] },
    });
    const caseId = await openCase({ policy: policy.name });
    const res = await propose(OFFICER_LI, caseId, { type: 'public_notice', rationale: 'approved by legal', expectedRecovery: 0 });
    expect(res.statusCode, res.body).toBe(201);
  });
});

describe('the policy\'s own proposals', () => {
  it('proposes a guarantor claim on entering hand 4 when the loan has guarantors, naming its rule, awaiting approval', async () => {
    const caseId = await openCase({ overdueSince: today(-65) });
    const read = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}` })).json();
    expect(read.hand).toBe(4);
    expect(read.measures).toEqual([
      expect.objectContaining({
        type: 'guarantor_claim',
        state: 'proposed',
        proposedBy: { sub: 'workflow', role: 'system' },
        rule: { policy: 'standard', version: 1, rule: 'guarantor_claim_at_hand_4' },
      }),
    ]);
    const none = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${await openCase({ overdueSince: today(-65), guarantors: [] })}` })).json();
    expect(none.measures).toEqual([]);
  });
});

describe('a measure with its own schedule', () => {
  it('holds the ladder while it runs; when it fails the ladder goes on from the hand the case left', async () => {
    const dayMs = 400;
    const policy = await testPolicy(h.db, { dayMs, entersAtDays: [0, 6, 400, 500, 600, 700] });
    const caseId = await openCase({ policy: policy.name });
    const measure = (await propose(OFFICER_LI, caseId, { type: 'restructuring', rationale: 'new schedule', expectedRecovery: 1_000_000 })).json();
    expect((await decide(SUPERVISOR_WANG, caseId, measure.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, measure.measureId, 'in_progress', 'signed')).statusCode).toBe(200);
    const held = (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json();
    expect(held.nextAction).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 8 * dayMs)); // past hand 2's entry at day 6
    expect((await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json().hand).toBe(1);

    const failed = await report(OFFICER_LI, caseId, measure.measureId, 'failed', 'missed two instalments');
    expect(failed.statusCode, failed.body).toBe(200);
    const resumed = (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json();
    expect(resumed).toMatchObject({ hand: 1, nextAction: { type: 'escalate', hand: 2 } });
    // The held days do not count: hand 2 comes about six case days after the case last escalated.
    expect(Date.parse(resumed.nextAction.at) - Date.now()).toBeGreaterThan(2 * dayMs);
    await eventually(async () => ((await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json().hand === 2 ? true : undefined));
  });
});
