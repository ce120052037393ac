/**
 * The daily intake answers a new loan's row once Temporal has accepted its case, before the case
 * has run or written its ledger row. These are the races that opens: a loan listed twice, a list
 * retried (as a new run, or as the same run after a crash) before its cases reach the ledger, two
 * lists at once, and a watched loan's hand-over, which the intake now sends only where the ledger
 * shows a running watch.
 */
import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIntake } from '../../api/intake/run';
import { caseEvents, cases, intakeRowResults, intakeRuns, watches } from '../../db/schema';
import type { LoanIntake, Role } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { daysAgo, eventually, newLoan } from '../support/fixtures';
import { build, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const SUPERVISOR: Who = ['supervisor', 'supervisor-wang', 'BR01'];

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

function jsonRow(loan: LoanIntake, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { overdue, householdId: _h, ...facts } = loan as LoanIntake & { householdId?: unknown };
  return { ...facts, overdueAmount: overdue, ...extra };
}

const postJson = (rows: unknown[], key = `intake-${randomUUID()}`) =>
  t.as(CORE, { method: 'POST', url: '/v1/intake/overdue', payload: { rows }, headers: { 'idempotency-key': key } });

const caseIdOf = (loan: LoanIntake) => `case-${loan.loanId}`;

/** What the ledger holds of the loans' cases, by case id. */
async function ledgerOf(loans: LoanIntake[]) {
  const rows = await h.db.select({ caseId: cases.caseId, episode: cases.episode, overdue: cases.overdue }).from(cases).where(inArray(cases.caseId, loans.map(caseIdOf)));
  return new Map(rows.map((r) => [r.caseId, r]));
}

/** How many events of `type` each of the loans' cases holds in its business trail. */
async function eventCounts(loans: LoanIntake[], type: string): Promise<number[]> {
  const rows = await h.db
    .select({ caseId: caseEvents.caseId })
    .from(caseEvents)
    .where(and(inArray(caseEvents.caseId, loans.map(caseIdOf)), eq(caseEvents.type, type)));
  return loans.map((l) => rows.filter((r) => r.caseId === caseIdOf(l)).length);
}

/** The ledger converges to one case per loan, opened once, in its first episode. */
async function expectOneCaseEach(loans: LoanIntake[]): Promise<void> {
  const ledger = await eventually(async () => {
    const rows = await ledgerOf(loans);
    return rows.size === loans.length ? rows : undefined;
  });
  expect([...ledger.values()].map((r) => r.episode)).toEqual(loans.map(() => 1));
  expect(await eventCounts(loans, 'case_opened')).toEqual(loans.map(() => 1));
}

describe('the daily intake, answering before the ledger', () => {
  it('opens one case for a new loan listed twice: the first row creates it, the repeat is rejected', async () => {
    const twice = newLoan();
    const other = newLoan();
    const res = await postJson([jsonRow(twice), jsonRow(other), jsonRow(twice, { overdueAmount: 900_000 })]);
    expect(res.statusCode, res.body).toBe(200);
    const { results, counts } = res.json();
    expect(counts).toEqual({ rows: 3, created: 2, updated: 0, unchanged: 0, rejected: 1 });
    expect(results[0]).toMatchObject({ outcome: 'created', caseId: caseIdOf(twice) });
    expect(results[1]).toMatchObject({ outcome: 'created', caseId: caseIdOf(other) });
    expect(results[2]).toMatchObject({ outcome: 'rejected', caseId: null, errors: [{ field: 'loanId', reason: 'repeats the loan of row 1: one row per loan' }] });
    await expectOneCaseEach([twice, other]);
    // The repeat took nothing: the case holds the first row's arrears.
    expect((await ledgerOf([twice])).get(caseIdOf(twice))).toMatchObject({ overdue: twice.overdue });
  });

  it('answers a list retried before its cases reach the ledger: none opened twice, repeats unchanged, a change updated', async () => {
    const loans = Array.from({ length: 6 }, (_, i) => newLoan({ overdueSince: daysAgo(3 + i) }));
    const rows = loans.map((l) => jsonRow(l));
    // No worker: the cases are accepted by Temporal but none has run, so none is in the ledger.
    await h.stopWorker();
    let workerStarted = false;
    try {
      const firstKey = `intake-${randomUUID()}`;
      const first = await postJson(rows, firstKey);
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json().counts).toEqual({ rows: 6, created: 6, updated: 0, unchanged: 0, rejected: 0 });
      expect((await ledgerOf(loans)).size).toBe(0);

      // The list again as a new run, one loan's arrears changed; and the first run again under
      // its own id, as the schedule's activity retries one that stopped before keeping its
      // report. Each start finds its case running and the row goes to the case, which answers
      // once a worker runs it.
      const changed = { ...rows[5], overdueAmount: 1_000_000 };
      const retried = postJson([...rows.slice(0, 5), changed]);
      const sameRun = runIntake(
        { db: h.db, temporal: h.client, taskQueue: h.taskQueue, householdKey: t.config.HOUSEHOLD_KEY, concurrency: 4 },
        { runId: firstKey, caller: { sub: 'core-banking', role: 'system', branch: null }, rows },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await h.startWorker();
      workerStarted = true;
      const retry = await retried;
      expect(retry.statusCode, retry.body).toBe(200);
      expect(retry.json().counts).toEqual({ rows: 6, created: 0, updated: 1, unchanged: 5, rejected: 0 });
      expect(retry.json().results[5]).toMatchObject({ outcome: 'updated', caseId: caseIdOf(loans[5]!) });
      // The request that opened each case: still `created`.
      expect((await sameRun).map((r) => r.outcome)).toEqual(loans.map(() => 'created'));

      await expectOneCaseEach(loans);
      expect(await eventCounts(loans, 'arrears_reported')).toEqual([0, 0, 0, 0, 0, 1]);
      await eventually(async () => ((await ledgerOf([loans[5]!])).get(caseIdOf(loans[5]!))?.overdue === 1_000_000 ? true : undefined));
    } finally {
      if (!workerStarted) await h.startWorker();
    }
  });

  it('opens each case once when two lists of the same new loans come in at once', async () => {
    const loans = Array.from({ length: 8 }, () => newLoan());
    const rows = loans.map((l) => jsonRow(l));
    const [a, b] = await Promise.all([postJson(rows), postJson([...rows].reverse())]);
    expect(a.statusCode, a.body).toBe(200);
    expect(b.statusCode, b.body).toBe(200);
    const outcomes = (loan: LoanIntake) =>
      [a, b].map((res) => (res.json().results as { loanId: string; outcome: string }[]).find((r) => r.loanId === loan.loanId)!.outcome).sort();
    for (const loan of loans) expect(outcomes(loan)).toEqual(['created', 'unchanged']);
    await expectOneCaseEach(loans);
  });

  it('takes in only the rows a run that stopped midway did not keep, and counts the whole run', async () => {
    const loan = newLoan();
    const key = `intake-${randomUUID()}`;
    const rows = [jsonRow(loan), jsonRow(newLoan(), { overdueAmount: 99_000_000 })];
    const first = await postJson(rows, key);
    expect(first.json().counts).toMatchObject({ created: 1, rejected: 1 });
    await expectOneCaseEach([loan]);
    // As a run that kept its first rows and stopped before the rest and its end.
    await h.db.delete(intakeRowResults).where(and(eq(intakeRowResults.runId, key), eq(intakeRowResults.row, 2)));
    await h.db.update(intakeRuns).set({ finishedAt: null }).where(eq(intakeRuns.runId, key));

    const resumed = await postJson(rows, key);
    expect(resumed.statusCode, resumed.body).toBe(200);
    // Row 1 as kept (taken again now that the ledger shows the case, it would read `unchanged`).
    expect(resumed.json()).toMatchObject({ finishedAt: expect.any(String), counts: { rows: 2, created: 1, rejected: 1 } });
    expect(resumed.json().results.map((r: { outcome: string }) => r.outcome)).toEqual(['created', 'rejected']);
    expect((await t.as(CORE, { url: `/v1/intake/runs/${key}` })).json()).toEqual(resumed.json());
  });

  it('hands a watched loan over to the case it opens, found by one read of the watches', async () => {
    const watched = newLoan({ branch: 'BR01' });
    const opened = await t.as(SUPERVISOR, {
      method: 'POST',
      url: '/v1/watches',
      payload: { loanId: watched.loanId, branch: 'BR01', currency: 'CNY', outstanding: watched.outstanding, officerId: 'officer-li', trigger: 'second_mortgage' },
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const watchId = opened.json().watch.watchId as string;
    await eventually(async () => ((await h.db.select().from(watches).where(eq(watches.watchId, watchId)))[0]?.state === 'watching' ? true : undefined));

    const res = await postJson([jsonRow(watched), jsonRow(newLoan())]);
    expect(res.json().counts).toMatchObject({ created: 2 });
    const handedOver = await eventually(async () => {
      const [row] = await h.db.select().from(watches).where(eq(watches.watchId, watchId));
      return row?.state === 'handed_over' ? row : undefined;
    });
    expect(handedOver.caseId).toBe(caseIdOf(watched));
    await eventually(async () => ((await eventCounts([watched], 'watch_linked'))[0] === 1 ? true : undefined));
  });
});
