import { WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import type { CaseOpening, OpenCaseResult } from '../../domain';
import { openCase } from '../../temporal/open-case';

/** How long intake waits for the case workflow to answer before telling the caller to retry. */
export const INTAKE_TIMEOUT_MS = 10_000;

export type IntakeOutcome = { kind: 'answered'; result: OpenCaseResult } | { kind: 'timeout' };

/**
 * Intake's one atomic call (update-with-start, `temporal/open-case.ts`), bounded in time: with no
 * worker to answer, the client would otherwise wait for ever. A timed-out intake may still have
 * started the case; the caller retries with the same request id.
 */
export async function openCaseWithin(
  client: Client,
  taskQueue: string,
  opening: CaseOpening,
  timeoutMs = INTAKE_TIMEOUT_MS,
): Promise<IntakeOutcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const result = await client.withAbortSignal(signal, () => openCase(client, taskQueue, opening));
    return { kind: 'answered', result };
  } catch (err) {
    if (signal.aborted || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { kind: 'timeout' };
    throw err;
  }
}
