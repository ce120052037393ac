import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ChannelError,
  createActivities,
  createWorkerActivities,
  startOutboxSweeper,
  type ChannelAdapter,
  type DeliveryOptions,
  type OutgoingNotification,
} from '../../activities';
import type { NotificationRecord } from '../../activities/contract';
import { writeOutbox } from '../../activities/outbox';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { caseParties, notificationOutbox } from '../../db/schema';
import { noArrears, type Party } from '../../domain';
import { createLogger } from '../../logger';
import { eventually } from '../support/fixtures';

let database: DatabaseHandle;
beforeAll(() => {
  database = createDatabase(inject('databaseUrl'), 8);
});
afterAll(async () => {
  await database?.close();
});

const logger = createLogger('silent');
const BORROWER: Party = { name: 'Zhang Wei', idNumber: '110101199003071234', phone: '+8613800138000' };
const GUARANTORS: Party[] = [
  { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000' },
  { name: 'Wang Fang', idNumber: '110101197701012222', phone: '+8613700137000' },
];

/**
 * A ledger row with only what its NOT NULL columns need, read from the catalog: the delivery
 * tests depend on the outbox and the parties, not on the ledger's shape (edited elsewhere).
 */
async function bareCase(guarantors: Party[] = GUARANTORS): Promise<string> {
  const caseId = `case-DLV${randomUUID().slice(0, 8).toUpperCase()}`;
  const columns = await database.pool.query<{ column_name: string; data_type: string }>(
    `select column_name, data_type from information_schema.columns
      where table_schema = 'public' and table_name = 'cases' and is_nullable = 'NO' and column_default is null`,
  );
  const known: Record<string, unknown> = { case_id: caseId, loan_id: caseId.slice(5), stage: 'collecting', hand: 1, currency: 'CNY', arrears: { ...noArrears(), principal: 1 } };
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
  await database.db.insert(caseParties).values([
    { caseId, role: 'borrower', position: 0, ...BORROWER },
    ...guarantors.map((g, position) => ({ caseId, role: 'guarantor' as const, position, ...g })),
  ]);
  return caseId;
}

function notification(overrides: Partial<NotificationRecord> = {}): NotificationRecord {
  return { id: `${randomUUID()}:0`, channel: 'letter', template: 'lawyers_letter', recipient: 'borrower', payload: { hand: 5 }, ...overrides };
}

/** Records every send; `fail` decides per notification whether (and how) a send fails. */
function recorder(fail: (n: OutgoingNotification, attempt: number) => Error | undefined = () => undefined, delayMs = 0) {
  const sent: OutgoingNotification[] = [];
  const attempts = new Map<string, number>();
  const adapter: ChannelAdapter = {
    async send(n) {
      const attempt = (attempts.get(n.idempotencyKey) ?? 0) + 1;
      attempts.set(n.idempotencyKey, attempt);
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, Math.random() * delayMs));
      const error = fail(n, attempt);
      if (error) throw error;
      sent.push(n);
    },
  };
  return { adapter, sent, attempts };
}

function delivery(adapter: ChannelAdapter, options: Partial<DeliveryOptions> = {}) {
  return createActivities({ db: database.db, logger, channels: { sms: adapter, letter: adapter }, delivery: options });
}

const rowsOf = (caseId: string) =>
  database.db.select().from(notificationOutbox).where(eq(notificationOutbox.caseId, caseId)).orderBy(notificationOutbox.id);

