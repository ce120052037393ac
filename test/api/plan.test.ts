/**
 * The plan per household (一户一策) through the API, on live case workflows: measures proposed,
 * decided under four eyes, carried out; the approvals queue; the policy's own proposals; the
 * ladder waiting for a measure with a schedule of its own.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPolicyVersion } from '../../db/policies';
import { STANDARD_POLICY } from '../../db/seed';
import { msToDate, type Hand, type Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { eventually, newLoan, testPolicy } from '../support/fixtures';
import { saveHistory } from '../support/histories';
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
    // A retry with the same key names the same measure and proposes nothing new; a key already
    // used for another message names that one.
    const retried = await propose(OFFICER_LI, caseId, body, key);
    expect(retried.json().measureId).toBe(measure.measureId);
    const noteKey = `note-${randomUUID()}`;
    expect((await post(OFFICER_LI, `/v1/cases/${caseId}/notes`, { summary: 'called' }, noteKey)).statusCode).toBe(200);
    expect(expectProblem(await propose(OFFICER_LI, caseId, body, noteKey), 409).reason).toBe('idempotency_key_reused');

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
    const caseId = await openCase({ policy: policy.name, overdue: 1_200_000 });
    const caseDate = (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json().caseDate as string;
    const schedule = [20, 40].map((days) => ({ dueDate: msToDate(Date.parse(`${caseDate}T00:00:00Z`) + days * 86_400_000), amount: 600_000 }));
    const measure = (await propose(OFFICER_LI, caseId, { type: 'restructuring', rationale: 'new schedule', expectedRecovery: 1_200_000, schedule })).json();
    expect((await decide(SUPERVISOR_WANG, caseId, measure.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, measure.measureId, 'in_progress', 'signed')).statusCode).toBe(200);
    const held = (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json();
    expect(held).toMatchObject({ stage: 'restructured', nextAction: { type: 'instalment_due' } });
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

describe('write-off and accountability', () => {
  const finding = { conclusion: 'process_failure', reasoning: 'collateral valued without a site visit', riskFlags: ['second_mortgage'] };

  it('needs exhausted litigation or a supervisor\'s override, a second supervisor, and a finding; books the loss once', async () => {
    const origination = { officerId: 'officer-sun', approvedBy: ['branch-head-liu'], riskFlags: ['pushed_through_against_review_advice'] };
    const caseId = await openCase({ overdue: 500_000, origination });
    const request = { reason: 'borrower emigrated; no assets left', amount: 500_000 };
    expect(expectProblem(await post(OFFICER_LI, `/v1/cases/${caseId}/write-off`, request), 409).reason).toBe('write_off_not_exhausted');
    const requested = await post(SUPERVISOR_WANG, `/v1/cases/${caseId}/write-off`, { ...request, overrideReason: 'no assets in the country' });
    expect(requested.statusCode, requested.body).toBe(200);
    expect(requested.json().writeOff).toMatchObject({ state: 'requested', requestedBy: { sub: 'supervisor-wang' }, amount: 500_000 });
    expect(expectProblem(await post(SUPERVISOR_ZHOU, `/v1/cases/${caseId}/write-off`, { ...request, overrideReason: 'again' }), 409).reason).toBe(
      'write_off_pending',
    );
    const decision = (who: Who, body: object) => post(who, `/v1/cases/${caseId}/write-off/decision`, body);
    expect(expectProblem(await decision(SUPERVISOR_WANG, { decision: 'approve', reason: 'ok', finding }), 409).reason).toBe('four_eyes');
    expect(expectProblem(await decision(SUPERVISOR_ZHOU, { decision: 'approve', reason: 'ok' }), 422)).toMatchObject({
      reason: 'finding_required',
      errors: [{ field: 'finding' }],
    });
    expectProblem(await decision(OFFICER_LI, { decision: 'approve', reason: 'ok', finding }), 403);

    const approved = await decision(SUPERVISOR_ZHOU, { decision: 'approve', reason: 'recovery exhausted', finding });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({
      stage: 'written_off',
      closedAt: expect.any(String),
      nextAction: null,
      writeOff: {
        state: 'approved',
        decision: { by: { sub: 'supervisor-zhou' } },
        finding: {
          conclusion: finding.conclusion,
          reasoning: finding.reasoning,
          riskFlags: ['pushed_through_against_review_advice', 'second_mortgage'],
          involved: { officers: ['officer-li'], approvers: expect.arrayContaining(['supervisor-wang', 'supervisor-zhou']), origination },
        },
      },
    });
    expect(expectProblem(await decision(SUPERVISOR_ZHOU, { decision: 'approve', reason: 'twice', finding }), 409).reason).toBe('case_closed');
    expect(expectProblem(await post(OFFICER_LI, `/v1/cases/${caseId}/contacts`, { channel: 'phone', outcome: 'answered' }), 409).reason).toBe(
      'case_closed',
    );

    // Money recovered afterwards is still credited, as recovery of written-off debt.
    const paid = await post(OFFICER_LI, `/v1/cases/${caseId}/payments`, { amount: 20_000, paidAt: new Date().toISOString(), reference: 'AFTER-WO' });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ stage: 'written_off', recovered: 20_000, recoveredAfterWriteOff: 20_000 });
    const trail = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string; payload: Record<string, unknown> }[];
    const types = trail.map((e) => e.type);
    expect(types.filter((type) => type === 'charged_off')).toHaveLength(1);
    expect(types.filter((type) => type === 'case_written_off')).toHaveLength(1);
    expect(types.indexOf('charged_off')).toBeLessThan(types.indexOf('case_written_off'));
    expect(trail.find((e) => e.type === 'payment_recorded')?.payload).toMatchObject({ afterWriteOff: true, payer: 'borrower' });
    await saveHistory('v3-write-off-and-recovery-after', await h.client.workflow.getHandle(caseId).fetchHistory());
  });

  it('is open to the officer once litigation has failed', async () => {
    const caseId = await openCase({ overdueSince: today(-95), secured: false, collateral: [] });
    const suit = (await propose(OFFICER_LI, caseId, { type: 'litigation', rationale: 'file suit', expectedRecovery: 400_000 })).json();
    expect((await decide(SUPERVISOR_WANG, caseId, suit.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, suit.measureId, 'in_progress', 'filed')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, suit.measureId, 'failed', 'judgment unenforceable: no assets')).statusCode).toBe(200);
    const requested = await post(OFFICER_LI, `/v1/cases/${caseId}/write-off`, { reason: 'enforcement exhausted', amount: 100_000 });
    expect(requested.statusCode, requested.body).toBe(200);
    expect(requested.json().writeOff).toMatchObject({ state: 'requested', overrideReason: null });
  });
});

describe('payers', () => {
  it('credits a guarantor up to what they guaranteed and names the payer', async () => {
    const guarantor = { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000', guaranteedAmount: 50_000 };
    const caseId = await openCase({ overdue: 1_000_000, guarantors: [guarantor] });
    const pay = (reference: string, amount: number, payer?: string) =>
      post(OFFICER_LI, `/v1/cases/${caseId}/payments`, { amount, reference, paidAt: new Date().toISOString(), ...(payer ? { payer } : {}) });
    expect((await pay('G-1', 30_000, 'guarantor:1')).json().recovered).toBe(30_000);
    expect((await pay('G-2', 30_000, 'guarantor:1')).json().recovered).toBe(50_000); // capped at 50,000
    expect(expectProblem(await pay('G-3', 1_000, 'guarantor:1'), 409).reason).toBe('guarantee_exhausted');
    expect(expectProblem(await pay('G-4', 1_000, 'guarantor:2'), 422)).toMatchObject({ reason: 'unknown_payer', errors: [{ field: 'payer' }] });
    expectProblem(await pay('G-5', 1_000, 'neighbour'), 400, ['payer']);
    const trail = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string; payload: Record<string, unknown> }[];
    expect(trail.filter((e) => e.type === 'payment_recorded').map((e) => e.payload)).toEqual([
      expect.objectContaining({ payer: 'guarantor:1', amount: 30_000 }),
      expect.objectContaining({ payer: 'guarantor:1', amount: 20_000, paid: 30_000, aboveGuarantee: 10_000 }),
    ]);
  });
});

describe('the guarantor claim, a child workflow of the case', () => {
  it('ends when the guarantor refuses: the claim is withdrawn and litigation including them proposed', async () => {
    const guarantorWho = { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000', guaranteedAmount: 80_000 };
    const caseId = await openCase({ guarantors: [guarantorWho] });
    const claim = (await propose(OFFICER_LI, caseId, { type: 'guarantor_claim', rationale: 'demand', expectedRecovery: 80_000 })).json();
    expect((await decide(SUPERVISOR_WANG, caseId, claim.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, claim.measureId, 'in_progress', 'demanded')).statusCode).toBe(200);
    const child = h.client.workflow.getHandle(`${caseId}/guarantor-claim/${claim.measureId}`);
    await eventually(async () => ((await child.describe()).status.name === 'RUNNING' ? true : undefined));
    expect((await report(OFFICER_LI, caseId, claim.measureId, 'failed', 'the guarantor refused in writing')).statusCode).toBe(200);
    expect((await child.result()).outcome).toBe('withdrawn');
    const measures = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}` })).json().measures;
    expect(measures[1]).toMatchObject({ type: 'litigation', state: 'proposed', parties: ['borrower', 'guarantor:1'] });
  });

  const guarantor = { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000', guaranteedAmount: 50_000 };
  const measureOfCase = async (caseId: string, measureId: string) =>
    ((await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}` })).json().measures as { measureId: string; state: string }[]).find(
      (m) => m.measureId === measureId,
    );

  it('demands of each guarantor what they guaranteed and succeeds when they have paid it', async () => {
    const caseId = await openCase({ overdueSince: today(-65), overdue: 1_000_000, guarantors: [guarantor] });
    const [claim] = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}` })).json().measures;
    expect(claim).toMatchObject({ type: 'guarantor_claim', state: 'proposed' });
    expect((await decide(SUPERVISOR_WANG, caseId, claim.measureId, 'approve')).statusCode).toBe(200);
    const started = await report(OFFICER_LI, caseId, claim.measureId, 'in_progress', 'demand letters out');
    expect(started.json()).toMatchObject({ state: 'in_progress', parties: ['guarantor:1'] });
    const child = h.client.workflow.getHandle(`${caseId}/guarantor-claim/${claim.measureId}`);
    await eventually(async () => ((await child.describe()).status.name === 'RUNNING' ? true : undefined));

    const paid = await post(OFFICER_LI, `/v1/cases/${caseId}/payments`, { amount: 60_000, paidAt: new Date().toISOString(), reference: 'GUAR-1', payer: 'guarantor:1' });
    expect(paid.json().recovered).toBe(50_000);
    await eventually(async () => ((await measureOfCase(caseId, claim.measureId))?.state === 'succeeded' ? true : undefined));
    expect((await child.result()).outcome).toBe('paid');
    await saveHistory('v3-guarantor-claim-paid', await h.client.workflow.getHandle(caseId).fetchHistory());
    await saveHistory('guarantor-claim-paid', await child.fetchHistory());
  });

  it('fails when the deadline passes unpaid, and proposes litigation that includes the guarantor', async () => {
    const policy = await addPolicyVersion(h.db, {
      ...STANDARD_POLICY,
      name: `claims-${randomUUID().slice(0, 8)}`,
      dayMs: 200,
      measureRules: { minHand: { litigation: 5 }, compliance: { publicNotice: false }, autoPropose: [], guarantorClaimDays: 5 },
    });
    const caseId = await openCase({ policy: policy.name, guarantors: [guarantor] });
    const claim = (await propose(OFFICER_LI, caseId, { type: 'guarantor_claim', rationale: 'the guarantor owns two flats', expectedRecovery: 50_000 })).json();
    expect((await decide(SUPERVISOR_WANG, caseId, claim.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, claim.measureId, 'in_progress', 'demanded')).statusCode).toBe(200);
    const measures = await eventually(async () => {
      const all = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}` })).json().measures as Record<string, unknown>[];
      return all.some((m) => m.type === 'litigation') ? all : undefined;
    });
    expect(measures).toEqual([
      expect.objectContaining({ measureId: claim.measureId, state: 'failed' }),
      expect.objectContaining({
        type: 'litigation',
        state: 'proposed',
        parties: ['borrower', 'guarantor:1'],
        rule: { policy: policy.name, version: policy.version, rule: 'litigation_after_failed_guarantor_claim' },
      }),
    ]);
    const outbox = await eventually(async () => {
      const rows = (await h.db.execute<{ template: string; party_role: string }>(
        sql`select template, party_role from notification_outbox where case_id = ${caseId} and template = 'guarantor_demand'`,
      )).rows;
      return rows.length > 0 ? rows : undefined;
    });
    expect(outbox).toEqual([{ template: 'guarantor_demand', party_role: 'guarantor' }]);
    await saveHistory('v3-guarantor-claim-missed', await h.client.workflow.getHandle(caseId).fetchHistory());
  });
});

describe('restructuring: the schedule watched instalment by instalment', () => {
  const dayMs = 300;
  const scheduleFrom = (caseDate: string, days: number[], amount: number) =>
    days.map((d) => ({ dueDate: msToDate(Date.parse(`${caseDate}T00:00:00Z`) + d * 86_400_000), amount }));
  async function restructured(
    rules: { graceDays: number; maxMisses: number },
    days: number[],
    extra: { type?: 'restructuring' | 'extension'; reentryHand?: Hand; dayMs?: number } = {},
  ) {
    const policy = await addPolicyVersion(h.db, {
      ...STANDARD_POLICY,
      name: `restructure-${randomUUID().slice(0, 8)}`,
      dayMs: extra.dayMs ?? dayMs,
      hands: STANDARD_POLICY.hands.map((rule, i) => ({ ...rule, entersAtDay: [0, 8, 400, 500, 600, 700][i]! })),
      measureRules: {
        minHand: {},
        compliance: { publicNotice: false },
        autoPropose: [],
        restructuring: rules,
        ...(extra.reentryHand ? { reentryHand: extra.reentryHand } : {}),
      },
    });
    const caseId = await openCase({ policy: policy.name, overdue: 200_000 });
    const caseDate = (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json().caseDate as string;
    const schedule = scheduleFrom(caseDate, days, 100_000);
    const wrong = await propose(OFFICER_LI, caseId, { type: 'restructuring', rationale: 'r', expectedRecovery: 1, schedule: scheduleFrom(caseDate, days, 90_000) });
    expect(expectProblem(wrong, 422)).toMatchObject({ reason: 'schedule_invalid', errors: [{ field: 'schedule' }] });
    const proposed = await propose(OFFICER_LI, caseId, { type: extra.type ?? 'restructuring', rationale: 'two instalments', expectedRecovery: 200_000, schedule });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const measure = proposed.json();
    expect((await decide(SUPERVISOR_WANG, caseId, measure.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, measure.measureId, 'in_progress', 'signed')).statusCode).toBe(200);
    return { caseId, measureId: measure.measureId as string };
  }
  const read = async (caseId: string) => (await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json();

  it('closes the case as recovered when every instalment is paid', async () => {
    const { caseId, measureId } = await restructured({ graceDays: 3, maxMisses: 2 }, [2, 4]);
    for (const reference of ['I-1', 'I-2']) {
      const res = await post(OFFICER_LI, `/v1/cases/${caseId}/payments`, { amount: 100_000, reference, paidAt: new Date().toISOString() });
      expect(res.statusCode, res.body).toBe(200);
    }
    const done = await read(caseId);
    expect(done.stage).toBe('recovered');
    expect(done.measures.find((m: { measureId: string }) => m.measureId === measureId)).toMatchObject({
      state: 'succeeded',
      schedule: [expect.objectContaining({ paid: 100_000 }), expect.objectContaining({ paid: 100_000 })],
    });
  });

  it('fails after the policy\'s number of misses; the ladder goes on from the hand the case left', async () => {
    const { caseId, measureId } = await restructured({ graceDays: 0, maxMisses: 2 }, [1, 2]);
    const failed = await eventually(async () => {
      const view = await read(caseId);
      return view.measures.find((m: { measureId: string; state: string }) => m.measureId === measureId && m.state === 'failed') ? view : undefined;
    });
    expect(failed).toMatchObject({ stage: 'collecting', hand: 1, nextAction: { type: 'escalate', hand: 2 } });
    const trail = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string }[];
    expect(trail.filter((e) => e.type === 'instalment_missed')).toHaveLength(2);
    await eventually(async () => ((await read(caseId)).hand === 2 ? true : undefined));
    await saveHistory('v3-restructuring-failed', await h.client.workflow.getHandle(caseId).fetchHistory());
  });

  it('an extension that fails sends the case to the policy\'s re-entry hand, naming the rule', async () => {
    const { caseId, measureId } = await restructured({ graceDays: 0, maxMisses: 1 }, [3, 4], { type: 'extension', reentryHand: 4, dayMs: 1_000 });
    const moved = await eventually(async () => {
      const view = await read(caseId);
      return view.hand === 4 ? view : undefined;
    });
    expect(moved.measures.find((m: { measureId: string }) => m.measureId === measureId)).toMatchObject({ type: 'extension', state: 'failed' });
    const trail = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string; payload: Record<string, unknown> }[];
    const entered = trail.filter((e) => (e.type === 'hand_entered' || e.type === 'hand_entered_late') && (e.payload.hand as number) > 1);
    // Hand 2 may come by days first on a slow machine (day 8 is 8 s in); 3 and 4 come by the rule.
    expect(entered.filter((e) => (e.payload.hand as number) >= 3).map((e) => [e.payload.hand, e.payload.reason])).toEqual([
      [3, 'reentry'],
      [4, 'reentry'],
    ]);
    expect(entered.at(-1)!.payload.after).toMatchObject({ measureId, rule: { rule: 'measureRules.reentryHand', hand: 4 } });
    await saveHistory('v6-extension-failed-reentry', await h.client.workflow.getHandle(caseId).fetchHistory());
  });
});

describe('measures tracked on the case: rent collection, field visits and other measures', () => {
  it('credits collected rent to the case as the measure\'s proceeds', async () => {
    const caseId = await openCase({ overdue: 500_000 });
    const rent = (await propose(OFFICER_LI, caseId, { type: 'rent_collection', rationale: 'the tenant pays rent to the bank', expectedRecovery: 300_000 })).json();
    expect(rent).toMatchObject({ type: 'rent_collection', state: 'proposed', covers: [caseId] });
    expect((await decide(SUPERVISOR_WANG, caseId, rent.measureId, 'approve')).statusCode).toBe(200);
    const month = await post(OFFICER_LI, `/v1/cases/${caseId}/measures/${rent.measureId}/progress`, {
      status: 'in_progress',
      note: 'March rent',
      proceeds: { reference: 'RENT-2026-03', gross: 120_000, costs: 20_000 },
    });
    expect(month.statusCode, month.body).toBe(200);
    expect(month.json()).toMatchObject({ state: 'in_progress', proceeds: [expect.objectContaining({ reference: 'RENT-2026-03', net: 100_000 })] });
    expect((await t.as(OFFICER_LI, { url: `/v1/cases/${caseId}` })).json()).toMatchObject({ recovered: 100_000, overdue: 400_000, stage: 'collecting' });
  });

  it('runs a field visit and an other measure through their lifecycle, and cancels one', async () => {
    const caseId = await openCase({ overdue: 500_000 });
    for (const type of ['field_visit', 'other'] as const) {
      const measure = (await propose(OFFICER_LI, caseId, { type, rationale: `a ${type}`, expectedRecovery: 0 })).json();
      expect((await decide(SUPERVISOR_WANG, caseId, measure.measureId, 'approve')).statusCode).toBe(200);
      expect((await report(OFFICER_LI, caseId, measure.measureId, 'in_progress', 'under way')).json()).toMatchObject({ state: 'in_progress' });
      expect((await report(OFFICER_LI, caseId, measure.measureId, 'succeeded', 'met the borrower')).json()).toMatchObject({ state: 'succeeded' });
    }
    const dropped = (await propose(OFFICER_LI, caseId, { type: 'other', rationale: 'ask the employer', expectedRecovery: 0 })).json();
    expect((await decide(SUPERVISOR_WANG, caseId, dropped.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, dropped.measureId, 'cancelled', 'borrower moved away')).json()).toMatchObject({ state: 'cancelled' });
    const done = await report(OFFICER_LI, caseId, dropped.measureId, 'succeeded', 'too late');
    expect(done.statusCode).toBe(409);
  });
});

describe('a guarantor claim covering two cases of one household (one guarantor backing both)', () => {
  it('shares the guarantor\'s payments under the claim between the loans, the payer named on each', async () => {
    const borrower = { name: 'Zhao Lei', idNumber: `11010119870${Math.floor(Math.random() * 1e7)}`, phone: '+8613600136000' };
    const guarantor = { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000', guaranteedAmount: 2_000_000 };
    const first = await openCase({ borrower, guarantors: [guarantor], overdue: 400_000, outstanding: 3_000_000 });
    const second = await openCase({ borrower, guarantors: [guarantor], overdue: 200_000, outstanding: 1_000_000 });
    const claim = (
      await propose(OFFICER_LI, first, { type: 'guarantor_claim', rationale: 'the guarantor backs both loans', expectedRecovery: 600_000, covers: [second] })
    ).json();
    expect(claim).toMatchObject({ type: 'guarantor_claim', covers: [first, second], allocation: 'pro_rata' });
    expect((await decide(SUPERVISOR_WANG, first, claim.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, first, claim.measureId, 'in_progress', 'demanded of the guarantor')).statusCode).toBe(200);

    const key = `g-${randomUUID()}`;
    const body = { amount: 300_000, reference: 'GUAR-1', paidAt: new Date().toISOString(), payer: 'guarantor:1' };
    const paid = await post(OFFICER_LI, `/v1/cases/${first}/payments`, body, key);
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ recovered: 200_000, overdue: 200_000 });
    expect((await post(OFFICER_LI, `/v1/cases/${first}/payments`, body, key)).statusCode).toBe(200); // a retry
    const other = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${second}` })).json();
    expect(other).toMatchObject({ recovered: 100_000, overdue: 100_000 });
    const payers = await h.db.execute<{ case_id: string; amount: string; payer: string; reference: string }>(
      sql`select case_id, amount, payer, reference from payments where case_id in (${first}, ${second}) order by case_id`,
    );
    expect(payers.rows.map((r) => [r.case_id, Number(r.amount), r.payer, r.reference]).sort()).toEqual(
      [
        [first, 200_000, 'guarantor:1', 'GUAR-1'],
        [second, 100_000, `measure:${claim.measureId}`, `GUAR-1@${claim.measureId}`],
      ].sort(),
    );
  });
});

describe('a collateral sale covering two cases of one household', () => {
  it('records the proceeds and the collateral\'s status, and shares the net pro rata among the cases, once', async () => {
    const borrower = { name: 'Wang Fang', idNumber: `11010119850${Math.floor(Math.random() * 1e7)}`, phone: '+8613700137000' };
    const first = await openCase({ borrower, overdue: 600_000, outstanding: 5_000_000 });
    const second = await openCase({ borrower, overdue: 300_000, outstanding: 2_000_000 });
    const stranger = await openCase({ overdue: 100_000 });
    expectProblem(await propose(OFFICER_LI, first, { type: 'collateral_sale', rationale: 'sell', expectedRecovery: 1, covers: [stranger] }), 400, ['covers.0']);
    const sale = (
      await propose(OFFICER_LI, first, { type: 'collateral_sale', rationale: 'sell the shop unit for both loans', expectedRecovery: 900_000, covers: [second] })
    ).json();
    expect(sale).toMatchObject({ covers: [first, second], allocation: 'pro_rata' });
    expect((await decide(SUPERVISOR_WANG, first, sale.measureId, 'approve')).statusCode).toBe(200);
    const seized = await post(OFFICER_LI, `/v1/cases/${first}/measures/${sale.measureId}/progress`, {
      status: 'in_progress',
      note: 'court seized the unit',
      collateral: { index: 0, status: 'seized' },
    });
    expect(seized.statusCode, seized.body).toBe(200);
    const key = `sale-${randomUUID()}`;
    const body = { status: 'succeeded', note: 'sold at auction', proceeds: { reference: 'AUCTION-7', gross: 1_000_000, costs: 100_000 }, collateral: { index: 0, status: 'sold' } };
    const sold = await post(OFFICER_LI, `/v1/cases/${first}/measures/${sale.measureId}/progress`, body, key);
    expect(sold.statusCode, sold.body).toBe(200);
    expect(sold.json().proceeds).toEqual([
      expect.objectContaining({
        reference: 'AUCTION-7',
        net: 900_000,
        allocated: [
          { caseId: first, amount: 600_000 },
          { caseId: second, amount: 300_000 },
        ],
      }),
    ]);
    expect((await post(OFFICER_LI, `/v1/cases/${first}/measures/${sale.measureId}/progress`, body, key)).statusCode).toBe(200); // a retry
    const one = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${first}` })).json();
    expect(one).toMatchObject({ recovered: 600_000, stage: 'recovered', collateralStatus: ['sold'] });
    const two = (await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${second}` })).json();
    expect(two).toMatchObject({ recovered: 300_000, stage: 'recovered' });
    const payers = await h.db.execute<{ case_id: string; amount: string; payer: string }>(
      sql`select case_id, amount, payer from payments where case_id in (${first}, ${second}) order by case_id`,
    );
    expect(payers.rows.map((r) => [r.case_id, Number(r.amount), r.payer]).sort()).toEqual(
      [
        [first, 600_000, `measure:${sale.measureId}`],
        [second, 300_000, `measure:${sale.measureId}`],
      ].sort(),
    );
  });
});

describe('a case recovered while measures are open', () => {
  it('cancels them and withdraws the suit it was running', async () => {
    const caseId = await openCase({ overdueSince: today(-95), overdue: 300_000, secured: false, collateral: [] });
    const suit = (await propose(OFFICER_LI, caseId, { type: 'litigation', rationale: 'file suit', expectedRecovery: 300_000 })).json();
    const visit = (await propose(OFFICER_LI, caseId, { type: 'field_visit', rationale: 'visit', expectedRecovery: 0 })).json();
    expect((await decide(SUPERVISOR_WANG, caseId, suit.measureId, 'approve')).statusCode).toBe(200);
    expect((await report(OFFICER_LI, caseId, suit.measureId, 'in_progress', 'filed')).statusCode).toBe(200);
    const child = h.client.workflow.getHandle(`${caseId}/litigation/${suit.measureId}`);
    await eventually(async () => ((await child.describe()).status.name === 'RUNNING' ? true : undefined));

    const paid = await post(OFFICER_LI, `/v1/cases/${caseId}/payments`, { amount: 300_000, paidAt: new Date().toISOString(), reference: 'SETTLED-IN-FULL' });
    expect(paid.json()).toMatchObject({ stage: 'recovered', nextAction: null });
    expect(paid.json().measures.map((m: { measureId: string; state: string }) => [m.measureId, m.state])).toEqual([
      [suit.measureId, 'cancelled'],
      [visit.measureId, 'cancelled'],
    ]);
    expect((await child.result()).outcome).toBe('withdrawn');
  });
});
