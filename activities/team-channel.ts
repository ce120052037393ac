/**
 * The team channel (清收微信群): the latest results, posted where the collection team comments on
 * them. Which business events are results, and what their message says: ids, branch, hand and
 * amounts only, never a name, ID number or phone.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/client';
import { teamChannelOutbox } from '../db/schema';
import type { CaseEventRecord, ProjectionBatch } from './contract';
import type { Executor } from './outbox';
import type { WatchEventRecord, WatchProjectionBatch } from './watch-contract';

export const TEAM_CHANNEL_KINDS = ['recovery', 'broken_promise', 'escalation', 'approval'] as const;
export type TeamChannelKind = (typeof TEAM_CHANNEL_KINDS)[number];

/** Escalations from this hand on are posted: the law hands (靠法), where suits are filed. */
export const TEAM_CHANNEL_ESCALATION_HAND = 5;

interface TeamChannelResult {
  eventId: string;
  kind: TeamChannelKind;
  branch: string;
  currency: string;
  occurredAt: string;
  /** What happened, in figures: amounts in minor units of `currency`. */
  detail: Record<string, unknown>;
}

export interface TeamChannelMessage extends TeamChannelResult {
  caseId: string;
  hand: number;
}

/** A risk watch's result: the loan is not overdue, so there is no hand. */
export interface WatchTeamChannelMessage extends TeamChannelResult {
  watchId: string;
}

const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

function messageOf(event: CaseEventRecord, batch: Pick<ProjectionBatch, 'caseId' | 'view'>): TeamChannelMessage | null {
  const p = event.payload;
  const base = {
    eventId: event.eventId,
    caseId: batch.caseId,
    branch: batch.view.branch,
    hand: num(p.hand) ?? batch.view.hand,
    currency: batch.view.currency,
    occurredAt: event.occurredAt,
  };
  switch (event.type) {
    case 'payment_recorded':
      return {
        ...base,
        kind: 'recovery',
        detail: { amount: num(p.amount), recoveredAfter: num(p.recoveredAfter), overdueAfter: num(p.overdueAfter), afterWriteOff: p.afterWriteOff === true },
      };
    case 'promise_broken':
      return { ...base, kind: 'broken_promise', detail: { amount: num(p.amount), paidSoFar: num(p.paidSoFar), dueDate: p.dueDate ?? null } };
    case 'hand_entered':
    case 'hand_entered_late': {
      const hand = num(p.hand);
      if (hand === null || hand < TEAM_CHANNEL_ESCALATION_HAND) return null;
      return { ...base, kind: 'escalation', detail: { from: num(p.from), reason: p.reason ?? null, overdue: batch.view.overdue } };
    }
    case 'measure_approved':
      return { ...base, kind: 'approval', detail: { approved: 'measure', measureId: p.measureId ?? null, type: p.type ?? null } };
    case 'case_written_off':
      return { ...base, kind: 'approval', detail: { approved: 'write_off', amount: num(p.amount) } };
    default:
      return null;
  }
}

/** The results among a batch's events, oldest first. */
export function teamChannelMessages(batch: Pick<ProjectionBatch, 'caseId' | 'view' | 'events'>): TeamChannelMessage[] {
  return batch.events.flatMap((event) => messageOf(event, batch) ?? []);
}

function watchMessageOf(event: WatchEventRecord, batch: Pick<WatchProjectionBatch, 'watchId' | 'view'>): WatchTeamChannelMessage | null {
  if (event.type !== 'exit_measure_approved') return null;
  const p = event.payload;
  return {
    eventId: event.eventId,
    kind: 'approval',
    watchId: batch.watchId,
    branch: batch.view.branch,
    currency: batch.view.currency,
    occurredAt: event.occurredAt,
    detail: { approved: 'exit_measure', measureId: p.measureId ?? null, type: p.type ?? null, outstanding: batch.view.outstanding },
  };
}

/** A watch's results among a batch's events, oldest first: the exit plan's approvals. */
export function watchTeamChannelMessages(batch: Pick<WatchProjectionBatch, 'watchId' | 'view' | 'events'>): WatchTeamChannelMessage[] {
  return batch.events.flatMap((event) => watchMessageOf(event, batch) ?? []);
}

/** A short stable key of a URL: the row id stays the same however the list is reordered. */
export function urlKey(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 12);
}

/** The outbox row id, also the receiver's idempotency key: one per event and URL. */
export function teamChannelRowId(eventId: string, url: string): string {
  return `${eventId}@${urlKey(url)}`;
}

async function enqueue(tx: Executor | Database, messages: (TeamChannelMessage | WatchTeamChannelMessage)[], urls: readonly string[]): Promise<void> {
  if (urls.length === 0 || messages.length === 0) return;
  await tx
    .insert(teamChannelOutbox)
    .values(
      messages.flatMap((m) =>
        urls.map((url) => ({
          id: teamChannelRowId(m.eventId, url),
          eventId: m.eventId,
          caseId: 'caseId' in m ? m.caseId : null,
          watchId: 'watchId' in m ? m.watchId : null,
          kind: m.kind,
          url,
          payload: { ...m },
        })),
      ),
    )
    .onConflictDoNothing();
}

/**
 * Writes a batch's results into the team channel outbox, in the projection's transaction, one
 * row per configured URL. A retried batch writes nothing twice (`ON CONFLICT DO NOTHING`).
 */
export async function enqueueTeamChannel(
  tx: Executor | Database,
  batch: Pick<ProjectionBatch, 'caseId' | 'view' | 'events'>,
  urls: readonly string[],
): Promise<void> {
  await enqueue(tx, teamChannelMessages(batch), urls);
}

/** As `enqueueTeamChannel`, for a watch's batch, in the watch projection's transaction. */
export async function enqueueWatchTeamChannel(
  tx: Executor | Database,
  batch: Pick<WatchProjectionBatch, 'watchId' | 'view' | 'events'>,
  urls: readonly string[],
): Promise<void> {
  await enqueue(tx, watchTeamChannelMessages(batch), urls);
}
