import { Context } from '@temporalio/activity';
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { caseEvents, caseParties, cases, notificationOutbox } from '../db/schema';

/** Who erases: the retention job, not a person. */
export const RETENTION_ACTOR = { sub: 'retention', role: 'system' } as const;

export interface ErasureInput {
  /** At most this many cases per call: the workflow calls again while `more` says so. */
  limit: number;
}

export interface ErasureResult {
  /** Cases whose parties' personal data this call erased. */
  erased: number;
  more: boolean;
}

/** A case whose collection has ended for good (the run finished: recovered, or written off with
 * nothing left to recover) and whose policy's retention has passed since it closed. */
interface DueCase {
  caseId: string;
  episode: number;
  runId: string;
  closedAt: Date;
  retentionDays: number;
  policyName: string;
  policyVersion: number;
}

const finishedCase = sql`(${cases.stage} = 'recovered' or (${cases.stage} = 'written_off' and ${cases.outstanding} = 0))`;
/** The same, over the alias `c` of the query that finds due cases. */
const FINISHED_C = sql.raw(`(c.stage = 'recovered' or (c.stage = 'written_off' and c.outstanding = 0))`);

/**
 * Retention of personal data: erases the borrower's and guarantors' names, ID numbers and phones of
 * cases closed longer than their policy's `personalDataRetentionDays` (in the policy's case days),
 * keeping the ledger's figures and the business trail, and records the erasure as a case event
 * that holds counts only. Safe to run twice: an erased case has no parties left to erase, and the
 * event's id is fixed per episode.
 */
export function createRetentionActivities(db: Database) {
  async function dueCases(limit: number): Promise<DueCase[]> {
    const { rows } = await db.execute<{
      case_id: string;
      episode: number;
      run_id: string;
      closed_at: string;
      retention_days: number;
      policy_name: string;
      policy_version: number;
    }>(sql`
      select c.case_id, c.episode, c.run_id, c.closed_at, p.personal_data_retention_days as retention_days,
             c.policy_name, c.policy_version
        from cases c
        join collection_policies p on p.name = c.policy_name and p.version = c.policy_version
       where p.personal_data_retention_days is not null
         and c.closed_at is not null
         and ${FINISHED_C}
         and c.closed_at + (p.personal_data_retention_days::bigint * p.day_ms) * interval '1 millisecond' <= now()
         and exists (select 1 from case_parties cp where cp.case_id = c.case_id and cp.recorded_at <= c.closed_at)
       order by c.closed_at
       limit ${limit}`);
    return rows.map((r) => ({
      caseId: r.case_id,
      episode: r.episode,
      runId: r.run_id,
      closedAt: new Date(r.closed_at),
      retentionDays: r.retention_days,
      policyName: r.policy_name,
      policyVersion: r.policy_version,
    }));
  }

  async function erase(due: DueCase): Promise<boolean> {
    return db.transaction(async (tx) => {
      // Under the case's row lock: a new episode opening meanwhile (a later closed_at, or a stage
      // that is no longer closed) keeps the parties its intake wrote.
      const [current] = await tx
        .select({ episode: cases.episode, closedAt: cases.closedAt })
        .from(cases)
        .where(and(eq(cases.caseId, due.caseId), finishedCase))
        .for('update');
      if (!current || current.episode !== due.episode || current.closedAt?.getTime() !== due.closedAt.getTime()) return false;
      const removed = await tx
        .delete(caseParties)
        .where(and(eq(caseParties.caseId, due.caseId), lte(caseParties.recordedAt, due.closedAt)))
        .returning({ role: caseParties.role });
      if (removed.length === 0) return false;
      // Nothing is sent to a person whose data is gone.
      await tx
        .update(notificationOutbox)
        .set({ status: 'failed', lastError: 'not sent: the parties\' personal data was erased under the retention policy' })
        .where(and(eq(notificationOutbox.caseId, due.caseId), eq(notificationOutbox.status, 'pending')));
      const [{ seq } = { seq: 0 }] = await tx
        .select({ seq: sql<number>`coalesce(max(${caseEvents.seq}), 0)::int` })
        .from(caseEvents)
        .where(and(eq(caseEvents.caseId, due.caseId), eq(caseEvents.episode, due.episode)));
      await tx
        .insert(caseEvents)
        .values({
          eventId: `personal-data-erased:${due.caseId}:${due.episode}`,
          caseId: due.caseId,
          runId: due.runId,
          episode: due.episode,
          seq: seq + 1,
          type: 'personal_data_erased',
          actorSub: RETENTION_ACTOR.sub,
          actorRole: RETENTION_ACTOR.role,
          requestId: null,
          occurredAt: new Date(),
          payload: {
            borrowers: removed.filter((r) => r.role === 'borrower').length,
            guarantors: removed.filter((r) => r.role === 'guarantor').length,
            closedAt: due.closedAt.toISOString(),
            retentionDays: due.retentionDays,
            policy: { name: due.policyName, version: due.policyVersion },
          },
        })
        .onConflictDoNothing();
      return true;
    });
  }

  return {
    async erasePersonalData(input: ErasureInput): Promise<ErasureResult> {
      const due = await dueCases(input.limit);
      let erased = 0;
      for (const kase of due) {
        if (await erase(kase)) erased++;
        Context.current().heartbeat(erased);
      }
      return { erased, more: due.length === input.limit };
    },
  };
}
