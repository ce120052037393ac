/**
 * The risk watch through the API, on live workflows: a loan watched before it is overdue, an exit
 * plan decided by four eyes and carried out; a watch handing over to the collection case when
 * intake opens one for its loan (the case records the watch in its trail); a large customer's
 * visit schedule raising tasks, on the worklists of its officer and branch; large by its own
 * currency's threshold; reads scoped to the caller's branch.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestPolicy } from '../../db/policies';
import { watchEvents, watchTasks } from '../../db/schema';
import type { Role } from '../../domain';
import { startCase } from '../../temporal/open-case';
import { saveHistory } from '../support/histories';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { SYSTEM, eventually, newLoan, testPolicy } from '../support/fixtures';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const OFFICER_LI: Who = ['officer', 'officer-li', 'BR01'];
const OFFICER_BR02: Who = ['officer', 'officer-zhao', 'BR02'];
const SUPERVISOR_WANG: Who = ['supervisor', 'supervisor-wang', 'BR01'];
const SUPERVISOR_ZHOU: Who = ['supervisor', 'supervisor-zhou', 'BR01'];
const SUPERVISOR_BR02: Who = ['supervisor', 'supervisor-sun', 'BR02'];
/** Large customers from CNY 10 million or USD 1.5 million; no threshold for other currencies. */
const THRESHOLDS = 'CNY:1000000000,USD:150000000';
/** Above the CNY threshold. */
const LARGE = 2_000_000_000;

