/**
 * One voice per borrower: at most one message per household (one borrower, several loans) and
 * channel a day, at the highest hand among the household's cases. Delivery on the run's real
 * PostgreSQL, with recording adapters.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { caseDayNow } from '../../activities/delivery';
import { ChannelError, createActivities, type ChannelAdapter, type DeliveryOptions, type OutgoingNotification } from '../../activities';
import type { NotificationRecord } from '../../activities/contract';
import { writeOutbox } from '../../activities/outbox';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { caseParties, cases, notificationOutbox } from '../../db/schema';
import { noArrears, type Party } from '../../domain';
import { createLogger } from '../../logger';

let database: DatabaseHandle;
beforeAll(() => {
  database = createDatabase(inject('databaseUrl'), 10);
});
afterAll(async () => {
  await database?.close();
});

const logger = createLogger('silent');
const BORROWER: Party = { name: 'Zhang Wei', idNumber: '110101199003071234', phone: '+8613800138000' };
const GUARANTOR: Party = { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000' };

/** A household id of its own for each test: test files share the database. */
const newHousehold = () => `hh_${randomBytes(16).toString('hex')}`;

/**
 * A ledger row with only what its NOT NULL columns need (read from the catalog, as in
 * delivery.test.ts), in a household, with the borrower and one guarantor.
 */
