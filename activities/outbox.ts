import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { caseParties, notificationOutbox } from '../db/schema';
import { placeholderRows, queryableOf, rowValues, runStatement, statementBuilder, statementsByCount } from '../db/statements';
import type { NotificationRecord, ProjectionBatch } from './contract';

/** A transaction of the projection (or the database itself). */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

const OUTBOX_KEYS = ['id', 'notificationId', 'caseId', 'channel', 'template', 'recipient', 'partyRole', 'partyPosition', 'payload'] as const;
type OutboxRow = Pick<typeof notificationOutbox.$inferInsert, (typeof OUTBOX_KEYS)[number]>;

/** A batch's letters, one row per recipient: a few. */
const insertOutboxRows = statementsByCount('outbox_insert', 6, (count) =>
  statementBuilder.insert(notificationOutbox).values(placeholderRows(OUTBOX_KEYS, count) as never).onConflictDoNothing(),
);

/** The outbox row id of one recipient, the idempotency key its gateway sees: stable across
 * retries of the projection, of the delivery and of the case's continue-as-new. */
export function outboxRowId(notificationId: string, party: { role: 'borrower' | 'guarantor'; position: number }): string {
  return party.role === 'borrower' ? `${notificationId}:borrower` : `${notificationId}:guarantor:${party.position + 1}`;
}

/** One row per recipient party: the borrower, or each guarantor (none when the case has none). */
export function outboxRows(caseId: string, notifications: NotificationRecord[], guarantorPositions: number[]): OutboxRow[] {
  return notifications.flatMap((n) => {
    const parties =
      n.recipient === 'borrower'
        ? [{ role: 'borrower' as const, position: 0 }]
        : guarantorPositions.map((position) => ({ role: 'guarantor' as const, position }));
    return parties.map((party) => ({
      id: outboxRowId(n.id, party),
      notificationId: n.id,
      caseId,
      channel: n.channel,
      template: n.template,
      recipient: n.recipient,
      partyRole: party.role,
      partyPosition: party.position,
      payload: n.payload,
    }));
  });
}

/**
 * Writes a batch's notifications into the outbox, in the projection's transaction. Guarantors
 * come from the batch's parties (the opening batch) or else from `case_parties`. A retried
 * batch writes nothing twice (`ON CONFLICT DO NOTHING` on the stable ids).
 */
export async function writeOutbox(
  tx: Executor,
  batch: Pick<ProjectionBatch, 'caseId' | 'notifications' | 'parties'>,
): Promise<void> {
  if (batch.notifications.length === 0) return;
  const needsGuarantors = batch.notifications.some((n) => n.recipient === 'guarantors');
  let guarantorPositions: number[] = [];
  if (needsGuarantors) {
    guarantorPositions = batch.parties
      ? batch.parties.guarantors.map((_, position) => position)
      : (
          await tx
            .select({ position: caseParties.position })
            .from(caseParties)
            .where(and(eq(caseParties.caseId, batch.caseId), eq(caseParties.role, 'guarantor')))
            .orderBy(asc(caseParties.position))
        ).map((p) => p.position);
  }
  const rows = outboxRows(batch.caseId, batch.notifications, guarantorPositions);
  if (rows.length === 0) return;
  await runStatement(queryableOf(tx), insertOutboxRows(rows.length), rowValues(OUTBOX_KEYS, rows));
}
