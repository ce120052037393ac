/**
 * Policies as data through the API on the real PostgreSQL and Temporal server: versions added
 * by admins and validated with every problem named, immutable once written, compared, and the
 * version a case opened with kept by the case and filterable in the ledger.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STANDARD_POLICY } from '../../db/seed';
import type { Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { newLoan } from '../support/fixtures';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const ADMIN: Who = ['admin', 'admin-root'];
const SUPERVISOR: Who = ['supervisor', 'supervisor-sun', 'BR01'];
const CORE: Who = ['system', 'core-banking'];

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

const NAME = `pol-${randomUUID().slice(0, 8)}`;
const { name: _name, ...standardBody } = STANDARD_POLICY;

const addVersion = (body: object, who: Who = ADMIN, name = NAME) =>
  t.as(who, { method: 'POST', url: `/v1/policies/${name}/versions`, payload: body });

describe('POST /v1/policies/:name/versions', () => {
  it('adds version 1, then version 2, each immutable and readable', async () => {
    const first = await addVersion({ ...standardBody, description: 'first' });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers.location).toBe(`/v1/policies/${NAME}/versions/1`);
    expect(first.json()).toMatchObject({ name: NAME, version: 1, description: 'first', hands: STANDARD_POLICY.hands });

    const hands = STANDARD_POLICY.hands.map((rule) => (rule.hand === 3 ? { ...rule, entersAtDay: rule.entersAtDay + 5 } : rule));
    const second = await addVersion({ ...standardBody, description: 'second', hands, allocationOrder: ['legalCosts', 'fees', 'principal', 'interest', 'penaltyInterest'] });
    expect(second.statusCode, second.body).toBe(201);
    expect(second.json()).toMatchObject({ version: 2, allocationOrder: ['legalCosts', 'fees', 'principal', 'interest', 'penaltyInterest'] });

    const read = await t.as(SUPERVISOR, { url: `/v1/policies/${NAME}/versions/1` });
    expect(read.json()).toMatchObject({ version: 1, description: 'first' });
    const list = await t.as(SUPERVISOR, { url: '/v1/policies' });
    expect(list.json().items).toContainEqual(expect.objectContaining({ name: NAME, latestVersion: 2, versions: [1, 2], description: 'second' }));

    // Not even the table's owner may change a version.
    await expect(h.db.execute(sql`update collection_policies set description = 'edited' where name = ${NAME} and version = 1`)).rejects.toThrow();
    await expect(h.db.execute(sql`delete from collection_policies where name = ${NAME}`)).rejects.toThrow();
  });

  it('names every problem of a bad version at once, and stores nothing', async () => {
    const hands = STANDARD_POLICY.hands.map((rule) => ({ ...rule }));
    hands[0] = { ...hands[0]!, entersAtDay: 3 };
    hands[4] = { ...hands[4]!, entersAtDay: hands[3]!.entersAtDay };
    hands[1] = { ...hands[1]!, actions: [...hands[1]!.actions, hands[1]!.actions[0]!] };
    const res = await addVersion({
      ...standardBody,
      hands,
      allocationOrder: ['fees', 'fees', 'interest', 'principal'],
      measureRules: {
        minHand: { litigation: 5 },
        compliance: { publicNotice: false },
        autoPropose: [
          { rule: 'sue_early', atHand: 2, type: 'litigation', when: 'secured', rationale: 'too early' },
          { rule: 'notice', atHand: 5, type: 'public_notice', when: 'always', rationale: 'not allowed' },
        ],
      },
    }, ADMIN, `${NAME}-bad`);
    const body = expectProblem(res, 400, [
      'hands[0].entersAtDay',
      'hands[4].entersAtDay',
      `hands[1].actions[${STANDARD_POLICY.hands[1]!.actions.length}]`,
      'allocationOrder[1]',
      'allocationOrder',
      'measureRules.autoPropose[0].atHand',
      'measureRules.autoPropose[1].type',
    ]);
    expect((body.errors as unknown[]).length).toBeGreaterThanOrEqual(7);
    expect((await t.as(SUPERVISOR, { url: `/v1/policies/${NAME}-bad/versions/1` })).statusCode).toBe(404);
  });

  it('refuses what the schema forbids, naming the field', async () => {
    expectProblem(await addVersion({ ...standardBody, dayMs: 5 }), 400, ['dayMs']);
    expectProblem(await addVersion({ ...standardBody, allocationOrder: ['costs'] }), 400, ['allocationOrder.0']);
  });

  it('is for admins only', async () => {
    expectProblem(await addVersion(standardBody, SUPERVISOR), 403);
  });
});

describe('GET /v1/policies/:name/diff', () => {
  it('lists where two versions differ', async () => {
    const res = await t.as(SUPERVISOR, { url: `/v1/policies/${NAME}/diff?from=1&to=2` });
    expect(res.statusCode, res.body).toBe(200);
    const paths = (res.json().changes as { path: string; from: unknown; to: unknown }[]);
    expect(paths).toEqual(
      expect.arrayContaining([
        { path: 'description', from: 'first', to: 'second' },
        { path: 'hands[2].entersAtDay', from: STANDARD_POLICY.hands[2]!.entersAtDay, to: STANDARD_POLICY.hands[2]!.entersAtDay + 5 },
        { path: 'allocationOrder', from: null, to: ['legalCosts', 'fees', 'principal', 'interest', 'penaltyInterest'] },
      ]),
    );
    expect(paths).toHaveLength(3);
    expectProblem(await t.as(SUPERVISOR, { url: `/v1/policies/${NAME}/diff?from=1&to=9` }), 404);
  });
});

describe('running cases keep their version', () => {
  it('a case opened under version 2 stays on it after version 3, and the ledger filters by version', async () => {
    const opened = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan(), policy: NAME } });
    expect(opened.statusCode, opened.body).toBe(201);
    const caseId = opened.json().case.caseId as string;
    expect(opened.json().case.policy).toEqual({ name: NAME, version: 2 });

    expect((await addVersion({ ...standardBody, description: 'third' })).statusCode).toBe(201);
    const later = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan(), policy: NAME } });
    expect(later.json().case.policy).toEqual({ name: NAME, version: 3 });

    const onTwo = await t.as(SUPERVISOR, { url: `/v1/cases?policyName=${NAME}&policyVersion=2` });
    expect(onTwo.json().items.map((c: { caseId: string }) => c.caseId)).toEqual([caseId]);
    expectProblem(await t.as(SUPERVISOR, { url: '/v1/cases?policyVersion=2' }), 400, ['policyVersion']);
  });
});