async function caseOf(householdId: string | null, hand: number, clock = { originMs: Date.now() - 3 * 86_400_000, dayMs: 86_400_000 }): Promise<string> {
  const caseId = `case-VOICE${randomUUID().slice(0, 8).toUpperCase()}`;
  const columns = await database.pool.query<{ column_name: string; data_type: string }>(
    `select column_name, data_type from information_schema.columns
      where table_schema = 'public' and table_name = 'cases' and is_nullable = 'NO' and column_default is null`,
  );
  // By default a real policy's calendar: a case day is the UTC day.
  const known: Record<string, unknown> = {
    case_id: caseId,
    loan_id: caseId.slice(5),
    stage: 'collecting',
    hand,
    currency: 'CNY',
    arrears: { ...noArrears(), principal: 1 },
    clock_origin: new Date(clock.originMs),
    day_ms: clock.dayMs,
  };
  const byType = (type: string): unknown => {
    if (/int|numeric|double|real/.test(type)) return 1;
    if (type === 'boolean') return false;
    if (type === 'date') return '2026-01-01';
    if (type.startsWith('timestamp')) return new Date();
    if (type === 'jsonb' || type === 'json') return '[]';
    return 'x';
  };
  const names = columns.rows.map((c) => c.column_name);
  const values = columns.rows.map((c) => known[c.column_name] ?? byType(c.data_type));
  await database.pool.query(
    `insert into cases (${names.map((n) => `"${n}"`).join(', ')}) values (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
    values,
  );
  await database.db.update(cases).set({ householdId }).where(eq(cases.caseId, caseId));
  await database.db.insert(caseParties).values([
    { caseId, role: 'borrower', position: 0, ...BORROWER },
    { caseId, role: 'guarantor', position: 0, ...GUARANTOR },
  ]);
  return caseId;
}

/** An SMS reminder to the borrower made at `hand` (the workflow puts the hand in the payload). */
function sms(hand: number, overrides: Partial<NotificationRecord> = {}): NotificationRecord {
  return { id: `${randomUUID()}:0`, channel: 'sms', template: 'payment_reminder', recipient: 'borrower', payload: { hand }, ...overrides };
}

function recorder(fail: (n: OutgoingNotification) => Error | undefined = () => undefined, delayMs = 0) {
  const sent: OutgoingNotification[] = [];
  const adapter: ChannelAdapter = {
    async send(n) {
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const error = fail(n);
      if (error) throw error;
      sent.push(n);
    },
  };
  return { adapter, sent };
}

function delivery(adapter: ChannelAdapter, options: Partial<DeliveryOptions> = {}) {
  return createActivities({ db: database.db, logger, channels: { sms: adapter, letter: adapter }, delivery: options });
}

async function statusOf(...ids: string[]): Promise<Record<string, [string, string | null]>> {
  const rows = await database.db.select().from(notificationOutbox).where(inArray(notificationOutbox.id, ids));
  return Object.fromEntries(rows.map((r) => [r.id, [r.status, r.lastError]]));
}

describe('one voice per borrower', () => {
  it('sends only the higher hand\'s SMS when two cases of one household queue one the same day', async () => {
    const household = newHousehold();
    const lower = await caseOf(household, 1);
    const higher = await caseOf(household, 3);
    const [low, high] = [sms(1), sms(3)];
    await writeOutbox(database.db, { caseId: lower, notifications: [low] });
    await writeOutbox(database.db, { caseId: higher, notifications: [high] });
    const { adapter, sent } = recorder();
    const activities = delivery(adapter);

    // The lower hand's case delivers first: the higher hand's pending SMS speaks for the day.
    await expect(activities.deliverNotifications({ caseId: lower })).resolves.toEqual({ sent: 0 });
    await expect(activities.deliverNotifications({ caseId: higher })).resolves.toEqual({ sent: 1 });

    expect(sent.map((n) => n.idempotencyKey)).toEqual([`${high.id}:borrower`]);
    const status = await statusOf(`${low.id}:borrower`, `${high.id}:borrower`);
    expect(status[`${high.id}:borrower`]).toEqual(['sent', null]);
    expect(status[`${low.id}:borrower`]![0]).toBe('suppressed');
    expect(status[`${low.id}:borrower`]![1]).toMatch(new RegExp(`one voice per borrower: .*${high.id}:borrower \\(${higher}, hand 3\\).*above this case's hand 1`));
    // Suppressed for good: no later delivery or sweep sends it.
    await expect(activities.deliverNotifications({ caseId: lower })).resolves.toEqual({ sent: 0 });
    await expect(delivery(adapter, { sweepGraceMs: 0 }).sweepOutbox({ caseIds: [lower] })).resolves.toEqual({ sent: 0, retrying: 0, failed: 0 });
    expect(sent).toHaveLength(1);
    const [row] = await database.db.select().from(notificationOutbox).where(eq(notificationOutbox.id, `${low.id}:borrower`));
    expect(row).toMatchObject({ status: 'suppressed', claimedBy: null, claimedUntil: null, sentAt: null, voiceDay: null });
  });

  it('suppresses a later message of the day on the same channel, and leaves guarantors, other channels and other borrowers alone', async () => {
    const household = newHousehold();
    const first = await caseOf(household, 1);
    const second = await caseOf(household, 5);
    const stranger = await caseOf(newHousehold(), 1);
    const beforeHouseholds = await caseOf(null, 1);
    const { adapter, sent } = recorder();
    const activities = delivery(adapter);

    const early = sms(1);
    await writeOutbox(database.db, { caseId: first, notifications: [early] });
    await expect(activities.deliverNotifications({ caseId: first })).resolves.toEqual({ sent: 1 });

    // Later the same day, the other case (even at a higher hand) has an SMS, a letter to the
    // borrower and a letter to the guarantor.
    const late = sms(5);
    const letter = sms(5, { channel: 'letter', template: 'lawyers_letter' });
    const toGuarantor = sms(5, { channel: 'sms', recipient: 'guarantors' });
    await writeOutbox(database.db, { caseId: second, notifications: [late, letter, toGuarantor] });
    await expect(activities.deliverNotifications({ caseId: second })).resolves.toEqual({ sent: 2 });
    const status = await statusOf(`${late.id}:borrower`, `${letter.id}:borrower`, `${toGuarantor.id}:guarantor:1`);
    expect(status[`${late.id}:borrower`]![0]).toBe('suppressed');
    expect(status[`${late.id}:borrower`]![1]).toMatch(new RegExp(`the household already heard ${early.id}:borrower \\(${first}, hand 1\\) on sms today`));
    expect(status[`${letter.id}:borrower`]).toEqual(['sent', null]);
    expect(status[`${toGuarantor.id}:guarantor:1`]).toEqual(['sent', null]);

    // Another borrower's SMS, and a case opened before households: not affected.
    for (const caseId of [stranger, beforeHouseholds]) {
      await writeOutbox(database.db, { caseId, notifications: [sms(1)] });
      await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 1 });
    }
    expect(sent.map((n) => n.caseId).sort()).toEqual([first, second, second, stranger, beforeHouseholds].sort());
  });

  it('lets the next message speak when the day\'s message failed for good, and not when it was sent yesterday', async () => {
    const household = newHousehold();
    const [a, b, c] = [await caseOf(household, 2), await caseOf(household, 1), await caseOf(household, 1)];
    const doomed = sms(2);
    await writeOutbox(database.db, { caseId: a, notifications: [doomed] });
    const refusing = recorder(() => new ChannelError('gateway answered 400: no such number', { permanent: true }));
    await expect(delivery(refusing.adapter).deliverNotifications({ caseId: a })).resolves.toEqual({ sent: 0 });
    expect((await statusOf(`${doomed.id}:borrower`))[`${doomed.id}:borrower`]![0]).toBe('failed');

    const next = sms(1);
    await writeOutbox(database.db, { caseId: b, notifications: [next] });
    const { adapter, sent } = recorder();
    await expect(delivery(adapter).deliverNotifications({ caseId: b })).resolves.toEqual({ sent: 1 });

    // A message sent yesterday (UTC) does not hold today.
    await database.db
      .update(notificationOutbox)
      .set({ sentAt: sql`now() - interval '1 day'`, createdAt: sql`now() - interval '1 day'` })
      .where(eq(notificationOutbox.id, `${next.id}:borrower`));
    const today = sms(1);
    await writeOutbox(database.db, { caseId: c, notifications: [today] });
    await expect(delivery(adapter).deliverNotifications({ caseId: c })).resolves.toEqual({ sent: 1 });
    expect(sent.map((n) => n.idempotencyKey)).toEqual([`${next.id}:borrower`, `${today.id}:borrower`]);
  });

  it('lets a retrying message of a higher hand keep the day, and a failed attempt give up its voice', async () => {
    const household = newHousehold();
    const [higher, lower] = [await caseOf(household, 4), await caseOf(household, 2)];
    const high = sms(4);
    await writeOutbox(database.db, { caseId: higher, notifications: [high] });
    let down = true;
    const { adapter, sent } = recorder(() => (down ? new Error('gateway answered 503') : undefined));
    const activities = delivery(adapter);
    await expect(activities.deliverNotifications({ caseId: higher })).rejects.toThrow(/gateway answered 503/);
    const [retrying] = await database.db.select().from(notificationOutbox).where(eq(notificationOutbox.id, `${high.id}:borrower`));
    expect(retrying).toMatchObject({ status: 'pending', voiceDay: null, lastError: 'gateway answered 503' });

    // The lower hand's SMS waits for nobody: the higher hand's is still to be sent today.
    const low = sms(2);
    await writeOutbox(database.db, { caseId: lower, notifications: [low] });
    down = false;
    await expect(activities.deliverNotifications({ caseId: lower })).resolves.toEqual({ sent: 0 });
    await expect(activities.deliverNotifications({ caseId: higher })).resolves.toEqual({ sent: 1 });
    expect(sent.map((n) => n.idempotencyKey)).toEqual([`${high.id}:borrower`]);
    expect((await statusOf(`${low.id}:borrower`))[`${low.id}:borrower`]![0]).toBe('suppressed');
  });

  it('sends one message when deliveries of two cases of one household run at the same time', async () => {
    for (let round = 0; round < 8; round++) {
      const household = newHousehold();
      const caseIds = [await caseOf(household, 2), await caseOf(household, 2), await caseOf(household, 2)];
      const notifications = caseIds.map(() => sms(2));
      for (const [i, caseId] of caseIds.entries()) await writeOutbox(database.db, { caseId, notifications: [notifications[i]!] });
      // A slow gateway: every send overlaps the others' decisions.
      const { adapter, sent } = recorder(() => undefined, 30);
      const [first, second] = [delivery(adapter), delivery(adapter, { sweepGraceMs: 0, sweepConcurrency: 3 })];
      await Promise.all([
        first.deliverNotifications({ caseId: caseIds[0]! }),
        second.deliverNotifications({ caseId: caseIds[1]! }),
        first.deliverNotifications({ caseId: caseIds[2]! }),
        second.sweepOutbox({ caseIds }),
      ]);
      expect(sent, `round ${round}`).toHaveLength(1);
      const status = Object.values(await statusOf(...notifications.map((n) => `${n.id}:borrower`))).map(([s]) => s);
      expect(status.sort(), `round ${round}`).toEqual(['sent', 'suppressed', 'suppressed']);
    }
  });
});

