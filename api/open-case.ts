import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Database } from '../db/client';
import { latestPolicy } from '../db/policies';
import { CLOSED_STAGES, workflowIdForLoan, type CaseStage, type CaseView, type LoanIntake, type ReportedArrears } from '../domain';
import { leastLoadedOfficer } from './assignment';
import { assertBranch } from './auth/access';
import type { Caller } from './auth/tokens';
import { badRequest, caseConflict, HttpProblem, PROBLEM_TYPES } from './errors';
import { householdIdOf } from './household';
import { createCasesRepository, toCaseDetail } from './plugins/app/cases-repository';
import { checkOpenCase, todayUtc } from './rules';
import type { CaseDetail, OpenCaseBody } from './schemas/cases';
import { openCaseWithin } from './temporal/cases';

/** What opening a case needs, whether the request came through `POST /v1/cases` or an intake. */
export interface OpenCaseDeps {
  db: Database;
  temporal: Client;
  taskQueue: string;
  householdKey: string;
}

export interface OpenedCase {
  caseId: string;
  /** True when this request opened the case (or a new episode of it). */
  created: boolean;
  /** As the workflow answered, or as the ledger holds a closed case. */
  case: CaseView | CaseDetail;
}

/** The loan a case opens with: the request's facts, its officer, its household. */
export function loanIntakeOf(body: OpenCaseBody & { arrears?: ReportedArrears }, officerId: string | null, householdKey: string): LoanIntake {
  const { policy: _policyName, collateral, guarantors, officerId: _officerId, ...facts } = body;
  return { ...facts, collateral: collateral ?? [], guarantors: guarantors ?? [], officerId, householdId: householdIdOf(body.borrower.idNumber, householdKey) };
}

/**
 * How an officer's `POST /v1/cases` opens a case, answering once the ledger shows it; the daily
 * intake comes through here for a loan whose case it found already running (a new loan of the
 * list is started by `api/intake/chunk.ts`, from the same checks and the same `loanIntakeOf`). Refusals are `HttpProblem`s (400 naming the field, 403, 409, 504) that the route answers
 * and the intake reports per row.
 */
export async function openCaseForLoan(deps: OpenCaseDeps, caller: Caller, body: OpenCaseBody & { arrears?: ReportedArrears }, requestId: string): Promise<OpenedCase> {
  const errors = checkOpenCase(body, todayUtc());
  if (errors.length > 0) throw badRequest(errors);
  assertBranch(caller, body.branch);
  const caseId = workflowIdForLoan(body.loanId);
  const existing = await createCasesRepository(deps.db).findCase(caseId);
  if (existing) assertBranch(caller, existing.branch);
  const closed = existing !== undefined && CLOSED_STAGES.includes(existing.stage as CaseStage);
  // A new episode needs a new delinquency: a repeat of the closed episode's intake (a retry,
  // or the same row in tomorrow's overdue list) answers with the closed case.
  if (existing && closed && body.overdueSince <= existing.overdueSince) {
    return { caseId, created: false, case: toCaseDetail(existing) };
  }

  const policyName = body.policy ?? 'standard';
  const policy = await latestPolicy(deps.db, policyName);
  if (!policy) throw badRequest([{ field: 'policy', reason: `is not a known collection policy: "${policyName}"` }]);

  const officerId = body.officerId ?? (existing && !closed ? null : await leastLoadedOfficer(deps.db, body.branch));
  const loan = loanIntakeOf(body, officerId, deps.householdKey);
  let outcome;
  try {
    outcome = await openCaseWithin(deps.temporal, deps.db, deps.taskQueue, {
      requestId,
      by: { sub: caller.sub, role: caller.role },
      loan,
      policy,
      episode: existing ? existing.episode + (closed ? 1 : 0) : 1,
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw caseConflict('rejected', `The case workflow refused to open the case: ${err.cause?.message ?? err.message}`, true);
    }
    throw err;
  }
  if (outcome.kind === 'timeout') {
    throw new HttpProblem(504, `The case workflow did not answer in time; the case may still open. Retry with Idempotency-Key: ${requestId}`, {
      type: PROBLEM_TYPES.timeout,
      title: 'Case workflow did not answer',
    });
  }
  const { result } = outcome;
  assertBranch(caller, result.case.branch);
  return { caseId, created: result.created, case: result.case };
}