describe('the outbox', () => {
  it('holds one row per recipient party, keyed by the notification, written once however often', async () => {
    const caseId = await bareCase();
    const toBorrower = notification({ recipient: 'borrower' });
    const toGuarantors = notification({ recipient: 'guarantors' });
    await writeOutbox(database.db, { caseId, notifications: [toBorrower, toGuarantors] });
    await writeOutbox(database.db, { caseId, notifications: [toBorrower, toGuarantors] }); // a retried projection

    const rows = await rowsOf(caseId);
    expect(rows.map((r) => [r.id, r.notificationId, r.partyRole, r.partyPosition, r.status]).sort()).toEqual(
      [
        [`${toBorrower.id}:borrower`, toBorrower.id, 'borrower', 0, 'pending'],
        [`${toGuarantors.id}:guarantor:1`, toGuarantors.id, 'guarantor', 0, 'pending'],
        [`${toGuarantors.id}:guarantor:2`, toGuarantors.id, 'guarantor', 1, 'pending'],
      ].sort(),
    );
  });

  it('takes the guarantors of an opening batch from the batch, and writes no row for a case without any', async () => {
    const withParties = await bareCase();
    const n = notification({ recipient: 'guarantors' });
    await writeOutbox(database.db, { caseId: withParties, notifications: [n], parties: { borrower: BORROWER, guarantors: GUARANTORS } });
    expect((await rowsOf(withParties)).map((r) => r.id).sort()).toEqual([`${n.id}:guarantor:1`, `${n.id}:guarantor:2`]);

    const alone = await bareCase([]);
    await writeOutbox(database.db, { caseId: alone, notifications: [notification({ recipient: 'guarantors' })] });
    expect(await rowsOf(alone)).toEqual([]);
  });
});

describe('deliverNotifications', () => {
  it("never resends the borrower's letter when a guarantor's fails, and passes each row's idempotency key", async () => {
    const caseId = await bareCase();
    const toBorrower = notification({ recipient: 'borrower' });
    const toGuarantors = notification({ recipient: 'guarantors' });
    await writeOutbox(database.db, { caseId, notifications: [toBorrower, toGuarantors] });
    let guarantorDown = true;
    const { adapter, sent, attempts } = recorder((n) =>
      guarantorDown && n.idempotencyKey === `${toGuarantors.id}:guarantor:1` ? new Error('print service unavailable') : undefined,
    );
    const activities = delivery(adapter);

    await expect(activities.deliverNotifications({ caseId })).rejects.toThrow(/1 notification\(s\) not delivered.*print service unavailable/);
    const afterFailure = await rowsOf(caseId);
    expect(Object.fromEntries(afterFailure.map((r) => [r.id, [r.status, r.attempts, r.lastError, r.claimedBy]]))).toEqual({
      [`${toBorrower.id}:borrower`]: ['sent', 1, null, null],
      [`${toGuarantors.id}:guarantor:1`]: ['pending', 1, 'print service unavailable', null],
      [`${toGuarantors.id}:guarantor:2`]: ['sent', 1, null, null],
    });

    guarantorDown = false;
    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 1 });
    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 0 });

    expect(attempts.get(`${toBorrower.id}:borrower`)).toBe(1);
    expect(attempts.get(`${toGuarantors.id}:guarantor:1`)).toBe(2);
    expect(sent.map((n) => [n.idempotencyKey, n.recipient.role, n.recipient.name]).sort()).toEqual(
      [
        [`${toBorrower.id}:borrower`, 'borrower', 'Zhang Wei'],
        [`${toGuarantors.id}:guarantor:1`, 'guarantor', 'Li Na'],
        [`${toGuarantors.id}:guarantor:2`, 'guarantor', 'Wang Fang'],
      ].sort(),
    );
    expect((await rowsOf(caseId)).every((r) => r.status === 'sent' && r.sentAt !== null)).toBe(true);
  });

  it('never sends a row twice when deliveries and a sweep run at the same time', async () => {
    const caseId = await bareCase();
    const notifications = Array.from({ length: 12 }, (_, i) => notification({ recipient: i % 2 ? 'guarantors' : 'borrower' }));
    await writeOutbox(database.db, { caseId, notifications });
    const { adapter, sent } = recorder(() => undefined, 15);
    // Two workers' activities (each its own claimant) and a sweeper that takes rows at once.
    const first = delivery(adapter);
    const second = delivery(adapter, { sweepGraceMs: 0, sweepConcurrency: 3 });
    await Promise.all([
      first.deliverNotifications({ caseId }),
      second.deliverNotifications({ caseId }),
      first.deliverNotifications({ caseId }),
      second.sweepOutbox({ caseIds: [caseId] }),
    ]);

    const keys = sent.map((n) => n.idempotencyKey);
    expect(keys).toHaveLength(18); // 6 to the borrower, 6 × 2 guarantors
    expect(new Set(keys).size).toBe(keys.length);
    const rows = await rowsOf(caseId);
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  });

  it('marks a row failed after the configured attempts, keeping its last error', async () => {
    const caseId = await bareCase([]);
    const n = notification({ channel: 'sms', template: 'payment_reminder' });
    await writeOutbox(database.db, { caseId, notifications: [n] });
    const { adapter, attempts } = recorder((_, attempt) => new Error(`gateway answered 503 (attempt ${attempt})`));
    const activities = delivery(adapter, { maxAttempts: 3 });

    // Temporal retries the activity while the row has attempts left; the last one fails the row.
    for (let i = 0; i < 2; i++) await expect(activities.deliverNotifications({ caseId })).rejects.toThrow(/gateway answered 503/);
    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 0 });
    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 0 });
    await expect(activities.sweepOutbox({ caseIds: [caseId] })).resolves.toEqual({ sent: 0, retrying: 0, failed: 0 });

    expect(attempts.get(`${n.id}:borrower`)).toBe(3);
    const [row] = await rowsOf(caseId);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, lastError: 'gateway answered 503 (attempt 3)', claimedBy: null });
  });

  it('marks a permanent refusal failed at once without failing the activity', async () => {
    const caseId = await bareCase([]);
    const n = notification({ channel: 'sms' });
    await writeOutbox(database.db, { caseId, notifications: [n] });
    const { adapter } = recorder(() => new ChannelError('webhook answered 400 Bad Request', { status: 400, permanent: true }));

    await expect(delivery(adapter).deliverNotifications({ caseId })).resolves.toEqual({ sent: 0 });
    const [row] = await rowsOf(caseId);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, lastError: 'webhook answered 400 Bad Request' });
  });

  it('fails the rows of a channel without an adapter where production asks it to, saying so', async () => {
    const caseId = await bareCase([]);
    await writeOutbox(database.db, { caseId, notifications: [notification({ channel: 'wechat' })] });
    const activities = createActivities({ db: database.db, logger, channels: {}, unconfiguredChannels: 'fail' });

    await expect(activities.deliverNotifications({ caseId })).resolves.toEqual({ sent: 0 });
    const [row] = await rowsOf(caseId);
    expect(row).toMatchObject({ status: 'failed', lastError: 'no adapter is configured for the channel wechat' });
  });

  it('heartbeats while a slow send is under way', async () => {
    const caseId = await bareCase([]);
    await writeOutbox(database.db, { caseId, notifications: [notification()] });
    const slow: ChannelAdapter = { send: () => new Promise((resolve) => setTimeout(resolve, 400)) };
    const activities = delivery(slow, { heartbeatMs: 50 });
    const env = new MockActivityEnvironment();
    let heartbeats = 0;
    env.on('heartbeat', () => heartbeats++);

    await expect(env.run(activities.deliverNotifications, { caseId })).resolves.toEqual({ sent: 1 });
    expect(heartbeats).toBeGreaterThanOrEqual(4);
  });
});

