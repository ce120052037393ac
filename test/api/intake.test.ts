/**
 * The daily intake through the API, on a real worker, Temporal server and PostgreSQL: a mixed
 * CSV list (new loans, updates, repeats, bad rows) and its kept report, the JSON form, and rows
 * that fail midway (refused by the case workflow, or by the policy lookup) leaving nothing behind.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoanIntake, Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { daysAgo, eventually, newLoan } from '../support/fixtures';
import { saveHistory } from '../support/histories';
import { build, expectProblem, type ApiTest } from './helper';
import { caseStatesAsOf } from '../../api/routes/v1/reports';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const SUPERVISOR_BR02: Who = ['supervisor', 'supervisor-zhao', 'BR02'];
const OFFICER: Who = ['officer', 'officer-li', 'BR01'];

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

const HEADER = [
  'loanId', 'borrowerName', 'borrowerIdNumber', 'borrowerPhone', 'branch', 'product', 'secured', 'currency', 'principal', 'outstanding',
  'overdueAmount', 'overdueSince', 'arrearsFees', 'arrearsPenaltyInterest', 'arrearsInterest', 'arrearsPrincipal',
  'collateralKind', 'collateralDescription', 'collateralValue', 'officerId',
];

/** A CSV line for a loan; `cells` overrides columns by name (the CSV text as written). */
function csvLine(loan: LoanIntake, cells: Record<string, string> = {}): string {
  const collateral = loan.collateral[0];
  const values: Record<string, string> = {
    loanId: loan.loanId,
    borrowerName: loan.borrower.name,
    borrowerIdNumber: loan.borrower.idNumber,
    borrowerPhone: loan.borrower.phone,
    branch: loan.branch,
    product: loan.product,
    secured: String(loan.secured),
    currency: loan.currency,
    principal: String(loan.principal),
    outstanding: String(loan.outstanding),
    overdueAmount: String(loan.overdue),
    overdueSince: loan.overdueSince,
    collateralKind: collateral?.kind ?? '',
    collateralDescription: collateral ? `"${collateral.description.replace(/"/g, '""')}, ground floor"` : '',
    collateralValue: collateral ? String(collateral.value) : '',
    officerId: loan.officerId ?? '',
    ...cells,
  };
  return HEADER.map((c) => values[c] ?? '').join(',');
}

const csv = (...lines: string[]) => [HEADER.join(','), ...lines].join('\r\n') + '\r\n';

const postCsv = (who: Who, body: string, headers: Record<string, string> = {}) =>
  t.as(who, { method: 'POST', url: '/v1/intake/overdue', payload: body, headers: { 'content-type': 'text/csv', ...headers } });
const postJson = (who: Who, rows: unknown[], headers: Record<string, string> = {}) =>
  t.as(who, { method: 'POST', url: '/v1/intake/overdue', payload: { rows }, headers });

/** The loan as a JSON row of the list: the total overdue as `overdueAmount`. */
function jsonRow(loan: LoanIntake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { overdue, householdId: _h, ...facts } = loan as LoanIntake & { householdId?: unknown };
  return { ...facts, overdueAmount: overdue, ...extra };
}

async function openThroughApi(loan: LoanIntake): Promise<string> {
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: loan });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().case.caseId;
}

