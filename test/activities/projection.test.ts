import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities, type ChannelAdapter, type OutgoingNotification } from '../../activities';
import type { ProjectionBatch } from '../../activities/contract';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { caseEvents, cases, notificationOutbox, payments } from '../../db/schema';
import { createLogger } from '../../logger';
import { OFFICER, newLoan } from '../support/fixtures';

let database: DatabaseHandle;
beforeAll(() => {
  database = createDatabase(inject('databaseUrl'), 3);
});
afterAll(async () => {
  await database?.close();
});

function openingBatch(): ProjectionBatch {
  const loan = newLoan();
  const caseId = `case-${loan.loanId}`;
  const eventId = randomUUID();
  const now = new Date().toISOString();
  return {
    caseId,
    episodeRunId: randomUUID(),
    runId: randomUUID(),
    version: 1,
    view: {
      caseId,
      loanId: loan.loanId,
      stage: 'collecting',
      hand: 1,
      daysPastDue: 0,
      pausedDays: 0,
      overdueSince: loan.overdueSince,
      currency: loan.currency,
      principal: loan.principal,
      overdue: loan.overdue,
      outstanding: loan.outstanding,
      recovered: 0,
      branch: loan.branch,
      product: loan.product,
      secured: loan.secured,
      officerId: loan.officerId ?? null,
      policy: { name: 'standard', version: 1 },
      openPromise: null,
      pause: null,
      nextAction: null,
      openedAt: now,
      closedAt: null,
    },
    lastEvent: { type: 'payment_recorded', at: now },
    collateral: loan.collateral,
    parties: { borrower: loan.borrower, guarantors: loan.guarantors },
    events: [{ eventId, seq: 1, type: 'payment_recorded', actor: OFFICER, requestId: randomUUID(), occurredAt: now, payload: {} }],
    payments: [{ reference: 'R-1', amount: 100, paidAt: now, receivedAt: now, eventId, recordedBy: OFFICER.sub }],
    notifications: [
      { id: `${eventId}:0`, channel: 'sms', template: 'payment_reminder', recipient: 'borrower', payload: {} },
      { id: `${eventId}:1`, channel: 'letter', template: 'warning_letter', recipient: 'guarantors', payload: {} },
    ],
    tasks: [],
  };
}

describe('projectCase', () => {
  it('writes a retried batch once, and never lets an older batch overwrite a newer one', async () => {
    const { projectCase } = createActivities({ db: database.db, logger: createLogger('silent') });
    const batch = openingBatch();
    await projectCase(batch);
    await projectCase(batch);
    const newer = { ...batch, version: 2, view: { ...batch.view, hand: 2 as const }, events: [], payments: [], notifications: [] };
    await projectCase(newer);
    await projectCase(batch); // a late retry of version 1

    const count = async (table: typeof caseEvents | typeof payments | typeof notificationOutbox) =>
      (await database.db.select({ n: sql<number>`count(*)::int` }).from(table).where(eq(table.caseId, batch.caseId)))[0]!.n;
    expect(await count(caseEvents)).toBe(1);
    expect(await count(payments)).toBe(1);
    expect(await count(notificationOutbox)).toBe(2);
    const [row] = await database.db.select().from(cases).where(eq(cases.caseId, batch.caseId));
    expect(row).toMatchObject({ version: 2, hand: 2, episode: 1 });
  });

  it('refuses to change or delete the business trail', async () => {
    const { projectCase } = createActivities({ db: database.db, logger: createLogger('silent') });
    const batch = openingBatch();
    await projectCase(batch);
    const refused = { cause: { message: expect.stringMatching(/case_events is append-only/) } };
    await expect(
      database.db.update(caseEvents).set({ type: 'note_added' }).where(eq(caseEvents.caseId, batch.caseId)),
    ).rejects.toMatchObject(refused);
    await expect(database.db.delete(caseEvents).where(eq(caseEvents.caseId, batch.caseId))).rejects.toMatchObject(refused);
  });
});

describe('deliverNotifications', () => {
  it('sends each pending notification to its recipients and keeps a failed one pending for the retry', async () => {
    const sent: OutgoingNotification[] = [];
    let letterDown = true;
    const sms: ChannelAdapter = { send: async (n) => void sent.push(n) };
    const letter: ChannelAdapter = {
      send: async (n) => {
        if (letterDown) throw new Error('print service unavailable');
        sent.push(n);
      },
    };
    const activities = createActivities({ db: database.db, logger: createLogger('silent'), channels: { sms, letter } });
    const batch = openingBatch();
    await activities.projectCase(batch);

    await expect(activities.deliverNotifications({ caseId: batch.caseId })).rejects.toThrow(/print service unavailable/);
    const afterFailure = await database.db.select().from(notificationOutbox).where(eq(notificationOutbox.caseId, batch.caseId));
    expect(afterFailure.map((r) => [r.channel, r.status, r.attempts]).sort()).toEqual([
      ['letter', 'pending', 1],
      ['sms', 'sent', 1],
    ]);

    letterDown = false;
    await expect(activities.deliverNotifications({ caseId: batch.caseId })).resolves.toEqual({ sent: 1 });
    expect(sent.map((n) => [n.channel, n.recipient.role, n.recipient.name])).toEqual([
      ['sms', 'borrower', 'Zhang Wei'],
      ['letter', 'guarantor', 'Li Na'],
    ]);
  });
});
