import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyRequest } from 'fastify';
import type { CaseEventRow, CasesRepository } from './plugins/app/cases-repository';

/** How long `?wait=true` waits for the case to record a message. */
export const WAIT_TIMEOUT_MS = 10_000;
export const WAIT_POLL_MS = 100;

/** The request id a message is recorded under: the client's Idempotency-Key, or a new one. */
export function requestIdOf(request: FastifyRequest): string {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' && key.length > 0 ? key : randomUUID();
}

export type MessageOutcome =
  | { kind: 'recorded'; events: CaseEventRow[] }
  | { kind: 'rejected'; reason: string; event: CaseEventRow }
  | { kind: 'pending' };

/** What the case made of a message, judged by the events that carry its request id. */
export function outcomeOf(events: CaseEventRow[]): MessageOutcome {
  if (events.length === 0) return { kind: 'pending' };
  const rejection = events.find((event) => event.type === 'message_rejected');
  if (rejection) {
    const reason = rejection.payload.reason;
    return { kind: 'rejected', reason: typeof reason === 'string' ? reason : 'rejected', event: rejection };
  }
  return { kind: 'recorded', events };
}

/** Polls the business trail until the case has recorded (or refused) the message, or time runs out. */
export async function waitForOutcome(
  repository: CasesRepository,
  caseId: string,
  requestId: string,
  options: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {},
): Promise<MessageOutcome> {
  const deadline = Date.now() + (options.timeoutMs ?? WAIT_TIMEOUT_MS);
  for (;;) {
    const outcome = outcomeOf(await repository.eventsForRequest(caseId, requestId));
    if (outcome.kind !== 'pending' || Date.now() >= deadline || options.signal?.aborted) return outcome;
    await sleep(Math.min(options.pollMs ?? WAIT_POLL_MS, Math.max(0, deadline - Date.now())));
  }
}
