/**
 * One row of the list taken in on its own, each a single atomic call to Temporal: the case's
 * `reportArrears` update for an open case, or the opening's update-with-start. The chunk
 * (`chunk.ts`) sends open cases' rows here, and new loans whose start found the case running.
 */
import { CLOSED_STAGES, reportArrearsUpdate, workflowIdForLoan, type ReportArrears } from '../../domain';
import type { Caller } from '../auth/tokens';
import { HttpProblem, type FieldError } from '../errors';
import { openCaseForLoan, type OpenCaseDeps } from '../open-case';
import { refusalProblem } from '../refusals';
import type { CaseRow } from '../plugins/app/cases-repository';
import type { IntakeOutcome, IntakeRow, IntakeRowResult } from '../schemas/intake';
import { INTAKE_TIMEOUT_MS, sendMessageToLedger } from '../temporal/cases';

export interface IntakeDeps extends OpenCaseDeps {
  /** Calls to Temporal in flight at once. */
  concurrency: number;
}

/** What a row's calls need of the run. */
export interface RowContext {
  runId: string;
  caller: Caller;
}

export type RowAnswer = Omit<IntakeRowResult, 'row' | 'loanId'>;

export const rejected = (caseId: string | null, errors: FieldError[]): RowAnswer => ({ caseId, outcome: 'rejected', errors });
export const answered = (caseId: string, outcome: Exclude<IntakeOutcome, 'rejected'>): RowAnswer => ({ caseId, outcome, errors: [] });

/** The request id of a row: a run retried (the schedule's activity) repeats its calls instead of making new ones. */
export const rowRequestId = (runId: string, loanId: string): string => `intake:${runId}:${loanId}`;

/** Refusals by the service (4xx) are the row's; anything else (PostgreSQL or Temporal down, a
 * timeout) stops the run, which is retried as a whole: its rows repeat their own calls. */
export function rowProblem(err: unknown): FieldError[] | undefined {
  if (!(err instanceof HttpProblem) || err.status >= 500) return undefined;
  if (err.errors && err.errors.length > 0) return err.errors;
  return [{ field: err.status === 403 ? 'branch' : 'loanId', reason: err.message }];
}

/** Runs a row's work, a refusal becoming the row's rejection. */
export async function judged(caseId: string, work: () => Promise<RowAnswer>): Promise<RowAnswer> {
  try {
    return await work();
  } catch (err) {
    const errors = rowProblem(err);
    if (!errors) throw err;
    return rejected(caseId, errors);
  }
}

/** The ledger already shows what the row reports (a repeat needs no call to the case). */
export function ledgerShows(existing: CaseRow, row: IntakeRow): boolean {
  return (
    row.arrears === undefined &&
    existing.currency === row.currency &&
    existing.overdue === row.overdueAmount &&
    existing.outstanding === row.outstanding &&
    existing.overdueSince === row.overdueSince
  );
}

export async function reportArrears(deps: IntakeDeps, run: RowContext, caseId: string, row: IntakeRow): Promise<RowAnswer> {
  const message: ReportArrears = {
    requestId: rowRequestId(run.runId, row.loanId),
    by: { sub: run.caller.sub, role: run.caller.role },
    currency: row.currency,
    overdue: row.overdueAmount,
    ...(row.arrears ? { arrears: row.arrears } : {}),
    overdueSince: row.overdueSince,
    outstanding: row.outstanding,
    source: run.runId,
  };
  const outcome = await sendMessageToLedger(deps.temporal, deps.db, caseId, reportArrearsUpdate, message, INTAKE_TIMEOUT_MS);
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

/**
 * A new loan's row whose start found the case running: a list retried, or taken in twice at once,
 * before the ledger showed the case. It takes the path of `POST /v1/cases`, update-with-start,
 * which answers as the running case sees it: `created` only for the request that opened it (the
 * same run again); another run's row then goes to the case as any open case's does, so a repeat
 * stays `unchanged` and a change is `updated`.
 */
export async function intakeRowAlone(deps: IntakeDeps, run: RowContext, row: IntakeRow): Promise<RowAnswer> {
  const caseId = workflowIdForLoan(row.loanId);
  return judged(caseId, async () => {
    const { overdueAmount, arrears, ...facts } = row;
    const opened = await openCaseForLoan(deps, run.caller, { ...facts, overdue: overdueAmount, ...(arrears ? { arrears } : {}) }, rowRequestId(run.runId, row.loanId));
    if (opened.created) return answered(caseId, 'created');
    if (CLOSED_STAGES.includes(opened.case.stage)) return answered(caseId, 'unchanged');
    return reportArrears(deps, run, caseId, row);
  });
}
