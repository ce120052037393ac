/**
 * The daily overdue list taken in, row by row: opens the case of a loan new to collection, sends
 * the new arrears to an open case, leaves a repeat as it is. Each row is one atomic call to
 * Temporal (the opening's update-with-start, or the case's `reportArrears` update) made only once
 * the row has passed every check, so a row never half-applies; a bad row is reported with the
 * column or field at fault and never stops the others. `POST /v1/intake/overdue` and the daily
 * schedule's activity both run this.
 */
import { CLOSED_STAGES, reportArrearsUpdate, workflowIdForLoan, type CaseStage, type ReportArrears } from '../../domain';
import { assertBranch } from '../auth/access';
import type { Caller } from '../auth/tokens';
import { HttpProblem, type FieldError } from '../errors';
import { openCaseForLoan, type OpenCaseDeps } from '../open-case';
import { refusalProblem } from '../refusals';
import { createCasesRepository, type CaseRow } from '../plugins/app/cases-repository';
import { todayUtc } from '../rules';
import type { IntakeCounts, IntakeOutcome, IntakeRow, IntakeRowResult } from '../schemas/intake';
import { INTAKE_TIMEOUT_MS, sendMessage } from '../temporal/cases';
import { checkRow } from './rows';

export interface IntakeDeps extends OpenCaseDeps {
  /** Rows in flight at once. */
  concurrency: number;
}

export interface IntakeInput {
  /** Names the run; with the loan id it makes each row's request id, so a run retried (the
   * schedule's activity) repeats its calls instead of making new ones. */
  runId: string;
  caller: Caller;
  rows: unknown[];
  /** Problems of a CSV line found before its values (its number of cells), by row. */
  lineErrors?: FieldError[][];
  /** The name a rejection gives a field: its CSV column, or the JSON field itself. */
  column?: (field: string) => string;
  /** Called as rows finish (progress logs, an activity's heartbeat). */
  onProgress?: (done: number, total: number) => void;
}

type RowAnswer = Omit<IntakeRowResult, 'row' | 'loanId'>;

const rejected = (caseId: string | null, errors: FieldError[]): RowAnswer => ({ caseId, outcome: 'rejected', errors });
const answered = (caseId: string, outcome: Exclude<IntakeOutcome, 'rejected'>): RowAnswer => ({ caseId, outcome, errors: [] });

/** Refusals by the service (4xx) are the row's; anything else (PostgreSQL or Temporal down, a
 * timeout) stops the run, which is retried as a whole: its rows repeat their own calls. */
function rowProblem(err: unknown): FieldError[] | undefined {
  if (!(err instanceof HttpProblem) || err.status >= 500) return undefined;
  if (err.errors && err.errors.length > 0) return err.errors;
  return [{ field: err.status === 403 ? 'branch' : 'loanId', reason: err.message }];
}

/** The ledger already shows what the row reports (a repeat needs no call to the case). */
function ledgerShows(existing: CaseRow, row: IntakeRow): boolean {
  return (
    row.arrears === undefined &&
    existing.overdue === row.overdueAmount &&
    existing.outstanding === row.outstanding &&
    existing.overdueSince === row.overdueSince
  );
}

async function reportArrears(deps: IntakeDeps, input: IntakeInput, caseId: string, row: IntakeRow, requestId: string): Promise<RowAnswer> {
  const message: ReportArrears = {
    requestId,
    by: { sub: input.caller.sub, role: input.caller.role },
    currency: row.currency,
    overdue: row.overdueAmount,
    ...(row.arrears ? { arrears: row.arrears } : {}),
    overdueSince: row.overdueSince,
    outstanding: row.outstanding,
    source: input.runId,
  };
  const outcome = await sendMessage(deps.temporal, caseId, reportArrearsUpdate, message, INTAKE_TIMEOUT_MS);
  switch (outcome.kind) {
    case 'applied':
      return answered(caseId, outcome.result.applied ? 'updated' : 'unchanged');
    case 'refused': {
      const { refusal } = outcome;
      if (refusal.reason === 'arrears_unchanged') return answered(caseId, 'unchanged');
      const field = refusal.field === 'overdue' ? 'overdueAmount' : (refusal.field ?? 'loanId');
      return rejected(caseId, [{ field, reason: `${refusal.reason}: ${refusalProblem(refusal).message}` }]);
    }
    case 'not_running':
      return rejected(caseId, [{ field: 'loanId', reason: 'the case closed while the list was taken in; take the row in again' }]);
    case 'timeout':
      throw new HttpProblem(504, `The case ${caseId} did not answer in time`);
  }
}

