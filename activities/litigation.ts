import { ApplicationFailure } from '@temporalio/common';
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { describeDatabaseError, isDataError } from '../db/errors';
import { cases, officerTasks } from '../db/schema';
import { litigationTaskId, type LitigationStep, type TaskType } from '../domain';

/** The failure type of a task the ledger cannot take (no case row, a refused value): the suit
 * records the overdue step without a task instead of retrying for ever. */
export const LITIGATION_TASK_REFUSED = 'LitigationTaskRefused';

const OVERDUE_TASK: TaskType = 'litigation_step_overdue';

export interface RaiseLitigationTask {
  caseId: string;
  measureId: string;
  /** The step that ran late. */
  step: LitigationStep;
  /** When it fell due (ISO): the task's due time. */
  dueAt: string;
}

export interface RaisedLitigationTask {
  taskId: string;
  /** The officer the task went to: the case's officer (the one already on it, for a repeat). */
  officerId: string | null;
  /** False when the task was already there (the activity ran before). */
  created: boolean;
}

export function createLitigationActivities(db: Database) {
  return {
    /**
     * Inserts the overdue task of a late step for the case's current officer, at the case's
     * current hand, in one statement read from the ledger row. Its id is made from the measure
     * and the step, so a retry (or a second run of the activity) inserts nothing twice.
     */
    async raiseLitigationTask({ caseId, measureId, step, dueAt }: RaiseLitigationTask): Promise<RaisedLitigationTask> {
      const taskId = litigationTaskId(measureId, step);
      try {
        const inserted = await db.execute<{ officer_id: string | null }>(sql`
          insert into ${officerTasks} (${sql.identifier(officerTasks.id.name)}, ${sql.identifier(officerTasks.caseId.name)},
            ${sql.identifier(officerTasks.type.name)}, ${sql.identifier(officerTasks.hand.name)},
            ${sql.identifier(officerTasks.officerId.name)}, ${sql.identifier(officerTasks.dueAt.name)})
          select ${taskId}, ${cases.caseId}, ${OVERDUE_TASK}, ${cases.hand}, ${cases.officerId}, ${new Date(dueAt).toISOString()}::timestamptz
          from ${cases} where ${cases.caseId} = ${caseId}
          on conflict do nothing
          returning ${sql.identifier(officerTasks.officerId.name)}`);
        const row = inserted.rows[0];
        if (row) return { taskId, officerId: row.officer_id, created: true };
        const [existing] = await db
          .select({ officerId: officerTasks.officerId })
          .from(officerTasks)
          .where(and(eq(officerTasks.id, taskId), eq(officerTasks.caseId, caseId)));
        if (existing) return { taskId, officerId: existing.officerId, created: false };
      } catch (err) {
        if (!isDataError(err)) throw err;
        const { code, message } = describeDatabaseError(err);
        throw ApplicationFailure.create({
          type: LITIGATION_TASK_REFUSED,
          message: `the ledger refused the overdue task ${taskId}: ${code ?? ''} ${message}`.trim(),
          nonRetryable: true,
        });
      }
      throw ApplicationFailure.create({
        type: LITIGATION_TASK_REFUSED,
        message: `no case ${caseId} in the ledger for the overdue task ${taskId}`,
        nonRetryable: true,
      });
    },
  };
}
