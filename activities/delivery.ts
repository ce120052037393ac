import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { caseParties, notificationOutbox } from '../db/schema';
import type { NotificationChannel } from '../domain';
import type { ChannelAdapter } from './channels';
import type { DeliveryResult } from './contract';

export function createDeliveryActivities(db: Database, adapterFor: (channel: NotificationChannel) => ChannelAdapter) {
  return {
    /**
     * Drains a case's pending notifications through their channel adapters. Each row is marked
     * sent as soon as it is; a failure is recorded on its row and the activity fails, so
     * Temporal retries only what is still pending.
     */
    async deliverNotifications({ caseId }: { caseId: string }): Promise<DeliveryResult> {
      const pending = await db
        .select()
        .from(notificationOutbox)
        .where(and(eq(notificationOutbox.caseId, caseId), eq(notificationOutbox.status, 'pending')))
        .orderBy(asc(notificationOutbox.createdAt), asc(notificationOutbox.id));
      if (pending.length === 0) return { sent: 0 };
      const parties = await db.select().from(caseParties).where(eq(caseParties.caseId, caseId));
      let sent = 0;
      const failures: string[] = [];
      for (const row of pending) {
        const role = row.recipient === 'guarantors' ? 'guarantor' : 'borrower';
        const recipients = parties.filter((p) => p.role === role);
        try {
          for (const person of recipients) {
            await adapterFor(row.channel as NotificationChannel).send({
              id: row.id,
              caseId,
              channel: row.channel as NotificationChannel,
              template: row.template,
              recipient: { role, name: person.name, phone: person.phone },
              payload: row.payload,
            });
          }
          await db
            .update(notificationOutbox)
            .set({ status: 'sent', sentAt: new Date(), attempts: sql`${notificationOutbox.attempts} + 1`, lastError: null })
            .where(eq(notificationOutbox.id, row.id));
          sent++;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          failures.push(`${row.id}: ${message}`);
          await db
            .update(notificationOutbox)
            .set({ attempts: sql`${notificationOutbox.attempts} + 1`, lastError: message })
            .where(eq(notificationOutbox.id, row.id));
        }
      }
      if (failures.length > 0) throw new Error(`${failures.length} notification(s) not delivered: ${failures.join('; ')}`);
      return { sent };
    },
  };
}