async function intakeRow(deps: IntakeDeps, input: IntakeInput, row: IntakeRow): Promise<RowAnswer> {
  const caseId = workflowIdForLoan(row.loanId);
  const requestId = `intake:${input.runId}:${row.loanId}`;
  try {
    assertBranch(input.caller, row.branch);
    const existing = await createCasesRepository(deps.db).findCase(caseId);
    const open = existing !== undefined && !CLOSED_STAGES.includes(existing.stage as CaseStage);
    if (existing && open) {
      assertBranch(input.caller, existing.branch);
      if (existing.currency === row.currency && ledgerShows(existing, row)) return answered(caseId, 'unchanged');
      return await reportArrears(deps, input, caseId, row, requestId);
    }
    const { overdueAmount, arrears, ...facts } = row;
    const opened = await openCaseForLoan(deps, input.caller, { ...facts, overdue: overdueAmount, ...(arrears ? { arrears } : {}) }, requestId);
    if (opened.created) return answered(caseId, 'created');
    if (CLOSED_STAGES.includes(opened.case.stage)) return answered(caseId, 'unchanged');
    // Open, though the ledger did not show it yet: the list's arrears go to it as to any open case.
    return await reportArrears(deps, input, caseId, row, requestId);
  } catch (err) {
    const errors = rowProblem(err);
    if (!errors) throw err;
    return rejected(caseId, errors);
  }
}

/** Runs `work` on each item, at most `limit` at once. */
async function inPool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

export function countOutcomes(results: readonly Pick<IntakeRowResult, 'outcome'>[]): IntakeCounts {
  const counts: IntakeCounts = { rows: results.length, created: 0, updated: 0, unchanged: 0, rejected: 0 };
  for (const r of results) counts[r.outcome]++;
  return counts;
}

export async function runIntake(deps: IntakeDeps, input: IntakeInput): Promise<IntakeRowResult[]> {
  const today = todayUtc();
  const column = input.column ?? ((field: string) => field);
  const named = (errors: FieldError[]) => errors.map((e) => ({ field: column(e.field), reason: e.reason }));
  const results: IntakeRowResult[] = new Array(input.rows.length);
  const firstRowOf = new Map<string, number>();
  const work: { index: number; row: IntakeRow }[] = [];
  input.rows.forEach((value, index) => {
    const loanId = typeof (value as { loanId?: unknown })?.loanId === 'string' ? (value as { loanId: string }).loanId : null;
    const base = { row: index + 1, loanId };
    // A line that is not a row (cells out of step with the header) is judged as such alone.
    const lineErrors = input.lineErrors?.[index] ?? [];
    const checked = lineErrors.length > 0 ? { errors: [] } : checkRow(value, today);
    if ('errors' in checked) {
      results[index] = { ...base, caseId: null, outcome: 'rejected', errors: [...lineErrors, ...named(checked.errors)] };
      return;
    }
    const first = firstRowOf.get(checked.row.loanId);
    if (first !== undefined) {
      results[index] = { ...base, caseId: null, outcome: 'rejected', errors: [{ field: column('loanId'), reason: `repeats the loan of row ${first}: one row per loan` }] };
      return;
    }
    firstRowOf.set(checked.row.loanId, index + 1);
    work.push({ index, row: checked.row });
  });
  let done = input.rows.length - work.length;
  input.onProgress?.(done, input.rows.length);
  await inPool(work, deps.concurrency, async ({ index, row }) => {
    const answer = await intakeRow(deps, input, row);
    results[index] = { row: index + 1, loanId: row.loanId, ...answer, errors: named(answer.errors) };
    input.onProgress?.(++done, input.rows.length);
  });
  return results;
}
