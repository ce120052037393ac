import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { openCaseUpdate, workflowIdForLoan, type CaseOpening, type OpenCaseResult } from '../domain';
import type { collectionCase } from '../workflows';

/**
 * Intake in one atomic call: update-with-start starts the loan's case or attaches to the one
 * already open, and answers with the case either way. A loan whose case has closed gets a new
 * run under the same workflow id: a new episode of the same case.
 */
export function openCase(client: Client, taskQueue: string, opening: CaseOpening): Promise<OpenCaseResult> {
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof collectionCase>('collectionCase', {
    workflowId: workflowIdForLoan(opening.loan.loanId),
    taskQueue,
    args: [{ opening }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  return client.workflow.executeUpdateWithStart(openCaseUpdate, {
    args: [{ requestId: opening.requestId, by: opening.by }],
    // A retried intake is the same update: Temporal answers it as it answered the first. Named
    // apart from officers' messages, whose ids are their request ids under their own names.
    updateId: `${openCaseUpdate.name}:${opening.requestId}`,
    startWorkflowOperation,
  });
}
