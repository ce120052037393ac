import {
  ApplicationFailure,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { answeredBatch, type WithBatch } from '../../activities/contract';
import type { Database } from '../../db/client';
import { MESSAGE_REFUSED, type CaseIntake, type MessageMeta, type MessageResult, type OpenCaseResult, type Refusal } from '../../domain';
import { openCase } from '../../temporal/open-case';
import { bringLedgerTo } from '../../db/answered-batch';

/** How long intake waits for the case workflow to answer before telling the caller to retry. */
export const INTAKE_TIMEOUT_MS = 10_000;
/** How long an officer waits for the case to answer a message before hearing that no worker did. */
export const MESSAGE_TIMEOUT_MS = 5_000;

export type IntakeOutcome = { kind: 'answered'; result: OpenCaseResult } | { kind: 'timeout' };

/** Runs one call to Temporal under a deadline; true in `timedOut` when the deadline cut it. With
 * no worker to answer, an update or a query would otherwise wait for ever. */
export async function within<T>(client: Client, timeoutMs: number, call: () => Promise<T>): Promise<{ value: T } | { timedOut: true }> {
  const signal = AbortSignal.timeout(timeoutMs);
  // The bound holds even if a cancelled call never settles (a retry waiting on a dead server).
  const aborted = new Promise<{ timedOut: true }>((resolve) => signal.addEventListener('abort', () => resolve({ timedOut: true }), { once: true }));
  try {
    return await Promise.race([client.withAbortSignal(signal, call).then((value) => ({ value })), aborted]);
  } catch (err) {
    if (signal.aborted || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { timedOut: true };
    throw err;
  }
}

/**
 * Intake's one atomic call (update-with-start, `temporal/open-case.ts`), bounded in time: with no
 * worker to answer, the client would otherwise wait for ever. A timed-out intake may still have
 * started the case; the caller retries with the same request id.
 */
export async function openCaseWithin(
  client: Client,
  db: Database,
  taskQueue: string,
  intake: CaseIntake,
  timeoutMs = INTAKE_TIMEOUT_MS,
): Promise<IntakeOutcome> {
  const outcome = await within(client, timeoutMs, () => openCase(client, db, taskQueue, intake));
  return 'timedOut' in outcome ? { kind: 'timeout' } : { kind: 'answered', result: outcome.value };
}

export type MessageOutcome =
  | { kind: 'applied'; result: MessageResult }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'not_running' }
  | { kind: 'timeout' };

/**
 * An officer's message (`sendMessage`) answered once the ledger holds what it changed: the API
 * writes the batch the case answered with (db/answered-batch.ts), within the same deadline.
 */
export async function sendMessageToLedger<M extends MessageMeta>(
  client: Client,
  db: Database,
  caseId: string,
  update: UpdateDefinition<MessageResult, [M]>,
  message: M,
  timeoutMs = MESSAGE_TIMEOUT_MS,
): Promise<MessageOutcome> {
  const startedAt = Date.now();
  const outcome = await sendMessage(client, caseId, update, message, timeoutMs);
  if (outcome.kind !== 'applied') return outcome;
  const { result, batch } = answeredBatch(outcome.result as WithBatch<MessageResult>);
  if (batch && !(await bringLedgerTo(db, batch, timeoutMs - (Date.now() - startedAt)))) return { kind: 'timeout' };
  return { kind: 'applied', result };
}

/**
 * The update id of a request: its id within the message's own name, so that one key reused for
 * another kind of message is never answered with the first message's result.
 */
export function updateIdFor(updateName: string, requestId: string): string {
  return `${updateName}:${requestId}`;
}

/**
 * Sends an officer's message as an update whose id is the request id: Temporal answers a retry
 * with the first answer, and the case drops a request id it applied in an earlier run.
 */
async function sendMessage<M extends MessageMeta>(
  client: Client,
  caseId: string,
  update: UpdateDefinition<MessageResult, [M]>,
  message: M,
  timeoutMs = MESSAGE_TIMEOUT_MS,
): Promise<MessageOutcome> {
  try {
    const outcome = await within(client, timeoutMs, () =>
      client.workflow.getHandle(caseId).executeUpdate(update, { args: [message], updateId: updateIdFor(update.name, message.requestId) }),
    );
    return 'timedOut' in outcome ? { kind: 'timeout' } : { kind: 'applied', result: outcome.value };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'not_running' };
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === MESSAGE_REFUSED) {
      return { kind: 'refused', refusal: err.cause.details?.[0] as Refusal };
    }
    throw err;
  }
}
