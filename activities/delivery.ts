import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Context } from '@temporalio/activity';
import { and, asc, desc, eq, gt, gte, inArray, isNotNull, lt, lte, ne, notInArray, or, isNull, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { describeDatabaseError } from '../db/errors';
import { caseParties, cases, notificationOutbox } from '../db/schema';
import { caseTime, DAY_MS, msToDate, wallTime, type CaseClock, type NotificationChannel } from '../domain';
import type { Logger } from '../logger';
import { ChannelError, isPermanentFailure, type ChannelAdapter, type OutgoingNotification } from './channels';
import type { DeliveryResult } from './contract';

export interface DeliveryOptions {
  /** Sends of one row before it is marked `failed` with its last error. */
  maxAttempts: number;
  /** A claim's lease: nobody else takes the row until it runs out (renewed while sending). */
  leaseMs: number;
  /** Heartbeats to Temporal (and lease renewals) while a send is under way. */
  heartbeatMs: number;
  /** The sweeper's backoff after a failed attempt: base × 2^(attempts − 1), at most max. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A row never tried is left this long to its case's own delivery before the sweeper takes it. */
  sweepGraceMs: number;
  /** Rows one sweep claims at most, and how many it sends at a time. */
  sweepLimit: number;
  sweepConcurrency: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = {
  maxAttempts: 8,
  leaseMs: 60_000,
  heartbeatMs: 5_000,
  retryBaseMs: 15_000,
  retryMaxMs: 30 * 60_000,
  sweepGraceMs: 60_000,
  sweepLimit: 200,
  sweepConcurrency: 4,
};

/** The adapter of a channel; undefined when none is configured (the row fails, saying so). */
export type AdapterLookup = (channel: NotificationChannel) => ChannelAdapter | undefined;

export interface SweepInput {
  /** At most this many rows (default: the configured sweep limit). */
  limit?: number;
  /** Only these cases' rows (tests, or an operator replaying one case). */
  caseIds?: string[];
}

export interface SweepResult {
  sent: number;
  /** Failed this time, pending for a later attempt. */
  retrying: number;
  /** Marked failed: permanently refused, out of attempts, or lost on the last attempt. */
  failed: number;
}

type Outcome =
  | { kind: 'sent' }
  | { kind: 'retrying'; error: string; retryInMs: number }
  | { kind: 'failed'; error: string }
  | { kind: 'suppressed'; reason: string }
  | { kind: 'lost' };

/** What one voice per borrower decides for a borrower's row. */
type Voice = { kind: 'speak' } | { kind: 'suppressed'; reason: string } | { kind: 'lost' };

/** The hand a notification was made at (the case workflow puts it in the payload); null if none. */
const payloadHand = sql<number | null>`(case when jsonb_typeof(${notificationOutbox.payload} -> 'hand') = 'number'
  then (${notificationOutbox.payload} ->> 'hand')::numeric end)`;
/**
 * The day a case is in now, on its own calendar, and the wall-clock span it takes: the UTC day for
 * a real policy; on a demo or test policy's compressed calendar a case day lasts `dayMs`, so one
 * voice per day keeps its meaning at that speed, as promise and pause dates do.
 */
export function caseDayNow(clock: CaseClock, nowMs: number): { date: string; from: Date; to: Date } {
  const dayStart = Math.floor(caseTime(clock, nowMs) / DAY_MS) * DAY_MS;
  return { date: msToDate(dayStart), from: new Date(wallTime(clock, dayStart)), to: new Date(wallTime(clock, dayStart + DAY_MS)) };
}

const claimedColumns = {
  id: notificationOutbox.id,
  notificationId: notificationOutbox.notificationId,
  caseId: notificationOutbox.caseId,
  channel: notificationOutbox.channel,
  template: notificationOutbox.template,
  partyRole: notificationOutbox.partyRole,
  partyPosition: notificationOutbox.partyPosition,
  payload: notificationOutbox.payload,
  attempts: notificationOutbox.attempts,
};

type ClaimedRow = { [K in keyof typeof claimedColumns]: (typeof notificationOutbox.$inferSelect)[K] };

const ms = (value: number) => sql`(${Math.round(value)}::int * interval '1 millisecond')`;

/**
 * Delivery of the notification outbox. A row is claimed with `FOR UPDATE SKIP LOCKED` and a
 * lease (`claimed_by`, `claimed_until`), so two deliveries never send the same row at once;
 * attempts are counted at the claim, so a worker that dies mid-send still uses one up. While a
 * send runs the delivery renews its lease (and heartbeats, run as an activity). A failure leaves the row pending with
 * its error and a backoff, or marks it `failed` when permanent or out of attempts. The sweeper
 * takes what no delivery finished: claims that ran out, and pending rows whose time has come.
 */
export function createOutbox(db: Database, adapterFor: AdapterLookup, options: Partial<DeliveryOptions> = {}, logger?: Logger): Outbox {
  const o: DeliveryOptions = { ...DEFAULT_DELIVERY_OPTIONS, ...options };
  const host = `${os.hostname()}:${process.pid}`;
  const claimable = and(
    eq(notificationOutbox.status, 'pending'),
    lt(notificationOutbox.attempts, o.maxAttempts),
    or(isNull(notificationOutbox.claimedUntil), lt(notificationOutbox.claimedUntil, sql`now()`)),
  )!;

  /** Claims the next row in scope that this run has not tried yet. */
  async function claimNext(scope: SQL, claimant: string, tried: string[]): Promise<ClaimedRow | undefined> {
    const next = db
      .select({ id: notificationOutbox.id })
      .from(notificationOutbox)
      .where(and(claimable, scope, tried.length ? notInArray(notificationOutbox.id, tried) : undefined))
      .orderBy(asc(notificationOutbox.createdAt), asc(notificationOutbox.id))
      .limit(1)
      .for('update', { skipLocked: true });
    const [row] = await db
      .update(notificationOutbox)
      .set({
        claimedBy: claimant,
        claimedUntil: sql`now() + ${ms(o.leaseMs)}`,
        attempts: sql`${notificationOutbox.attempts} + 1`,
      })
      .where(inArray(notificationOutbox.id, next))
      .returning(claimedColumns);
    return row;
  }

  /** Rows out of attempts whose last claim ran out (the worker died sending): failed, saying so. */
  async function failExhausted(scope: SQL): Promise<number> {
    const rows = await db
      .update(notificationOutbox)
      .set({
        status: 'failed',
        claimedBy: null,
        claimedUntil: null,
        lastError: sql`coalesce(${notificationOutbox.lastError} || '; ', '') || ${`no answer within the lease on attempt ${o.maxAttempts} of ${o.maxAttempts}`}`,
      })
      .where(
        and(
          scope,
          eq(notificationOutbox.status, 'pending'),
          sql`${notificationOutbox.attempts} >= ${o.maxAttempts}`,
          or(isNull(notificationOutbox.claimedUntil), lt(notificationOutbox.claimedUntil, sql`now()`)),
        ),
      )
      .returning({ id: notificationOutbox.id });
    return rows.length;
  }

  /**
   * One voice per borrower: at most one message per household (one borrower, many loans) and
   * channel a day, at the highest hand among the household's cases. Decided for a borrower's row
   * of a case with a household, under a transaction-scoped advisory lock on (household, channel),
   * so two deliveries for two loans of one borrower decide one after the other. The row is
   * suppressed when another borrower row of the household and channel was sent today, is being
   * sent now (it took the voice and its claim is alive), or is pending from today at a higher
   * hand; otherwise it takes the voice (`voice_day`) and is sent. Today is the case's day: the
   * UTC date for a real policy (caseDayNow). Guarantors' rows and cases without a household are
   * not affected.
   */
  async function takeVoice(row: ClaimedRow, claimant: string): Promise<Voice> {
    if (row.partyRole !== 'borrower') return { kind: 'speak' };
    return db.transaction(async (tx) => {
      const [kase] = await tx
        .select({ householdId: cases.householdId, clockOrigin: cases.clockOrigin, dayMs: cases.dayMs })
        .from(cases)
        .where(eq(cases.caseId, row.caseId));
      const household = kase?.householdId;
      if (!kase || !household) return { kind: 'speak' } as const;
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`one-voice:${household}:${row.channel}`}, 0))`);
      // The database's clock, as sent_at, created_at and claims are judged by it.
      const { rows: [clock] } = await tx.execute<{ now_ms: string }>(
        sql`select (extract(epoch from clock_timestamp()) * 1000)::bigint::text as now_ms`,
      );
      const today = caseDayNow({ originMs: kase.clockOrigin.getTime(), dayMs: kase.dayMs }, Number(clock!.now_ms));
      const hand = typeof row.payload.hand === 'number' ? row.payload.hand : 0;
      const outbox = notificationOutbox;
      const sentToday = and(eq(outbox.status, 'sent'), gte(outbox.sentAt, today.from), lt(outbox.sentAt, today.to));
      const speakingNow = and(eq(outbox.status, 'pending'), isNotNull(outbox.voiceDay), gt(outbox.claimedUntil, sql`clock_timestamp()`));
      // 0: sent today, 1: being sent now, 2: pending from today at a higher hand.
      const rank = sql<number>`(case when ${sentToday} then 0 when ${speakingNow} then 1 else 2 end)`;
      const [rival] = await tx
        .select({ id: outbox.id, caseId: outbox.caseId, rank, hand: payloadHand })
        .from(outbox)
        .innerJoin(cases, eq(cases.caseId, outbox.caseId))
        .where(
          and(
            eq(cases.householdId, household),
            eq(outbox.channel, row.channel),
            eq(outbox.partyRole, 'borrower'),
            ne(outbox.id, row.id),
            or(
              sentToday,
              speakingNow,
              and(
                eq(outbox.status, 'pending'),
                lt(outbox.attempts, o.maxAttempts),
                gte(outbox.createdAt, today.from),
                lt(outbox.createdAt, today.to),
                sql`${payloadHand} > ${hand}::numeric`,
              ),
            ),
          ),
        )
        .orderBy(asc(rank), desc(payloadHand), asc(outbox.id))
        .limit(1);
      const mine = and(eq(outbox.id, row.id), eq(outbox.claimedBy, claimant), eq(outbox.status, 'pending'));
      if (rival) {
        const other = `${rival.id} (${rival.caseId}${rival.hand === null ? '' : `, hand ${Number(rival.hand)}`})`;
        const reason =
          Number(rival.rank) === 0
            ? `one voice per borrower: the household already heard ${other} on ${row.channel} today`
            : Number(rival.rank) === 1
              ? `one voice per borrower: the household is hearing ${other} on ${row.channel} today`
              : `one voice per borrower: the household hears ${other} on ${row.channel} today, above this case's hand ${hand}`;
        const updated = await tx
          .update(outbox)
          .set({ status: 'suppressed', lastError: reason, claimedBy: null, claimedUntil: null, voiceDay: null })
          .where(mine)
          .returning({ id: outbox.id });
        return updated.length > 0 ? ({ kind: 'suppressed', reason } as const) : ({ kind: 'lost' } as const);
      }
      const updated = await tx.update(outbox).set({ voiceDay: today.date }).where(mine).returning({ id: outbox.id });
      return updated.length > 0 ? ({ kind: 'speak' } as const) : ({ kind: 'lost' } as const);
    });
  }

  async function send(row: ClaimedRow, claimant: string, signal: AbortSignal | undefined, heartbeat: () => void): Promise<Outcome> {
    const mine = and(eq(notificationOutbox.id, row.id), eq(notificationOutbox.claimedBy, claimant), eq(notificationOutbox.status, 'pending'));
    let error: unknown;
    let ticker: NodeJS.Timeout | undefined;
    try {
      const adapter = adapterFor(row.channel as NotificationChannel);
      if (!adapter) throw permanent(`no adapter is configured for the channel ${row.channel}`);
      const [party] = await db
        .select({ name: caseParties.name, phone: caseParties.phone })
        .from(caseParties)
        .where(
          and(eq(caseParties.caseId, row.caseId), eq(caseParties.role, row.partyRole), eq(caseParties.position, row.partyPosition)),
        );
      if (!party) throw permanent(`the case has no ${row.partyRole} ${row.partyPosition + 1}`);
      const voice = await takeVoice(row, claimant);
      if (voice.kind === 'lost') {
        logger?.warn({ outboxId: row.id }, 'a delivery lost its claim on a row before sending it');
        return voice;
      }
      if (voice.kind === 'suppressed') {
        logger?.info({ outboxId: row.id, caseId: row.caseId, channel: row.channel, reason: voice.reason }, 'notification suppressed');
        return voice;
      }
      const notification: OutgoingNotification = {
        id: row.id,
        idempotencyKey: row.id,
        notificationId: row.notificationId,
        caseId: row.caseId,
        channel: row.channel as NotificationChannel,
        template: row.template,
        recipient: { role: row.partyRole, name: party.name, phone: party.phone },
        payload: row.payload,
      };
      ticker = setInterval(() => {
        heartbeat();
        db.update(notificationOutbox)
          .set({ claimedUntil: sql`now() + ${ms(o.leaseMs)}` })
          .where(mine)
          .then(
            () => undefined,
            (err: unknown) => logger?.warn({ outboxId: row.id, error: describeDatabaseError(err).message }, 'could not renew a delivery lease'),
          );
      }, Math.max(50, Math.min(o.heartbeatMs, o.leaseMs / 3)));
      await adapter.send(notification, signal ? { signal } : {});
    } catch (err) {
      error = err;
    } finally {
      clearInterval(ticker);
    }

    if (error === undefined) {
      // Sent: recorded even if the lease ran out meanwhile (the gateway has it; a second sender
      // used the same idempotency key).
      await db
        .update(notificationOutbox)
        .set({ status: 'sent', sentAt: new Date(), claimedBy: null, claimedUntil: null, lastError: null })
        .where(and(eq(notificationOutbox.id, row.id), eq(notificationOutbox.status, 'pending')));
      return { kind: 'sent' };
    }
    const message = errorMessage(error);
    const final = isPermanentFailure(error) || row.attempts >= o.maxAttempts;
    const backoff = Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** Math.max(0, row.attempts - 1));
    const updated = await db
      .update(notificationOutbox)
      .set(
        final
          ? { status: 'failed', lastError: message, claimedBy: null, claimedUntil: null, voiceDay: null }
          : { lastError: message, claimedBy: null, claimedUntil: null, voiceDay: null, nextAttemptAt: sql`now() + ${ms(backoff)}` },
      )
      .where(mine)
      .returning({ id: notificationOutbox.id });
    if (updated.length === 0) {
      logger?.warn({ outboxId: row.id }, 'a delivery lost its claim on a row while sending it');
      return { kind: 'lost' };
    }
    logger?.warn(
      { outboxId: row.id, channel: row.channel, attempt: row.attempts, final, error: message },
      final ? 'notification failed for good' : 'notification not delivered; will retry',
    );
    return final ? { kind: 'failed', error: message } : { kind: 'retrying', error: message, retryInMs: backoff };
  }

  /** Claims and sends rows in scope until none is left (or `limit`), `concurrency` at a time. */
  async function drain(
    scope: SQL,
    {
      limit,
      concurrency,
      claimantTag,
      signal: given,
      context,
    }: { limit: number; concurrency: number; claimantTag: string; signal?: AbortSignal | undefined; context: Context | undefined },
  ): Promise<CaseDelivery & { failed: number }> {
    const signal = context?.cancellationSignal ?? given;
    const heartbeat = () => {
      try {
        context?.heartbeat();
      } catch {
        // Heartbeating is best effort; the lease renewal keeps the claim.
      }
    };
    const claimant = `${host}:${claimantTag}:${randomUUID().slice(0, 8)}`;
    const tried: string[] = [];
    const result = { sent: 0, retrying: [] as CaseDelivery['retrying'], failed: await failExhausted(scope) };
    let claimed = 0;
    const lane = async () => {
      while (claimed < limit && !signal?.aborted) {
        claimed++;
        const row = await claimNext(scope, claimant, tried);
        if (!row) return;
        tried.push(row.id);
        const outcome = await send(row, claimant, signal, heartbeat);
        heartbeat();
        if (outcome.kind === 'sent') result.sent++;
        else if (outcome.kind === 'failed') result.failed++;
        else if (outcome.kind === 'retrying') result.retrying.push({ id: row.id, error: outcome.error, retryInMs: outcome.retryInMs });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
    if (signal?.aborted) throw signal.reason ?? new Error('delivery cancelled');
    return result;
  }

  return {
    async sweep(input = {}, signal, context) {
      const due = and(
        lte(notificationOutbox.nextAttemptAt, sql`now()`),
        // A row nobody tried yet belongs to its case's own delivery for a while.
        or(sql`${notificationOutbox.attempts} > 0`, lt(notificationOutbox.createdAt, sql`now() - ${ms(o.sweepGraceMs)}`)),
        input.caseIds ? inArray(notificationOutbox.caseId, input.caseIds.length ? input.caseIds : ['']) : undefined,
      )!;
      const { sent, retrying, failed } = await drain(due, {
        limit: input.limit ?? o.sweepLimit,
        concurrency: o.sweepConcurrency,
        claimantTag: 'sweep',
        signal,
        context,
      });
      return { sent, retrying: retrying.length, failed };
    },

    async deliverCase(caseId, context) {
      const { sent, retrying } = await drain(eq(notificationOutbox.caseId, caseId), {
        limit: Number.MAX_SAFE_INTEGER,
        concurrency: 1,
        claimantTag: context ? 'case' : 'relay',
        context,
      });
      return { sent, retrying };
    },
  };
}

/** What sending a case's pending rows came to. */
export interface CaseDelivery {
  sent: number;
  /** Rows that failed this time and stay pending, each with the backoff its next attempt waits. */
  retrying: { id: string; error: string; retryInMs: number }[];
}

export interface Outbox {
  /** Sends a case's pending rows, one at a time, each at most once at a time across all workers:
   * rows sent stay sent, so a failing guarantor's letter never resends the borrower's. */
  deliverCase(caseId: string, context?: Context): Promise<CaseDelivery>;
  /** Takes over what no delivery finished: expired claims and pending rows that are due. */
  sweep(input?: SweepInput, signal?: AbortSignal, context?: Context): Promise<SweepResult>;
}

/** The outbox's activities: the delivery of runs that schedule it (the worker's relay delivers
 * for the runs that do not, activities/delivery-relay.ts) and the sweep. */
export function createDeliveryActivities(outbox: Outbox) {
  return {
    /**
     * Sends a case's pending notifications. Fails (for Temporal to retry) while a row failed and
     * has attempts left; a row refused for good is marked failed and does not fail the activity.
     */
    async deliverNotifications({ caseId }: { caseId: string }): Promise<DeliveryResult> {
      const { sent, retrying } = await outbox.deliverCase(caseId, activityContext());
      if (retrying.length > 0) {
        throw new Error(
          `${retrying.length} notification(s) not delivered, to be retried: ${retrying.map((r) => `${r.id}: ${r.error}`).join('; ')}`,
        );
      }
      return { sent };
    },

    /** As an activity it takes the input only; the in-process sweeper passes a stop signal. */
    sweepOutbox: (input?: SweepInput, signal?: AbortSignal) => outbox.sweep(input, signal, activityContext()),
  };
}

export interface OutboxSweeper {
  /** Stops the timer and waits for a sweep under way. */
  stop(): Promise<void>;
}

/**
 * Sweeps the outbox every `intervalMs` in this process (each worker process runs one; claims
 * keep them apart). It never throws: a failed sweep is logged and the next one comes.
 */
export function startOutboxSweeper({
  sweep,
  intervalMs,
  logger,
}: {
  sweep: (signal: AbortSignal) => Promise<SweepResult>;
  intervalMs: number;
  logger: Logger;
}): OutboxSweeper {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const stopping = new AbortController();
  const tick = async () => {
    try {
      const result = await sweep(stopping.signal);
      if (result.sent + result.retrying + result.failed > 0) logger.info({ ...result }, 'outbox swept');
    } catch (err) {
      if (stopped) return;
      try {
        logger.warn({ error: describeDatabaseError(err).message }, 'outbox sweep failed; the next sweep retries');
      } catch {
        // Nothing may escape a timer callback.
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      stopping.abort(new Error('the outbox sweeper stopped'));
      await running;
    },
  };
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity: the in-process sweeper, a unit test
  }
}

function permanent(message: string): ChannelError {
  return new ChannelError(message, { permanent: true });
}

function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 500 ? `${message.slice(0, 497)}...` : message;
}
