/**
 * Recovery likelihood and amount tiers on live cases: computed by the policy's rules (each
 * change naming the rule and version), overridden by an officer with a reason and withdrawn,
 * kept in the ledger and as search attributes, and filtering GET /v1/cases.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPolicyVersion } from '../../db/policies';
import { STANDARD_POLICY } from '../../db/seed';
import { amountTierKey, recoveryLikelihoodKey, type CollectionPolicy, type Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { eventually, newLoan } from '../support/fixtures';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const OFFICER: Who = ['officer', 'officer-li', 'BR01'];
const SUPERVISOR: Who = ['supervisor', 'supervisor-wang', 'BR01'];
const CORE: Who = ['system', 'core-banking'];

let h: CaseHarness;
let t: ApiTest;
let policy: CollectionPolicy;
beforeAll(async () => {
  h = await startCaseHarness();
  t = await build({ harness: h });
  policy = await addPolicyVersion(h.db, {
    ...STANDARD_POLICY,
    name: `classify-${randomUUID().slice(0, 8)}`,
    classification: {
      rules: [
        { rule: 'borrower_refuses', likelihood: 'unlikely', when: { lastContactOutcomes: ['refused'] } },
        { rule: 'promise_broken', likelihood: 'difficult', when: { minBrokenPromises: 1 } },
      ],
      otherwise: 'likely',
    },
    amountTiers: [{ tier: 'large', minOutstanding: 30_000_000 }],
  });
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

const post = (who: Who, url: string, payload: object) => t.as(who, { method: 'POST', url, payload, headers: { 'idempotency-key': randomUUID() } });
const read = async (caseId: string) => (await t.as(SUPERVISOR, { url: `/v1/cases/${caseId}` })).json();
const trail = async (caseId: string) =>
  ((await t.as(SUPERVISOR, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string; payload: Record<string, unknown>; actor: { sub: string } }[]);

describe('classification by the policy\'s rules', () => {
  let caseId: string;

  it('classifies at intake, names the rule and version, and sets the search attributes', async () => {
    const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan({ overdue: 5_000_000, outstanding: 32_000_000 }), policy: policy.name } });
    expect(res.statusCode, res.body).toBe(201);
    caseId = res.json().case.caseId;
    expect(res.json().case).toMatchObject({
      classification: { likelihood: 'likely', computed: { likelihood: 'likely', rule: 'otherwise', policy: { name: policy.name, version: policy.version } }, override: null },
      tier: 'large',
    });
    const attributes = await eventually(async () => {
      const { typedSearchAttributes } = await h.client.workflow.getHandle(caseId).describe();
      return typedSearchAttributes.get(recoveryLikelihoodKey) ? typedSearchAttributes : undefined;
    });
    expect(attributes.get(recoveryLikelihoodKey)).toBe('likely');
    expect(attributes.get(amountTierKey)).toBe('large');
  });

  it('reclassifies on a refused contact, naming the rule that changed it', async () => {
    const res = await post(OFFICER, `/v1/cases/${caseId}/contacts`, { channel: 'phone', outcome: 'refused' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().classification).toMatchObject({ likelihood: 'unlikely', computed: { rule: 'borrower_refuses' } });
    const classified = (await trail(caseId)).filter((e) => e.type === 'case_classified');
    expect(classified.map((e) => (e.payload.computed as { rule: string }).rule)).toEqual(['otherwise', 'borrower_refuses']);
    expect(classified[1]!.payload).toMatchObject({ previous: { likelihood: 'likely', rule: 'otherwise' }, computed: { policy: { version: policy.version } } });
  });

  it('takes an officer\'s override with a reason, refuses one that changes nothing, and withdraws it', async () => {
    const overridden = await post(OFFICER, `/v1/cases/${caseId}/classification`, { likelihood: 'difficult', reason: 'his brother offered to help' });
    expect(overridden.statusCode, overridden.body).toBe(200);
    expect(overridden.json().classification).toMatchObject({
      likelihood: 'difficult',
      computed: { likelihood: 'unlikely' },
      override: { likelihood: 'difficult', reason: 'his brother offered to help', by: { sub: 'officer-li' } },
    });
    const again = await post(OFFICER, `/v1/cases/${caseId}/classification`, { likelihood: 'difficult', reason: 'still' });
    expect(expectProblem(again, 409)).toMatchObject({ reason: 'classification_unchanged' });
    expectProblem(await post(OFFICER, `/v1/cases/${caseId}/classification`, { likelihood: 'certain', reason: 'x' }), 400, ['likelihood']);

    const audited = (await trail(caseId)).find((e) => e.type === 'classification_overridden');
    expect(audited).toMatchObject({ actor: { sub: 'officer-li' }, payload: { likelihood: 'difficult', previous: 'unlikely', reason: 'his brother offered to help' } });

    const withdrawn = await post(OFFICER, `/v1/cases/${caseId}/classification`, { likelihood: null, reason: 'the brother withdrew' });
    expect(withdrawn.json().classification).toMatchObject({ likelihood: 'unlikely', override: null });
    await saveHistory('v6-classification-override', await h.client.workflow.getHandle(caseId).fetchHistory());
  });

  it('moves to a lower tier when a payment brings the balance under the threshold', async () => {
    const res = await post(OFFICER, `/v1/cases/${caseId}/payments`, { amount: 2_500_000, reference: `P-${randomUUID().slice(0, 6)}`, paidAt: new Date().toISOString() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ stage: 'collecting', outstanding: 29_500_000, tier: 'small' });
    expect((await trail(caseId)).filter((e) => e.type === 'case_classified').at(-1)!.payload).toMatchObject({ tier: 'small' });
  });

  it('filters the ledger by likelihood and tier', async () => {
    const small = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan({ outstanding: 2_000_000 }), policy: policy.name } });
    expect(small.statusCode, small.body).toBe(201);
    const smallId = small.json().case.caseId as string;
    expect(small.json().case.tier).toBe('small');
    const unlikely = (await t.as(SUPERVISOR, { url: '/v1/cases?likelihood=unlikely&tier=small&limit=200' })).json().items.map((c: { caseId: string }) => c.caseId);
    expect(unlikely).toContain(caseId);
    expect(unlikely).not.toContain(smallId);
    const likely = (await t.as(SUPERVISOR, { url: '/v1/cases?likelihood=likely&tier=small&limit=200' })).json().items.map((c: { caseId: string }) => c.caseId);
    expect(likely).toContain(smallId);
    expect(likely).not.toContain(caseId);
  });
});
