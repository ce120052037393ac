import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities, type ChannelAdapter, type OutgoingNotification } from '../../activities';
import type { ProjectionBatch } from '../../activities/contract';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { bringLedgerTo } from '../../db/answered-batch';
import { caseEvents, cases, notificationOutbox, payments, projectionIncidents, teamChannelOutbox } from '../../db/schema';
import { createLogger } from '../../logger';
import { OFFICER, newLoan, openingView } from '../support/fixtures';

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
    view: openingView(loan, now),
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

  it('queues only the team channel\'s posts for a batch the API wrote first, and doubles nothing', async () => {
    const { projectCase } = createActivities({ db: database.db, logger: createLogger('silent'), teamChannelUrls: ['http://127.0.0.1:1/team'] });
    const batch = openingBatch();
    const count = async (table: typeof caseEvents | typeof payments | typeof notificationOutbox | typeof teamChannelOutbox) =>
      (await database.db.select({ n: sql<number>`count(*)::int` }).from(table).where(eq(table.caseId, batch.caseId)))[0]!.n;
    // The API writes the batch an update answered with, without the team channel's posts.
    expect(await bringLedgerTo(database.db, batch, 1_000)).toBe(true);
    expect(await count(teamChannelOutbox)).toBe(0);

    await projectCase(batch);
    await projectCase(batch); // a retry
    expect(await count(teamChannelOutbox)).toBe(1);
    const [post] = await database.db.select().from(teamChannelOutbox).where(eq(teamChannelOutbox.caseId, batch.caseId));
    expect(post).toMatchObject({ eventId: batch.events[0]!.eventId, kind: 'recovery' });
    expect([await count(caseEvents), await count(payments), await count(notificationOutbox)]).toEqual([1, 1, 2]);
    const [row] = await database.db.select().from(cases).where(eq(cases.caseId, batch.caseId));
    expect(row).toMatchObject({ version: 1, episode: 1 });
  });

  it('moves the ledger row only forward across episodes: a late retry of an earlier episode lands in its own', async () => {
    const { projectCase } = createActivities({ db: database.db, logger: createLogger('silent') });
    const first = { ...openingBatch(), episode: 1 };
    await projectCase(first);
    const later = new Date(Date.parse(first.view.openedAt) + 60_000).toISOString();
    const second = {
      ...openingBatch(),
      caseId: first.caseId,
      episode: 2,
      view: { ...first.view, openedAt: later, overdue: 7_000 },
      parties: first.parties,
      events: [{ ...first.events[0]!, eventId: randomUUID(), seq: 1, type: 'case_opened' as const }],
      payments: [],
      notifications: [],
    };
    await projectCase(second);
    // A retry of the first episode's run arrives late, with a higher version of its own.
    const lateEvent = { ...first.events[0]!, eventId: randomUUID(), seq: 2, type: 'note_added' as const };
    await projectCase({ ...first, version: 5, view: { ...first.view, overdue: 1 }, events: [lateEvent], payments: [], notifications: [] });

    const [row] = await database.db.select().from(cases).where(eq(cases.caseId, first.caseId));
    expect(row).toMatchObject({ episode: 2, runId: second.episodeRunId, overdue: 7_000 });
    const trail = await database.db.select().from(caseEvents).where(eq(caseEvents.caseId, first.caseId));
    expect(trail.map((e) => [e.episode, e.seq, e.type]).sort()).toEqual([
      [1, 1, 'payment_recorded'],
      [1, 2, 'note_added'],
      [2, 1, 'case_opened'],
    ]);
  });

  it('fails a batch PostgreSQL refuses for its data non-retryably, and keeps it as an incident', async () => {
    const { projectCase, recordProjectionIncident } = createActivities({ db: database.db, logger: createLogger('silent') });
    const batch = openingBatch();
    const refused = { ...batch, view: { ...batch.view, overdue: -1 } }; // cases_money_non_negative
    const failure = await projectCase(refused).catch((err: unknown) => err);
    expect(failure).toMatchObject({ type: 'ProjectionRefused', nonRetryable: true, message: expect.stringContaining('23514') });
    await recordProjectionIncident({ caseId: batch.caseId, runId: batch.runId, version: 1, error: String((failure as Error).message), batch: refused });
    const [incident] = await database.db.select().from(projectionIncidents).where(eq(projectionIncidents.caseId, batch.caseId));
    expect(incident).toMatchObject({ version: 1, eventTypes: ['payment_recorded'], resolvedAt: null });
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
