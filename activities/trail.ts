import { ApplicationFailure } from '@temporalio/common';
import type { Actor } from '../domain';
import { describeDatabaseError, isDataError } from '../db/errors';
import { PROJECTION_REFUSED } from './contract';

/** An event of a case's or a watch's trail, as its workflow made it. */
interface TrailEvent {
  eventId: string;
  seq: number;
  type: string;
  actor: Actor;
  requestId: string | null;
  occurredAt: string;
  payload: Record<string, unknown>;
}

/** The columns `case_events` and `watch_events` share, for one event of run `runId`. */
export function trailColumns<E extends TrailEvent>(e: E, runId: string) {
  return {
    eventId: e.eventId,
    runId,
    seq: e.seq,
    type: e.type as E['type'],
    actorSub: e.actor.sub,
    actorRole: e.actor.role,
    requestId: e.requestId,
    occurredAt: new Date(e.occurredAt),
    payload: e.payload,
  };
}

/**
 * A batch PostgreSQL refused for its data fails non-retryably: retrying cannot help, and the
 * workflow sets it aside as an incident. Any other error is rethrown for the activity to retry.
 */
export function refusedForData(err: unknown, what: string): never {
  if (!isDataError(err)) throw err;
  const { code, message } = describeDatabaseError(err);
  throw ApplicationFailure.create({ type: PROJECTION_REFUSED, message: `${what}: ${code ?? ''} ${message}`.trim(), nonRetryable: true });
}