async function ledger(caseId: string) {
  const res = await t.as(CORE, { url: `/v1/cases/${caseId}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** The ledger once it shows what the list reported: a new loan's row answers once Temporal has
 * accepted its case, before the case has written its ledger row. */
async function ledgerShowing(caseId: string, expected: Record<string, unknown>) {
  return eventually(async () => {
    const view = await ledger(caseId);
    expect(view).toMatchObject(expected);
    return view;
  });
}

async function eventTypes(caseId: string): Promise<{ type: string; payload: Record<string, unknown> }[]> {
  const res = await t.as(CORE, { url: `/v1/cases/${caseId}/events?limit=200` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
}

describe('POST /v1/intake/overdue', () => {
  it('takes in a mixed CSV list: new loans, updated arrears, repeats and bad rows, each reported', async () => {
    const toUpdate = newLoan({ overdueSince: daysAgo(20) });
    const repeated = newLoan({ overdueSince: daysAgo(5) });
    const updateId = await openThroughApi(toUpdate);
    const repeatId = await openThroughApi(repeated);
    const repeatEvents = (await eventTypes(repeatId)).length;
    const fresh = newLoan({ overdueSince: daysAgo(3) });
    const badPhone = newLoan();
    const tooMuch = newLoan();

    const list = csv(
      csvLine(fresh),
      // The arrears grew (penalty interest, fees) and the list now dates them from a later miss.
      csvLine(toUpdate, {
        overdueAmount: '1500000',
        overdueSince: daysAgo(15),
        arrearsFees: '10000',
        arrearsPenaltyInterest: '40000',
        arrearsInterest: '250000',
        arrearsPrincipal: '1200000',
      }),
      csvLine(repeated),
      csvLine(badPhone, { borrowerPhone: 'not-a-phone' }),
      csvLine(tooMuch, { overdueAmount: '99000000' }),
      csvLine(fresh),
      csvLine(newLoan(), { principal: '12.50' }),
    );
    const res = await postCsv(CORE, list);
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({
      source: 'api',
      actor: { sub: 'core-banking', role: 'system' },
      finishedAt: expect.any(String),
      counts: { rows: 7, created: 1, updated: 1, unchanged: 1, rejected: 4 },
    });
    const byRow = (row: number) => report.results[row - 1];
    expect(byRow(1)).toEqual({ row: 1, loanId: fresh.loanId, caseId: `case-${fresh.loanId}`, outcome: 'created', errors: [] });
    expect(byRow(2)).toEqual({ row: 2, loanId: toUpdate.loanId, caseId: updateId, outcome: 'updated', errors: [] });
    expect(byRow(3)).toEqual({ row: 3, loanId: repeated.loanId, caseId: repeatId, outcome: 'unchanged', errors: [] });
    expect(byRow(4)).toMatchObject({ outcome: 'rejected', caseId: null, errors: [{ field: 'borrowerPhone', reason: expect.stringContaining('pattern') }] });
    expect(byRow(5)).toMatchObject({ outcome: 'rejected', errors: [{ field: 'overdueAmount', reason: 'must not exceed outstanding' }] });
    expect(byRow(6)).toMatchObject({ outcome: 'rejected', errors: [{ field: 'loanId', reason: 'repeats the loan of row 1: one row per loan' }] });
    expect(byRow(7)).toMatchObject({ outcome: 'rejected', errors: [{ field: 'principal', reason: expect.stringContaining('minor units') }] });

    // What the report says is what the ledger and the business trail hold.
    await ledgerShowing(`case-${fresh.loanId}`, { stage: 'collecting', overdue: fresh.overdue, overdueSince: fresh.overdueSince });
    expect(await ledger(updateId)).toMatchObject({ overdue: 1_500_000, overdueSince: daysAgo(15), outstanding: toUpdate.outstanding });
    const reported = (await eventTypes(updateId)).filter((e) => e.type === 'arrears_reported');
    expect(reported).toHaveLength(1);
    expect(reported[0]!.payload).toMatchObject({
      source: report.runId,
      before: { overdue: toUpdate.overdue, overdueSince: toUpdate.overdueSince },
      after: { overdue: 1_500_000, overdueSince: daysAgo(15), arrears: { fees: 10_000, penaltyInterest: 40_000, interest: 250_000, principal: 1_200_000 } },
    });
    expect((await eventTypes(repeatId)).length).toBe(repeatEvents);
    // The portfolio, rebuilt from the trail, takes the list's figures too.
    const tomorrow = new Date(Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`) + 86_400_000);
    const asReported = (await caseStatesAsOf(t.database.db, tomorrow, toUpdate.branch)).find((s) => s.caseId === updateId);
    expect(asReported).toMatchObject({ overdue: 1_500_000, outstanding: toUpdate.outstanding });
    // A run that took a report: every later change to the case workflow must replay it.
    await saveHistory('v9-arrears-reported', await h.client.workflow.getHandle(updateId).fetchHistory());
    for (const loan of [badPhone, tooMuch]) {
      expect((await t.as(CORE, { url: `/v1/cases/case-${loan.loanId}` })).statusCode).toBe(404);
    }

    // The run is kept and listed.
    expect(res.headers.location).toBe(`/v1/intake/runs/${report.runId}`);
    const kept = await t.as(CORE, { url: `/v1/intake/runs/${report.runId}` });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toEqual(report);
    const runs = await t.as(['admin', 'admin-1'], { url: '/v1/intake/runs?limit=200' });
    expect(runs.statusCode, runs.body).toBe(200);
    expect(runs.json().items).toContainEqual(expect.objectContaining({ runId: report.runId, file: null, counts: report.counts }));

    // The same list the next day: every good row is a repeat now.
    const again = await postCsv(CORE, list);
    expect(again.json().counts).toEqual({ rows: 7, created: 0, updated: 0, unchanged: 3, rejected: 4 });
    expect((await eventTypes(updateId)).filter((e) => e.type === 'arrears_reported')).toHaveLength(1);
  });

  it('takes the JSON form, judging each row on its own', async () => {
    const fresh = newLoan({ overdueSince: daysAgo(1) });
    const open = newLoan({ overdueSince: daysAgo(9) });
    const openId = await openThroughApi(open);
    const { borrower: _b, ...noBorrower } = jsonRow(newLoan());
    const res = await postJson(CORE, [
      jsonRow(fresh, { arrears: { interest: 200_000, principal: 1_000_000 } }),
      noBorrower,
      jsonRow(open, { overdueAmount: 900_000 }),
      jsonRow(newLoan(), { arrears: { interest: 1 } }),
      'not a row',
    ]);
    expect(res.statusCode, res.body).toBe(200);
    const { results, counts } = res.json();
    expect(counts).toEqual({ rows: 5, created: 1, updated: 1, unchanged: 0, rejected: 3 });
    expect(results[0]).toMatchObject({ outcome: 'created', caseId: `case-${fresh.loanId}` });
    expect(results[1]).toMatchObject({ outcome: 'rejected', errors: [{ field: 'borrower', reason: 'is required' }] });
    expect(results[2]).toMatchObject({ outcome: 'updated', caseId: openId });
    expect(results[3]).toMatchObject({ outcome: 'rejected', errors: [{ field: 'arrears', reason: expect.stringContaining('overdueAmount') }] });
    expect(results[4]).toMatchObject({ outcome: 'rejected', loanId: null, errors: [{ field: 'row', reason: expect.any(String) }] });
    await ledgerShowing(`case-${fresh.loanId}`, { overdue: 1_200_000 });
    expect(await ledger(openId)).toMatchObject({ overdue: 900_000 });
  });

  it('moves the ladder with the overdue date the list reports: an earlier first miss escalates the case at once', async () => {
    const loan = newLoan({ overdueSince: daysAgo(2) });
    const caseId = await openThroughApi(loan);
    expect(await ledger(caseId)).toMatchObject({ hand: 1 });
    const res = await postJson(CORE, [jsonRow(loan, { overdueSince: daysAgo(35) })]);
    expect(res.json().results[0]).toMatchObject({ outcome: 'updated' });
    // The standard ladder enters hand 3 at day 30: hands 2 and 3 fall due as of the report.
    const escalated = await eventually(async () => {
      const view = await ledger(caseId);
      return view.hand === 3 ? view : undefined;
    });
    expect(escalated).toMatchObject({ overdueSince: daysAgo(35), daysPastDue: 35 });
    const types = (await eventTypes(caseId)).map((e) => e.type);
    expect(types.slice(types.indexOf('arrears_reported'))).toEqual(expect.arrayContaining(['arrears_reported', 'hand_entered']));
  });

  it('leaves a closed case alone on a repeat, and opens a new episode when the list dates a new delinquency', async () => {
    const loan = newLoan({ overdue: 100_000, outstanding: 900_000, overdueSince: daysAgo(10) });
    const caseId = await openThroughApi(loan);
    const paid = await t.as(OFFICER, {
      method: 'POST',
      url: `/v1/cases/${caseId}/payments`,
      payload: { amount: 100_000, paidAt: new Date().toISOString(), reference: `BANK-${randomUUID()}` },
    });
    expect(paid.json()).toMatchObject({ stage: 'recovered' });
    await h.client.workflow.getHandle(caseId).result();

    const repeat = await postJson(CORE, [jsonRow(loan)]);
    expect(repeat.json().results[0]).toMatchObject({ outcome: 'unchanged', caseId });
    expect(await ledger(caseId)).toMatchObject({ stage: 'recovered', episode: 1 });
    const overdueAgain = await postJson(CORE, [jsonRow(loan, { overdueAmount: 50_000, outstanding: 800_000, overdueSince: daysAgo(0) })]);
    expect(overdueAgain.json().results[0]).toMatchObject({ outcome: 'created', caseId });
    await ledgerShowing(caseId, { stage: 'collecting', episode: 2, overdue: 50_000 });
  });

  it('never half-applies a row that fails midway, and the good rows still go in', async () => {
    const open = newLoan({ overdueSince: daysAgo(12) });
    const openId = await openThroughApi(open);
    const before = await ledger(openId);
    const eventsBefore = (await eventTypes(openId)).length;
    const unknownPolicy = newLoan();
    const good = newLoan();
    const res = await postJson(CORE, [
      // Passes every check of the list; the case itself refuses it (its loan is in CNY).
      jsonRow(open, { currency: 'USD', overdueAmount: 2_000_000 }),
      // Passes the schema; the policy lookup refuses it before anything starts.
      jsonRow(unknownPolicy, { policy: 'no-such-policy' }),
      jsonRow(good),
    ]);
    expect(res.statusCode, res.body).toBe(200);
    const { results } = res.json();
    expect(results[0]).toMatchObject({ outcome: 'rejected', caseId: openId, errors: [{ field: 'currency', reason: expect.stringContaining('currency_mismatch') }] });
    expect(results[1]).toMatchObject({ outcome: 'rejected', errors: [{ field: 'policy', reason: expect.stringContaining('no-such-policy') }] });
    expect(results[2]).toMatchObject({ outcome: 'created' });

    const after = await ledger(openId);
    expect(after).toMatchObject({ overdue: before.overdue, outstanding: before.outstanding, overdueSince: before.overdueSince, currency: 'CNY' });
    expect((await eventTypes(openId)).length).toBe(eventsBefore);
    expect((await t.as(CORE, { url: `/v1/cases/case-${unknownPolicy.loanId}` })).statusCode).toBe(404);
    await expect(t.client.workflow.getHandle(`case-${unknownPolicy.loanId}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('answers a repeated Idempotency-Key with the kept report, and keeps supervisors to their branch', async () => {
    const key = `intake-${randomUUID()}`;
    const loan = newLoan();
    const first = await postJson(CORE, [jsonRow(loan)], { 'idempotency-key': key });
    expect(first.json()).toMatchObject({ runId: key, counts: { created: 1 } });
    const second = await postJson(CORE, [jsonRow(loan)], { 'idempotency-key': key });
    expect(second.json()).toEqual(first.json());

    const elsewhere = await postJson(SUPERVISOR_BR02, [jsonRow(newLoan())]);
    expect(elsewhere.json().results[0]).toMatchObject({ outcome: 'rejected', errors: [{ field: 'branch', reason: expect.stringContaining('BR02') }] });
    expectProblem(await postJson(OFFICER, [jsonRow(newLoan())]), 403);
  });

  it('refuses a CSV whose header is not an overdue list, naming the column', async () => {
    const res = await postCsv(CORE, 'loanId,balance\nLN1,100\n');
    expectProblem(res, 400, ['balance']);
    expectProblem(await t.as(CORE, { url: '/v1/intake/runs/no-such-run' }), 404);
  });
});