let h: CaseHarness;
let t: ApiTest;
beforeAll(async () => {
  h = await startCaseHarness();
  t = await build({ harness: h, env: { WATCH_LARGE_LOAN_MIN_OUTSTANDING: THRESHOLDS } });
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

const post = (who: Who, url: string, payload: object, key?: string) =>
  t.as(who, { method: 'POST', url, payload, headers: key ? { 'idempotency-key': key } : {} });

const loanId = () => `LN${randomUUID().slice(0, 8).toUpperCase()}`;

const watchBody = (overrides: object = {}) => ({
  loanId: loanId(),
  branch: 'BR01',
  currency: 'CNY',
  outstanding: 32_000_000,
  officerId: 'officer-li',
  trigger: 'second_mortgage',
  note: 'second mortgage found at the post-loan inspection',
  ...overrides,
});

async function openWatch(body: object): Promise<string> {
  const res = await post(SUPERVISOR_WANG, '/v1/watches', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().watch.watchId;
}

const eventTypes = async (watchId: string) =>
  (await h.db.select({ type: watchEvents.type }).from(watchEvents).where(eq(watchEvents.watchId, watchId))).map((e) => e.type);

describe('a risk watch exiting the customer', () => {
  it('takes an exit plan by four eyes and ends as exited; refuses what its state forbids', async () => {
    const body = watchBody();
    const key = `open-${randomUUID()}`;
    const opened = await post(SUPERVISOR_WANG, '/v1/watches', body, key);
    expect(opened.statusCode, opened.body).toBe(201);
    const { watch } = opened.json();
    expect(watch).toMatchObject({ watchId: `watch-${body.loanId}`, state: 'watching', trigger: 'second_mortgage', visitEveryDays: null, exitPlan: [] });
    expect(opened.headers.location).toBe(`/v1/watches/watch-${body.loanId}`);
    // A retry answers as the first did; another intake of the loan finds the running watch.
    const retried = await post(SUPERVISOR_WANG, '/v1/watches', body, key);
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.json().watch.openedAt).toBe(watch.openedAt);
    const again = await post(SUPERVISOR_WANG, '/v1/watches', { ...body, trigger: 'fund_misuse' });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ created: false, watch: { openedAt: watch.openedAt, trigger: 'second_mortgage' } });
    const base = `/v1/watches/${watch.watchId}`;

    // The officer proposes moving the loan to another bank; a supervisor proposes a property sale.
    const transfer = await post(OFFICER_LI, `${base}/exit-measures`, { type: 'transfer_to_other_bank', rationale: 'another bank offers to refinance' });
    expect(transfer.statusCode, transfer.body).toBe(201);
    expect(transfer.json()).toMatchObject({ type: 'transfer_to_other_bank', state: 'proposed', proposedBy: { sub: 'officer-li' } });
    const sale = await post(SUPERVISOR_WANG, `${base}/exit-measures`, { type: 'property_sale_settlement', rationale: 'the shop unit sells above the balance' });
    expect(sale.statusCode, sale.body).toBe(201);
    const saleId = sale.json().measureId;

    // One open measure of each type; decisions only by supervisors, never the proposer's own.
    const twice = expectProblem(await post(OFFICER_LI, `${base}/exit-measures`, { type: 'transfer_to_other_bank', rationale: 'again' }), 409);
    expect(twice.reason).toBe('measure_already_open');
    expectProblem(await post(OFFICER_LI, `${base}/exit-measures/${saleId}/decision`, { decision: 'approve', reason: 'mine to decide' }), 403);
    const ownDecision = expectProblem(await post(SUPERVISOR_WANG, `${base}/exit-measures/${saleId}/decision`, { decision: 'approve', reason: 'my own plan' }), 409);
    expect(ownDecision).toMatchObject({ reason: 'four_eyes', accepted: { proposedBy: { sub: 'supervisor-wang' } } });
    // Not exited by a measure nobody approved.
    const unapproved = expectProblem(await post(OFFICER_LI, `${base}/exit`, { measureId: saleId, note: 'sold' }), 409);
    expect(unapproved).toMatchObject({ reason: 'exit_measure_not_approved', accepted: { state: 'proposed' } });

    const approved = await post(SUPERVISOR_ZHOU, `${base}/exit-measures/${saleId}/decision`, { decision: 'approve', reason: 'the valuation covers the loan' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ state: 'approved', decision: { decision: 'approve', by: { sub: 'supervisor-zhou' } } });
    const decidedTwice = expectProblem(await post(SUPERVISOR_ZHOU, `${base}/exit-measures/${saleId}/decision`, { decision: 'reject', reason: 'changed my mind' }), 409);
    expect(decidedTwice.reason).toBe('measure_already_decided');

    const exited = await post(OFFICER_LI, `${base}/exit`, { measureId: saleId, note: 'the loan was settled from the sale' });
    expect(exited.statusCode, exited.body).toBe(200);
    expect(exited.json().state).toBe('exited');
    const plan = Object.fromEntries((exited.json().exitPlan as { type: string; state: string }[]).map((m) => [m.type, m.state]));
    expect(plan).toEqual({ transfer_to_other_bank: 'cancelled', property_sale_settlement: 'succeeded' });

    // An ended watch takes no more messages.
    const closed = expectProblem(await post(OFFICER_LI, `${base}/visits`, { summary: 'visited after all' }), 409);
    expect(closed.reason).toBe('watch_closed');

    const detail = await t.as(SUPERVISOR_WANG, { url: base });
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json()).toMatchObject({ state: 'exited', closedAt: expect.any(String) });
    expect((detail.json().events as { type: string }[]).map((e) => e.type)).toEqual([
      'watch_opened',
      'exit_measure_proposed',
      'exit_measure_proposed',
      'exit_measure_approved',
      'exit_measure_cancelled',
      'watch_exited',
    ]);
    // The trail is append-only.
    const tampering = await h.db.update(watchEvents).set({ type: 'tampered' }).where(eq(watchEvents.watchId, watch.watchId)).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(tampering?.cause).toMatchObject({ message: expect.stringMatching(/watch_events is append-only: UPDATE refused/) });
    await saveHistory('watch-exited', await h.client.workflow.getHandle(watch.watchId).fetchHistory());
  });

  it('lists watches by filter within the caller\'s branch, and hides other branches\' watches', async () => {
    const watchId = await openWatch(watchBody({ trigger: 'fund_misuse' }));
    const list = await t.as(SUPERVISOR_WANG, { url: '/v1/watches?trigger=fund_misuse&state=watching&limit=200' });
    expect(list.statusCode, list.body).toBe(200);
    expect((list.json().items as { watchId: string }[]).map((w) => w.watchId)).toContain(watchId);
    const outsider = await t.as(OFFICER_BR02, { url: '/v1/watches?limit=200' });
    const seen = outsider.json().items as { watchId: string; branch: string }[];
    expect(seen.map((w) => w.watchId)).not.toContain(watchId);
    expect(seen.every((w) => w.branch === 'BR02')).toBe(true);
    expectProblem(await t.as(OFFICER_BR02, { url: '/v1/watches?branch=BR01' }), 403);
    expectProblem(await t.as(OFFICER_BR02, { url: `/v1/watches/${watchId}` }), 404);
    expectProblem(await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ trigger: 'rumours' })), 400, ['trigger']);
    expectProblem(await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ visitEveryDays: 7 })), 400, ['visitEveryDays']);
  });
});