describe('sweepOutbox', () => {
  it('delivers a row whose claim ran out, and leaves live claims and fresh rows to their deliveries', async () => {
    const caseId = await bareCase([]);
    const [expired, live, fresh] = [notification(), notification(), notification()];
    await writeOutbox(database.db, { caseId, notifications: [expired, live, fresh] });
    const claim = (n: NotificationRecord, until: string) =>
      database.db
        .update(notificationOutbox)
        .set({ claimedBy: 'a-worker-that-died', claimedUntil: sql`now() + ${until}::interval`, attempts: 1 })
        .where(eq(notificationOutbox.id, `${n.id}:borrower`));
    await claim(expired, '-1 second');
    await claim(live, '1 minute');
    const { adapter, sent } = recorder();

    await expect(delivery(adapter).sweepOutbox({ caseIds: [caseId] })).resolves.toEqual({ sent: 1, retrying: 0, failed: 0 });
    expect(sent.map((n) => n.idempotencyKey)).toEqual([`${expired.id}:borrower`]);
    const rows = await rowsOf(caseId);
    const status = Object.fromEntries(rows.map((r) => [r.notificationId, [r.status, r.attempts]]));
    expect(status).toEqual({ [expired.id]: ['sent', 2], [live.id]: ['pending', 1], [fresh.id]: ['pending', 0] });
  });

  it('retries a failed row once its backoff is over, and fails a row whose last attempt lost its claim', async () => {
    const caseId = await bareCase([]);
    const [flaky, lost] = [notification(), notification()];
    await writeOutbox(database.db, { caseId, notifications: [flaky, lost] });
    await database.db
      .update(notificationOutbox)
      .set({ claimedBy: 'a-worker-that-died', claimedUntil: sql`now() - interval '1 second'`, attempts: 3 })
      .where(eq(notificationOutbox.id, `${lost.id}:borrower`));
    const { adapter, sent } = recorder((n, attempt) => (attempt === 1 ? new Error('connection reset') : undefined));
    const activities = delivery(adapter, { maxAttempts: 3, retryBaseMs: 300, sweepGraceMs: 0 });

    await expect(activities.sweepOutbox({ caseIds: [caseId] })).resolves.toEqual({ sent: 0, retrying: 1, failed: 1 });
    await expect(activities.sweepOutbox({ caseIds: [caseId] })).resolves.toEqual({ sent: 0, retrying: 0, failed: 0 }); // backing off
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(activities.sweepOutbox({ caseIds: [caseId] })).resolves.toEqual({ sent: 1, retrying: 0, failed: 0 });

    expect(sent.map((n) => n.idempotencyKey)).toEqual([`${flaky.id}:borrower`]);
    const [lostRow] = await database.db
      .select()
      .from(notificationOutbox)
      .where(and(eq(notificationOutbox.caseId, caseId), eq(notificationOutbox.notificationId, lost.id)));
    expect(lostRow).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/no answer within the lease on attempt 3 of 3/) });
  });
});

