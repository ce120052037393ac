/**
 * Worklists and assignment through the API, on live case workflows: the officers registry,
 * least-loaded assignment at intake, bulk reassignment (by cases and by leaving officer), and the
 * worklist's order and branch scoping.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { eventually, newLoan } from '../support/fixtures';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const suffix = randomUUID().slice(0, 8);
const BRANCH = `TB${suffix}`;
const OTHER = `TO${suffix}`;
const ADMIN: Who = ['admin', 'admin-root'];
const CORE: Who = ['system', 'core-banking'];
const SUPERVISOR: Who = ['supervisor', 'supervisor-sun', BRANCH];
const OUTSIDER: Who = ['supervisor', 'supervisor-qian', OTHER];
const A = `off-a-${suffix}`;
const B = `off-b-${suffix}`;
const C = `off-c-${suffix}`;
const D = `off-d-${suffix}`;

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

const register = (body: object, who: Who = ADMIN) => t.as(who, { method: 'POST', url: '/v1/officers', payload: body });
const bulk = (who: Who, body: object, key: string) =>
  t.as(who, { method: 'POST', url: '/v1/assignments', payload: body, headers: { 'idempotency-key': key } });

async function intake(overrides: Record<string, unknown> = {}): Promise<{ caseId: string; officerId: string | null }> {
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan({ branch: BRANCH }), officerId: undefined, ...overrides } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().case;
}
const officerOf = async (caseId: string) => (await t.as(SUPERVISOR, { url: `/v1/cases/${caseId}` })).json().officerId as string | null;
const assignedEvents = async (caseId: string) =>
  ((await t.as(SUPERVISOR, { url: `/v1/cases/${caseId}/events?limit=200` })).json().items as { type: string }[]).filter((e) => e.type === 'officer_assigned').length;

const opened: string[] = [];

describe('the officers registry', () => {
  it('registers and updates officers (admins only) and lists them by branch with their load', async () => {
    expect((await register({ id: A, branch: BRANCH, active: true, capacity: 2 })).statusCode).toBe(201);
    expect((await register({ id: B, branch: BRANCH, active: true, capacity: 1 })).statusCode).toBe(201);
    expect((await register({ id: C, branch: BRANCH, active: true, capacity: 10 })).statusCode).toBe(201);
    const updated = await register({ id: C, branch: BRANCH, active: false, capacity: 10 });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json()).toMatchObject({ id: C, active: false, capacity: 10, load: 0 });
    expectProblem(await register({ id: D, branch: BRANCH, active: true, capacity: 10 }, SUPERVISOR), 403);
    expectProblem(await register({ id: D, branch: BRANCH, active: true, capacity: -1 }), 400, ['capacity']);
    // D takes reassignments but no new case by itself (capacity 0).
    expect((await register({ id: D, branch: BRANCH, active: true, capacity: 0 })).statusCode).toBe(201);

    const listed = await t.as(SUPERVISOR, { url: '/v1/officers' });
    expect(listed.statusCode, listed.body).toBe(200);
    expect(listed.json().items.map((o: { id: string }) => o.id)).toEqual([A, B, C, D]);
    expect((await t.as(ADMIN, { url: `/v1/officers?branch=${BRANCH}` })).json().items).toHaveLength(4);
    expect((await t.as(OUTSIDER, { url: '/v1/officers' })).json().items).toEqual([]);
    expectProblem(await t.as(OUTSIDER, { url: `/v1/officers?branch=${BRANCH}` }), 403);
    expectProblem(await t.as(['officer', A, BRANCH], { url: '/v1/officers' }), 403);
  });
});

describe('least-loaded assignment at intake', () => {
  it('gives each new case without an officer to the least-loaded active officer below capacity, else none', async () => {
    // C is inactive and D at capacity (both skipped); A takes two, B one; ties go by officer id.
    const expected = [A, B, A, null];
    for (const officer of expected) {
      const kase = await intake();
      opened.push(kase.caseId);
      expect(kase.officerId).toBe(officer);
    }
    // An officer named at intake is kept as named, capacity or not.
    const named = await intake({ officerId: B });
    expect(named.officerId).toBe(B);
    opened.push(named.caseId);
    const loads = Object.fromEntries(((await t.as(SUPERVISOR, { url: '/v1/officers' })).json().items as { id: string; load: number }[]).map((o) => [o.id, o.load]));
    expect(loads).toMatchObject({ [A]: 2, [B]: 2, [C]: 0, [D]: 0 });
    // A branch without registered officers opens its cases unassigned.
    expect((await intake({ branch: OTHER })).officerId).toBeNull();
  });
});

describe('bulk reassignment', () => {
  it('hands listed cases on, each through its case, once; reports every case; stays within the branch', async () => {
    const [c1, c2, c3, c4, c5] = opened as [string, string, string, string, string];
    const key = `bulk-${randomUUID()}`;
    const missing = `case-NOPE${suffix}`;
    const res = await bulk(SUPERVISOR, { caseIds: [c2, c4, missing], officerId: D }, key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      officerId: D,
      items: [
        { caseId: c2, outcome: 'assigned', requestId: `${key}:${c2}` },
        { caseId: c4, outcome: 'assigned' },
        { caseId: missing, outcome: 'not_found' },
      ],
      counts: { assigned: 2, not_found: 1 },
    });
    expect(await officerOf(c2)).toBe(D);
    expect(await officerOf(c4)).toBe(D);

    // The same request again has no second effect: the cases answer as they did.
    const retried = await bulk(SUPERVISOR, { caseIds: [c2, c4, missing], officerId: D }, key);
    expect(retried.json().counts).toEqual({ assigned: 2, not_found: 1 });
    expect(await assignedEvents(c2)).toBe(1);
    expect(await assignedEvents(c4)).toBe(1);

    // A new request to the officer a case already has: already assigned (same_officer).
    const again = await bulk(SUPERVISOR, { caseIds: [c2, c5], officerId: D }, `bulk-${randomUUID()}`);
    expect(again.json().items).toEqual([
      expect.objectContaining({ caseId: c2, outcome: 'already_assigned', reason: 'same_officer' }),
      expect.objectContaining({ caseId: c5, outcome: 'assigned' }),
    ]);

    // The target must be an active registered officer of the case's branch.
    expectProblem(await bulk(SUPERVISOR, { caseIds: [c1], officerId: C }, `bulk-${randomUUID()}`), 400, ['officerId']);
    const ghost = await bulk(SUPERVISOR, { caseIds: [c1], officerId: `ghost-${suffix}` }, `bulk-${randomUUID()}`);
    expect(ghost.json().items).toEqual([expect.objectContaining({ caseId: c1, outcome: 'refused', reason: 'officer_not_registered' })]);
    expectProblem(await bulk(SUPERVISOR, { caseIds: [c1], fromOfficerId: A, officerId: D }, `bulk-${randomUUID()}`), 400, ['fromOfficerId']);
    expectProblem(await bulk(SUPERVISOR, { officerId: D }, `bulk-${randomUUID()}`), 400, ['caseIds']);

    const elsewhere = `off-e-${suffix}`;
    expect((await register({ id: elsewhere, branch: OTHER, active: true, capacity: 5 })).statusCode).toBe(201);
    const foreign = await bulk(ADMIN, { caseIds: [c1], officerId: elsewhere }, `bulk-${randomUUID()}`);
    expect(foreign.json().items).toEqual([
      expect.objectContaining({ caseId: c1, outcome: 'refused', reason: 'officer_not_of_branch', detail: { officerId: elsewhere, officerBranch: OTHER, caseBranch: BRANCH } }),
    ]);

    // Outsiders and officers may not; to an outsider, another branch's case is a missing one.
    const outsider = await bulk(OUTSIDER, { caseIds: [c1, `case-MISSING-${suffix}`], officerId: D }, `bulk-${randomUUID()}`);
    expect(outsider.statusCode, outsider.body).toBe(200);
    expect(outsider.json().items.map((i: { outcome: string }) => i.outcome)).toEqual(['not_found', 'not_found']);
    expectProblem(await bulk(OUTSIDER, { fromOfficerId: A, officerId: D }, `bulk-${randomUUID()}`), 403);
    expectProblem(await bulk(['officer', A, BRANCH], { caseIds: [c1], officerId: D }, `bulk-${randomUUID()}`), 403);
    expect(await officerOf(c1)).toBe(A);
    expect(c3).toBeDefined();
  });

  it('hands every open case of a leaving officer on in one step, once', async () => {
    const [c1, , c3] = opened as [string, string, string];
    const key = `leave-${randomUUID()}`;
    const res = await bulk(SUPERVISOR, { fromOfficerId: A, officerId: D }, key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items).toEqual([c1, c3].sort().map((caseId) => expect.objectContaining({ caseId, outcome: 'assigned' })));
    expect(await officerOf(c1)).toBe(D);
    expect(await officerOf(c3)).toBe(D);
    const retried = await bulk(SUPERVISOR, { fromOfficerId: A, officerId: D }, key);
    expect(retried.json()).toMatchObject({ items: [], counts: {} });
    expect(await assignedEvents(c1)).toBe(1);
    const loads = Object.fromEntries(((await t.as(SUPERVISOR, { url: '/v1/officers' })).json().items as { id: string; load: number }[]).map((o) => [o.id, o.load]));
    expect(loads).toMatchObject({ [A]: 0, [B]: 0, [D]: 5 });
  });
});

describe('the worklist', () => {
  type Item = { kind: string; id: string; caseId: string; branch: string; officerId: string | null; dueAt: string | null };
  const order = (items: Item[]) => items.map((i) => i.dueAt ?? '9999');

  it("lists an officer's open tasks and cases, due first, and scopes them to the branch", async () => {
    const mine = await eventually(async () => {
      const res = await t.as(['officer', D, BRANCH], { url: '/v1/worklist?limit=200' });
      expect(res.statusCode, res.body).toBe(200);
      const items = res.json().items as Item[];
      return items.filter((i) => i.kind === 'task').length >= 5 ? items : undefined;
    });
    expect(new Set(mine.filter((i) => i.kind === 'case').map((i) => i.caseId))).toEqual(new Set(opened));
    expect(mine.every((i) => i.officerId === D && i.branch === BRANCH)).toBe(true);
    const due = order(mine).map((d) => Date.parse(d === '9999' ? '9999-01-01T00:00:00Z' : d));
    expect(due).toEqual([...due].sort((a, b) => a - b));
    // Tasks (due now) come before the cases' next escalation (days away).
    expect(mine[0]!.kind).toBe('task');
    const body = JSON.stringify(mine);
    expect(body).not.toContain('Zhang Wei');
    expect(body).not.toContain('+8613800138000');

    // Pages of two give the same list.
    const paged: Item[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.as(['officer', D, BRANCH], { url: `/v1/worklist?limit=2${cursor ? `&cursor=${cursor}` : ''}` });
      paged.push(...(res.json().items as Item[]));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(paged.map((i) => i.id)).toEqual(mine.map((i) => i.id));

    expect((await t.as(['officer', A, BRANCH], { url: '/v1/worklist' })).json().items).toEqual([]);
    expectProblem(await t.as(['officer', A, BRANCH], { url: `/v1/worklist?officerId=${D}` }), 403);

    const branch = (await t.as(SUPERVISOR, { url: `/v1/worklist?officerId=${D}&limit=200` })).json().items as Item[];
    expect(branch.map((i) => i.id)).toEqual(mine.map((i) => i.id));
    const all = (await t.as(SUPERVISOR, { url: '/v1/worklist?limit=200' })).json().items as Item[];
    expect(all.every((i) => i.branch === BRANCH)).toBe(true);
    const outside = (await t.as(OUTSIDER, { url: '/v1/worklist?limit=200' })).json().items as Item[];
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.every((i) => i.branch === OTHER)).toBe(true);
    expectProblem(await t.as(OUTSIDER, { url: `/v1/worklist?branch=${BRANCH}` }), 403);
  });
});