describe('the day of one voice', () => {
  it('is the UTC day on a real policy\'s calendar, and a case day on a compressed one', () => {
    const now = Date.parse('2026-03-05T17:20:00Z');
    expect(caseDayNow({ originMs: Date.parse('2026-01-10T08:00:00Z'), dayMs: 86_400_000 }, now)).toEqual({
      date: '2026-03-05',
      from: new Date('2026-03-05T00:00:00Z'),
      to: new Date('2026-03-06T00:00:00Z'),
    });
    // Two seconds a day, opened at 12:00: 5.5 s later the case's clock reads 03-08 06:00; that
    // case day began 5 s after opening and ends 2 s later.
    const origin = Date.parse('2026-03-05T12:00:00Z');
    const day = caseDayNow({ originMs: origin, dayMs: 2_000 }, origin + 5_500);
    expect(day).toEqual({ date: '2026-03-08', from: new Date(origin + 5_000), to: new Date(origin + 7_000) });
  });

  it('lets a case on a compressed calendar speak again a case day later', async () => {
    const dayMs = 1_500;
    const clock = { originMs: Date.now(), dayMs };
    const household = newHousehold();
    const caseId = await caseOf(household, 2, clock);
    const { adapter, sent } = recorder();
    const activities = delivery(adapter);
    // Start at the beginning of a case day, so the first two fall on the same one.
    const startOfNextDay = () => caseDayNow(clock, Date.now()).to.getTime() - Date.now() + 20;
    await new Promise((resolve) => setTimeout(resolve, startOfNextDay()));
    const [warning, again, lawyers] = [2, 3, 5].map((hand) => sms(hand, { channel: 'letter', template: 'letter' }));
    await writeOutbox(database.db, { caseId, notifications: [warning!] });
    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 1 });
    await writeOutbox(database.db, { caseId, notifications: [again!] });
    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 0 });
    await new Promise((resolve) => setTimeout(resolve, startOfNextDay()));
    await writeOutbox(database.db, { caseId, notifications: [lawyers!] });
    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 1 });
    expect(sent.map((n) => n.idempotencyKey)).toEqual([`${warning!.id}:borrower`, `${lawyers!.id}:borrower`]);
    expect((await statusOf(`${again!.id}:borrower`))[`${again!.id}:borrower`]![0]).toBe('suppressed');
  });
});
