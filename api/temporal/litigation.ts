import {
  ApplicationFailure,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import {
  MESSAGE_REFUSED,
  litigationStateQuery,
  litigationWorkflowId,
  type LitigationResult,
  type LitigationView,
  type MessageMeta,
  type Refusal,
} from '../../domain';
import { MESSAGE_TIMEOUT_MS, updateIdFor, within } from './cases';

export type LitigationOutcome =
  | { kind: 'applied'; view: LitigationView }
  | { kind: 'refused'; refusal: Refusal }
  /** The suit's workflow has ended: how it ended, and its last view (null when no worker
   * answered the query in time). */
  | { kind: 'ended'; result: LitigationResult; view: LitigationView | null }
  /** No suit by that id (never started, or past Temporal's retention). */
  | { kind: 'not_found' }
  | { kind: 'timeout' };

/** How a suit that no longer runs ended: its result, which the server keeps (no worker needed);
 * not found when there is no such suit, or it closed otherwise (terminated, failed). */
async function endedSuit(client: Client, workflowId: string, timeoutMs: number): Promise<LitigationOutcome> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    const described = await within(client, timeoutMs, () => handle.describe());
    if ('timedOut' in described) return { kind: 'timeout' };
    if (described.value.status.name !== 'COMPLETED') return { kind: 'not_found' };
    const result = await within(client, timeoutMs, () => handle.result() as Promise<LitigationResult>);
    if ('timedOut' in result) return { kind: 'timeout' };
    const view = await within(client, timeoutMs, () => handle.query(litigationStateQuery));
    return { kind: 'ended', result: result.value, view: 'timedOut' in view ? null : view.value };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'not_found' };
    throw err;
  }
}

/**
 * Sends a report to a case's suit as an update whose id is the request id within the update's
 * name: Temporal answers a retry with the first answer, and the suit answers a request id it has
 * already taken with its current view (no second effect).
 */
export async function sendLitigationUpdate<M extends MessageMeta>(
  client: Client,
  caseId: string,
  measureId: string,
  update: UpdateDefinition<LitigationView, [M]>,
  message: M,
  timeoutMs = MESSAGE_TIMEOUT_MS,
): Promise<LitigationOutcome> {
  const workflowId = litigationWorkflowId(caseId, measureId);
  try {
    const outcome = await within(client, timeoutMs, () =>
      client.workflow.getHandle(workflowId).executeUpdate(update, { args: [message], updateId: updateIdFor(update.name, message.requestId) }),
    );
    return 'timedOut' in outcome ? { kind: 'timeout' } : { kind: 'applied', view: outcome.value };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === MESSAGE_REFUSED) {
      return { kind: 'refused', refusal: err.cause.details?.[0] as Refusal };
    }
    // Not found, or (the server's word for a closed one) "workflow execution already completed".
    if (err instanceof WorkflowNotFoundError) return endedSuit(client, workflowId, timeoutMs);
    throw err;
  }
}

/** The suit's view, from its query: a suit that has ended still answers (a worker replays it). */
export async function readLitigation(
  client: Client,
  caseId: string,
  measureId: string,
  timeoutMs = MESSAGE_TIMEOUT_MS,
): Promise<{ kind: 'view'; view: LitigationView } | { kind: 'not_found' } | { kind: 'timeout' }> {
  try {
    const outcome = await within(client, timeoutMs, () => client.workflow.getHandle(litigationWorkflowId(caseId, measureId)).query(litigationStateQuery));
    return 'timedOut' in outcome ? { kind: 'timeout' } : { kind: 'view', view: outcome.value };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { kind: 'not_found' };
    throw err;
  }
}

