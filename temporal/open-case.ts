import { isGrpcServiceError, WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { answeredBatch, type WithBatch } from '../activities/contract';
import { bringLedgerTo } from '../db/answered-batch';
import type { Database } from '../db/client';
import { errorChain } from '../db/errors';
import { partiesRef, storeParties } from '../db/parties';
import { watchedLoans } from '../db/watches';
import { handOverWatchSignal, openCaseUpdate, watchIdForLoan, workflowIdForLoan, type CaseIntake, type CaseOpening, type OpenCaseResult } from '../domain';
import type { collectionCase } from '../workflows';
import { openingAttributes } from '../workflows/case/search-attributes';

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

/** How long an opening waits for the ledger once the case has answered (the caller's own
 * deadline, `openCaseWithin`, usually ends it first). */
const LEDGER_WAIT_MS = 10_000;

/** gRPC INVALID_ARGUMENT: Temporal refused the request as it was, and started nothing. */
const INVALID_ARGUMENT = 3;

/**
 * Starts the case with its search attributes (`openingAttributes`), or without them when
 * Temporal refuses the request: a namespace whose attributes are not registered yet (the worker
 * registers them at boot; on Temporal Cloud an admin does) refuses a start that carries them. A
 * case started without them upserts them at its first task, as every case did before
 * SEEDED_ATTRIBUTES_PATCH. A request refused for another reason is refused again, unchanged.
 */
async function withOpeningAttributes<T>(opening: CaseOpening, workflowId: string, start: (attributes: SearchAttributePair[] | undefined) => Promise<T>): Promise<T> {
  try {
    return await start(openingAttributes(opening, workflowId, Date.now()));
  } catch (err) {
    if (!errorChain(err).some((link) => isGrpcServiceError(link) && link.code === INVALID_ARGUMENT)) throw err;
    return start(undefined);
  }
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
  const result = await withOpeningAttributes(opening, workflowId, (typedSearchAttributes) =>
    client.workflow.executeUpdateWithStart(openCaseUpdate, {
      args: [{ requestId: opening.requestId, by: opening.by }],
      // A retried intake is the same update: Temporal answers it as it answered the first. Named
      // apart from officers' messages, whose ids are their request ids under their own names.
      updateId: `${openCaseUpdate.name}:${opening.requestId}`,
      startWorkflowOperation: new WithStartWorkflowOperation<typeof collectionCase>('collectionCase', {
        workflowId,
        taskQueue,
        args: [{ opening }],
        typedSearchAttributes,
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      }),
    }),
  );
  // The answer carries the case's first batch (ANSWER_WITH_BATCH_PATCH): the ledger shows the
  // case before the caller hears of it.
  const { result: answer, batch } = answeredBatch(result as WithBatch<OpenCaseResult>);
  if (batch && !(await bringLedgerTo(db, batch, LEDGER_WAIT_MS))) throw new Error(`the ledger did not show case ${answer.case.caseId} in time`);
  // Most loans have no watch: one ledger read instead of a signal that finds none. Read after the
  // start, so a watch opened meanwhile either is in the ledger now or sees this case running
  // (POST /v1/watches asks Temporal once its watch is in the ledger).
  if ((await watchedLoans(db, [opening.loan.loanId])).size > 0) {
    await handOverWatch(client, answer.case.caseId, opening.loan.loanId, opening);
  }
  return answer;
}

/**
 * The daily intake's opening of a loan it found in neither the ledger nor an open case: a plain
 * start, answered once Temporal has durably accepted the case (the case's opening does not wait
 * for the `openCase` update, which only tells the caller when the ledger shows it). `running`
 * when the loan's case is already open (a retried list, or a case started moments ago whose
 * ledger row is not written yet): the caller then takes the update-with-start path, which
 * answers as the running case sees it. The parties must already be stored (`storeCasesParties`).
 */
export async function startCase(client: Client, taskQueue: string, intake: CaseIntake): Promise<'started' | 'running'> {
  const workflowId = workflowIdForLoan(intake.loan.loanId);
  const opening = openingWithoutParties(intake);
  try {
    await withOpeningAttributes(opening, workflowId, (typedSearchAttributes) =>
      client.workflow.start<typeof collectionCase>('collectionCase', {
        workflowId,
        taskQueue,
        args: [{ opening }],
        typedSearchAttributes,
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      }),
    );
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'running';
    throw err;
  }
}

/** Whether the loan's case workflow runs now: Temporal knows a case the moment the daily intake
 * starts it, before its first batch reaches the ledger. */
export async function caseRunning(client: Client, loanId: string): Promise<boolean> {
  try {
    const { status } = await client.workflow.getHandle(workflowIdForLoan(loanId)).describe();
    return status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * A watched loan that goes overdue moves into collection (退出 step 6): its risk watch hands over
 * to the case and ends. Sent on an opening of the loan's case while the ledger shows the watch
 * watching, so a retry after a lost answer still delivers it; a watch already handed over ignores
 * it, and a loan whose watch has ended (NotFound) changes nothing.
 */
export async function handOverWatch(client: Client, caseId: string, loanId: string, opening: Pick<CaseOpening, 'requestId' | 'by'>): Promise<void> {
  try {
    await client.workflow.getHandle(watchIdForLoan(loanId)).signal(handOverWatchSignal, {
      requestId: `handover:${opening.requestId}`,
      by: opening.by,
      sentAt: new Date().toISOString(),
      caseId,
    });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