describe('a watch when its loan goes overdue', () => {
  it('hands over to the case intake opens, which records the watch in its trail', async () => {
    const loan = newLoan({ branch: 'BR01' });
    const watchId = await openWatch(watchBody({ loanId: loan.loanId, trigger: 'origination_against_review_advice' }));
    const proposed = await post(OFFICER_LI, `/v1/watches/${watchId}/exit-measures`, { type: 'restructuring', rationale: 'turnover fell by half' });
    expect(proposed.statusCode, proposed.body).toBe(201);

    const opened = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: loan });
    expect(opened.statusCode, opened.body).toBe(201);
    const caseId = opened.json().case.caseId;

    const watch = await eventually(async () => {
      const res = await t.as(SUPERVISOR_WANG, { url: `/v1/watches/${watchId}` });
      const body = res.json() as { state: string; events: { type: string }[]; exitPlan: { state: string }[] };
      return body.state === 'handed_over' ? body : undefined;
    });
    expect(watch).toMatchObject({ caseId, closedAt: expect.any(String) });
    expect(watch.exitPlan.map((m) => m.state)).toEqual(['cancelled']);
    expect(watch.events.map((e) => e.type).slice(-2)).toEqual(['exit_measure_cancelled', 'watch_handed_over']);

    const linked = await eventually(async () => {
      const res = await t.as(SUPERVISOR_WANG, { url: `/v1/cases/${caseId}/events?limit=200` });
      return (res.json().items as { type: string; payload: Record<string, unknown> }[]).find((e) => e.type === 'watch_linked');
    });
    expect(linked.payload).toMatchObject({
      watchId,
      trigger: 'origination_against_review_advice',
      events: watch.events.length,
      exitPlan: [{ type: 'restructuring', state: 'cancelled' }],
    });

    await saveHistory('watch-handed-over', await h.client.workflow.getHandle(watchId).fetchHistory());
    await saveHistory('v9-watch-linked', await h.client.workflow.getHandle(caseId).fetchHistory());

    // The loan is in recovery now: no new watch while its case is open.
    const refused = expectProblem(await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ loanId: loan.loanId })), 409);
    expect(refused.reason).toBe('case_open');
  });
});

interface WorklistEntry {
  kind: string;
  id: string;
  caseId: string | null;
  watchId: string | null;
  type: string | null;
  dueAt: string | null;
  hand: number | null;
  stage: string | null;
}

/** Every page of a caller's worklist. */
async function worklist(who: Who, query = ''): Promise<WorklistEntry[]> {
  const items: WorklistEntry[] = [];
  let cursor: string | null = null;
  do {
    const res = await t.as(who, { url: `/v1/worklist?limit=200${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}` });
    expect(res.statusCode, res.body).toBe(200);
    items.push(...(res.json().items as WorklistEntry[]));
    cursor = res.json().nextCursor;
  } while (cursor);
  return items;
}

