import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Database } from '../db/client';
import { partiesRef, storeParties } from '../db/parties';
import { handOverWatchSignal, openCaseUpdate, watchIdForLoan, workflowIdForLoan, type CaseIntake, type CaseOpening, type OpenCaseResult } from '../domain';
import type { collectionCase } from '../workflows';

/**
 * The opening the workflow gets: the loan without its parties' personal data, which never enter
 * Temporal. Guarantors stay as positions with what each guaranteed.
 */
export function openingWithoutParties(intake: CaseIntake): CaseOpening {
  const { borrower: _borrower, guarantors, ...facts } = intake.loan;
  return {
    ...intake,
    loan: {
      ...facts,
      partiesRef: partiesRef(workflowIdForLoan(facts.loanId)),
      guarantors: guarantors.map(({ guaranteedAmount }) => (guaranteedAmount === undefined ? {} : { guaranteedAmount })),
    },
  };
}

/**
 * Intake in one atomic call: update-with-start starts the loan's case or attaches to the one
 * already open, and answers with the case either way. A loan whose case has closed gets a new
 * run under the same workflow id: a new episode of the same case.
 *
 * The parties go to PostgreSQL first (`case_parties`, idempotently), so that they are there
 * before the case's first letter is due; the workflow carries only a reference to them.
 */
export async function openCase(client: Client, db: Database, taskQueue: string, intake: CaseIntake): Promise<OpenCaseResult> {
  const workflowId = workflowIdForLoan(intake.loan.loanId);
  await storeParties(db, workflowId, intake.loan);
  const opening = openingWithoutParties(intake);
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof collectionCase>('collectionCase', {
    workflowId,
    taskQueue,
    args: [{ opening }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  const result = await client.workflow.executeUpdateWithStart(openCaseUpdate, {
    args: [{ requestId: opening.requestId, by: opening.by }],
    // A retried intake is the same update: Temporal answers it as it answered the first. Named
    // apart from officers' messages, whose ids are their request ids under their own names.
    updateId: `${openCaseUpdate.name}:${opening.requestId}`,
    startWorkflowOperation,
  });
  await handOverWatch(client, result.case.caseId, opening);
  return result;
}

/**
 * A watched loan that goes overdue moves into collection (退出 step 6): its risk watch hands over
 * to the case and ends. Sent on every intake of the loan, so a retry after a lost answer still
 * delivers it; a loan without a running watch (NotFound) is the usual case and changes nothing,
 * and a watch already handed over ignores it.
 */
async function handOverWatch(client: Client, caseId: string, opening: CaseOpening): Promise<void> {
  try {
    await client.workflow.getHandle(watchIdForLoan(opening.loan.loanId)).signal(handOverWatchSignal, {
      requestId: `handover:${opening.requestId}`,
      by: opening.by,
      sentAt: new Date().toISOString(),
      caseId,
    });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
