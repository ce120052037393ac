import { eq, getTableColumns, sql, and } from 'drizzle-orm';
import type { Database } from '../db/client';
import { caseEvents, caseParties, cases, notificationOutbox, officerTasks, payments } from '../db/schema';
import type { ProjectionBatch } from './contract';

type CaseRow = typeof cases.$inferInsert;

function caseRow(batch: ProjectionBatch): CaseRow {
  const { view } = batch;
  return {
    caseId: batch.caseId,
    loanId: view.loanId,
    runId: batch.episodeRunId,
    stage: view.stage,
    hand: view.hand,
    daysPastDue: view.daysPastDue,
    pausedDays: view.pausedDays,
    overdueSince: view.overdueSince,
    currency: view.currency,
    principal: view.principal,
    outstanding: view.outstanding,
    overdue: view.overdue,
    recovered: view.recovered,
    branch: view.branch,
    product: view.product,
    secured: view.secured,
    officerId: view.officerId,
    policyName: view.policy.name,
    policyVersion: view.policy.version,
    collateral: batch.collateral,
    openPromise: view.openPromise,
    pause: view.pause,
    nextAction: view.nextAction,
    nextActionAt: view.nextAction ? new Date(view.nextAction.at) : null,
    lastEventType: batch.lastEvent?.type ?? null,
    lastEventAt: batch.lastEvent ? new Date(batch.lastEvent.at) : null,
    openedAt: new Date(view.openedAt),
    closedAt: view.closedAt ? new Date(view.closedAt) : null,
    version: batch.version,
    updatedAt: new Date(),
  };
}

const caseColumns = getTableColumns(cases);
const excluded = (key: keyof typeof caseColumns) => sql.raw(`excluded."${caseColumns[key].name}"`);

/** Every column but the key and the episode takes the incoming value. */
const overwrite = Object.fromEntries(
  (Object.keys(caseColumns) as (keyof typeof caseColumns)[])
    .filter((key) => key !== 'caseId' && key !== 'episode')
    .map((key) => [key, excluded(key)]),
);

export function createProjectionActivities(db: Database) {
  return {
    /**
     * Writes one batch in one transaction. Safe to run twice: events, payments, notifications
     * and tasks carry ids made in the workflow, and the ledger row only moves forward by
     * version — or to a new episode when the loan's case was opened again after closing.
     */
    async projectCase(batch: ProjectionBatch): Promise<void> {
      await db.transaction(async (tx) => {
        await tx
          .insert(cases)
          .values(caseRow(batch))
          .onConflictDoUpdate({
            target: cases.caseId,
            set: {
              ...overwrite,
              episode: sql`case when ${cases.runId} <> excluded.run_id then ${cases.episode} + 1 else ${cases.episode} end`,
            },
            setWhere: sql`${cases.runId} <> excluded.run_id or ${cases.version} < excluded.version`,
          });
        const [row] = await tx
          .select({ episode: cases.episode, runId: cases.runId })
          .from(cases)
          .where(eq(cases.caseId, batch.caseId));
        const episode = row!.episode;

        if (batch.parties) {
          await tx.delete(caseParties).where(eq(caseParties.caseId, batch.caseId));
          const { borrower, guarantors } = batch.parties;
          await tx.insert(caseParties).values([
            { caseId: batch.caseId, role: 'borrower' as const, position: 0, ...borrower },
            ...guarantors.map((g, position) => ({ caseId: batch.caseId, role: 'guarantor' as const, position, ...g })),
          ]);
        }
        if (batch.events.length > 0) {
          await tx
            .insert(caseEvents)
            .values(
              batch.events.map((e) => ({
                eventId: e.eventId,
                caseId: batch.caseId,
                runId: batch.runId,
                episode,
                seq: e.seq,
                type: e.type,
                actorSub: e.actor.sub,
                actorRole: e.actor.role,
                requestId: e.requestId,
                occurredAt: new Date(e.occurredAt),
                payload: e.payload,
              })),
            )
            .onConflictDoNothing();
        }
        if (batch.payments.length > 0) {
          await tx
            .insert(payments)
            .values(
              batch.payments.map((p) => ({
                caseId: batch.caseId,
                episode,
                reference: p.reference,
                amount: p.amount,
                currency: batch.view.currency,
                paidAt: new Date(p.paidAt),
                receivedAt: new Date(p.receivedAt),
                eventId: p.eventId,
                recordedBy: p.recordedBy,
              })),
            )
            .onConflictDoNothing();
        }
        if (batch.notifications.length > 0) {
          await tx
            .insert(notificationOutbox)
            .values(batch.notifications.map((n) => ({ ...n, caseId: batch.caseId })))
            .onConflictDoNothing();
        }
        if (batch.tasks.length > 0) {
          await tx
            .insert(officerTasks)
            .values(batch.tasks.map((t) => ({ ...t, caseId: batch.caseId, dueAt: new Date(t.dueAt) })))
            .onConflictDoNothing();
        }
        if (batch.reassignTasksTo) {
          await tx
            .update(officerTasks)
            .set({ officerId: batch.reassignTasksTo })
            .where(and(eq(officerTasks.caseId, batch.caseId), eq(officerTasks.status, 'open')));
        }
      });
    },
  };
}