describe('visits to a large customer', () => {
  it('raises visit tasks on the watch\'s schedule, on the worklists of its officer and branch, done when reported, gone when the watch ends', async () => {
    // 400 ms a day, a visit every 2 days: the first falls due 0.8 s after opening.
    const policy = await testPolicy(h.db, { dayMs: 400, entersAtDays: [0, 1_000, 2_000, 3_000, 4_000, 5_000] });
    const small = await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ policy: policy.name }));
    expect(small.json().watch).toMatchObject({ visitEveryDays: null, nextVisitAt: null });

    // An officer of their own, so the worklists of this test are theirs alone.
    const officer: Who = ['officer', `officer-${randomUUID().slice(0, 8)}`, 'BR01'];
    const watchId = await openWatch(watchBody({ outstanding: LARGE, visitEveryDays: 2, policy: policy.name, trigger: 'business_deterioration', officerId: officer[1] }));
    const tasks = () => h.db.select().from(watchTasks).where(eq(watchTasks.watchId, watchId));
    const [first] = await eventually(async () => ((await tasks()).length > 0 ? tasks() : undefined));
    expect(first).toMatchObject({ type: 'visit', officerId: officer[1], status: 'open' });
    expect(await eventTypes(watchId)).toContain('visit_due');
    expect((await tasks()).filter((x) => x.status === 'open').length).toBeGreaterThan(0);

    // On the officer's worklist and their branch supervisor's, told apart from case work by its
    // kind and carrying the watch; not on another branch's.
    const entry = (items: WorklistEntry[]) => items.find((i) => i.id === first!.id);
    expect(entry(await worklist(officer))).toEqual({
      kind: 'watch_task',
      id: first!.id,
      caseId: null,
      watchId,
      branch: 'BR01',
      officerId: officer[1],
      type: 'visit',
      dueAt: first!.dueAt.toISOString(),
      hand: null,
      stage: null,
    });
    const branchList = await worklist(SUPERVISOR_WANG);
    expect(entry(branchList)).toMatchObject({ kind: 'watch_task', watchId });
    expect(entry(await worklist(SUPERVISOR_WANG, `&officerId=${officer[1]}`))).toBeDefined();
    expect(entry(await worklist(SUPERVISOR_BR02))).toBeUndefined();
    expect(entry(await worklist(OFFICER_LI))).toBeUndefined();
    // Ordered by what falls due first, watch visits among the cases and their tasks.
    const due = branchList.map((i) => (i.dueAt === null ? Infinity : Date.parse(i.dueAt)));
    expect(due).toEqual([...due].sort((a, b) => a - b));

    const visited = await post(officer, `/v1/watches/${watchId}/visits`, { summary: 'shop open, stock down a third' });
    expect(visited.statusCode, visited.body).toBe(200);
    expect(visited.json().visits).toBe(1);
    expect((await tasks()).find((x) => x.id === first!.id)!.status).toBe('done');
    expect(entry(await worklist(officer))).toBeUndefined();

    const resolved = await post(SUPERVISOR_WANG, `/v1/watches/${watchId}/resolve`, { note: 'new orders signed; turnover back' });
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json()).toMatchObject({ state: 'resolved', nextVisitAt: null });
    expect((await tasks()).every((x) => x.status !== 'open')).toBe(true);
    expect((await worklist(officer)).filter((i) => i.watchId === watchId)).toEqual([]);
    await saveHistory('watch-visits-resolved', await h.client.workflow.getHandle(watchId).fetchHistory());
  });

  it('judges a loan large by the threshold of its own currency, and refuses a currency without one', async () => {
    // USD 2 million: large in dollars, though the number is below the CNY threshold.
    const dollars = await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ currency: 'USD', outstanding: 200_000_000 }));
    expect(dollars.statusCode, dollars.body).toBe(201);
    expect(dollars.json().watch).toMatchObject({ currency: 'USD', outstanding: 200_000_000, visitEveryDays: 30, nextVisitAt: expect.any(String) });
    const yuan = await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ currency: 'CNY', outstanding: 200_000_000 }));
    expect(yuan.statusCode, yuan.body).toBe(201);
    expect(yuan.json().watch).toMatchObject({ visitEveryDays: null, nextVisitAt: null });
    // USD 1 million is below the dollar threshold: no visits, and none may be asked for.
    const smallDollars = expectProblem(await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ currency: 'USD', outstanding: 100_000_000, visitEveryDays: 7 })), 400, [
      'visitEveryDays',
    ]);
    expect(JSON.stringify(smallDollars.errors)).toContain('150000000 minor units of USD');

    const euros = watchBody({ currency: 'EUR', outstanding: 500_000_000 });
    const refused = expectProblem(await post(SUPERVISOR_WANG, '/v1/watches', euros), 400, ['currency']);
    expect(JSON.stringify(refused.errors)).toContain('CNY, USD');
    const never = await t.as(SUPERVISOR_WANG, { url: `/v1/watches/watch-${euros.loanId}` });
    expect(never.statusCode).toBe(404);
  });
});

describe('a watch opened for a loan whose case the intake has just started', () => {
  it('hands over at once: the case runs in Temporal before its first batch is in the ledger', async () => {
    const loan = newLoan({ branch: 'BR01' });
    // No worker polls this queue: the case runs, and the ledger never hears of it.
    await startCase(h.client, `unpolled-${randomUUID()}`, { requestId: randomUUID(), by: SYSTEM, loan, policy: (await latestPolicy(h.db, 'standard'))! });
    const refused = expectProblem(await post(SUPERVISOR_WANG, '/v1/watches', watchBody({ loanId: loan.loanId })), 409);
    expect(refused.reason).toBe('case_open');
    const watch = await eventually(async () => {
      const res = await t.as(SUPERVISOR_WANG, { url: `/v1/watches/watch-${loan.loanId}` });
      return res.statusCode === 200 && res.json().state === 'handed_over' ? res.json() : undefined;
    });
    expect(watch).toMatchObject({ caseId: `case-${loan.loanId}` });
  });
});