describe('the in-process sweeper', () => {
  it('sweeps on its interval, survives a failing sweep, and stops an unfinished one on shutdown', async () => {
    const calls: AbortSignal[] = [];
    let release: (() => void) | undefined;
    const sweeper = startOutboxSweeper({
      intervalMs: 20,
      logger,
      sweep: async (signal) => {
        calls.push(signal);
        if (calls.length === 2) throw new Error('connection terminated unexpectedly');
        if (calls.length === 4) {
          // A long sweep: stop() must end it, not wait for it forever.
          await new Promise<void>((resolve) => {
            release = resolve;
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
        return { sent: 0, retrying: 0, failed: 0 };
      },
    });
    const deadline = Date.now() + 5_000;
    while (calls.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls.length).toBe(4);
    await sweeper.stop();
    expect(calls[3]!.aborted).toBe(true);
    release?.();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(calls.length).toBe(4); // nothing after stop
  });
});

describe('the delivery relay', () => {
  it('sends the letters of a kicked case, and a failed one again after its backoff, with no activity', async () => {
    const caseId = await bareCase();
    const { adapter, attempts } = recorder((n, attempt) => (n.idempotencyKey.endsWith(':guarantor:2') && attempt === 1 ? new Error('print service unavailable') : undefined));
    const { relay } = createWorkerActivities({ db: database.db, logger, channels: { letter: adapter }, delivery: { retryBaseMs: 200 } });
    await writeOutbox(database.db, { caseId, notifications: [notification({ recipient: 'borrower' }), notification({ recipient: 'guarantors' })] });
    relay.kick(caseId);
    const rows = await eventually(async () => {
      const all = await rowsOf(caseId);
      return all.every((r) => r.status === 'sent') ? all : undefined;
    }, 10_000);
    expect(rows.map((r) => `${r.partyRole}:${r.partyPosition}:${r.attempts}`).sort()).toEqual(['borrower:0:1', 'guarantor:0:1', 'guarantor:1:2']);
    for (const row of rows) expect(attempts.get(row.id)).toBe(row.attempts);
    await relay.stop();
  });

  it('leaves the rows of a kick after stop to the sweeper', async () => {
    const caseId = await bareCase([]);
    const { adapter, sent } = recorder();
    const { relay } = createWorkerActivities({ db: database.db, logger, channels: { letter: adapter } });
    await relay.stop();
    await writeOutbox(database.db, { caseId, notifications: [notification()] });
    relay.kick(caseId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sent).toEqual([]);
    expect((await rowsOf(caseId)).map((r) => [r.status, r.attempts])).toEqual([['pending', 0]]);
  });
});
