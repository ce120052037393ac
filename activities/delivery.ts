import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Context } from '@temporalio/activity';
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { describeDatabaseError } from '../db/errors';
import { notificationOutbox } from '../db/schema';
import { poolOf, runStatement } from '../db/statements';
import { transactionClient } from '../db/transaction';
import { caseTime, DAY_MS, msToDate, wallTime, type CaseClock, type NotificationChannel } from '../domain';
import type { Logger } from '../logger';
import { ChannelError, isPermanentFailure, type ChannelAdapter, type OutgoingNotification } from './channels';
import type { DeliveryResult } from './contract';
import { ms, outboxStatements, toClaimedRow, type ClaimedRow, type DrainScope } from './delivery-statements';

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

/** The rows a drain takes, and the values its statements take them by. */
interface Scope {
  statements: DrainScope;
  values: Record<string, unknown>;
}

/** What one voice per borrower decides for a borrower's row. */
type Voice = { kind: 'speak' } | { kind: 'suppressed'; reason: string } | { kind: 'lost' };

/**
 * The day a case is in now, on its own calendar, and the wall-clock span it takes: the UTC day for
 * a real policy; on a demo or test policy's compressed calendar a case day lasts `dayMs`, so one
 * voice per day keeps its meaning at that speed, as promise and pause dates do.
 */
export function caseDayNow(clock: CaseClock, nowMs: number): { date: string; from: Date; to: Date } {
  const dayStart = Math.floor(caseTime(clock, nowMs) / DAY_MS) * DAY_MS;
  return { date: msToDate(dayStart), from: new Date(wallTime(clock, dayStart)), to: new Date(wallTime(clock, dayStart + DAY_MS)) };
}

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
  const pool = poolOf(db);
  const st = outboxStatements(o);

  /** Claims the next row in scope that this run has not tried yet. */
  async function claimNext(scope: Scope, claimant: string, tried: string[]): Promise<ClaimedRow | undefined> {
    const [row] = await runStatement(pool, scope.statements.claim, { ...scope.values, claimant, tried });
    return row && toClaimedRow(row);
  }

  /** Rows out of attempts whose last claim ran out (the worker died sending): failed, saying so. */
  async function failExhausted(scope: Scope): Promise<number> {
    return (await runStatement(pool, scope.statements.failExhausted, scope.values)).length;
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
      const client = transactionClient(tx);
      const [kase] = await runStatement<{ household_id: string | null; clock_origin: Date; day_ms: number }>(client, st.caseClock, { caseId: row.caseId });
      const household = kase?.household_id;
      if (!kase || !household) return { kind: 'speak' } as const;
      await runStatement(client, st.voiceLock, { key: `one-voice:${household}:${row.channel}` });
      const [clock] = await runStatement<{ now_ms: string }>(client, st.clock, {});
      const today = caseDayNow({ originMs: kase.clock_origin.getTime(), dayMs: kase.day_ms }, Number(clock!.now_ms));
      const hand = typeof row.payload.hand === 'number' ? row.payload.hand : 0;
      const [rival] = await runStatement<{ id: string; case_id: string; rank: number; hand: string | null }>(client, st.rival, {
        household,
        channel: row.channel,
        id: row.id,
        from: today.from,
        to: today.to,
        hand,
      });
      const mine = { id: row.id, claimant };
      if (rival) {
        const other = `${rival.id} (${rival.case_id}${rival.hand === null ? '' : `, hand ${Number(rival.hand)}`})`;
        const reason =
          Number(rival.rank) === 0
            ? `one voice per borrower: the household already heard ${other} on ${row.channel} today`
            : Number(rival.rank) === 1
              ? `one voice per borrower: the household is hearing ${other} on ${row.channel} today`
              : `one voice per borrower: the household hears ${other} on ${row.channel} today, above this case's hand ${hand}`;
        const updated = await runStatement(client, st.suppress, { ...mine, reason });
        return updated.length > 0 ? ({ kind: 'suppressed', reason } as const) : ({ kind: 'lost' } as const);
      }
      const updated = await runStatement(client, st.takeVoice, { ...mine, day: today.date });
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
      const [party] = await runStatement<{ name: string; phone: string }>(pool, st.party, {
        caseId: row.caseId,
        role: row.partyRole,
        position: row.partyPosition,
      });
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
      await runStatement(pool, st.sent, { id: row.id, sentAt: new Date() });
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
    scope: Scope,
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
      const due: Scope = { statements: st.dueScope, values: { caseIds: input.caseIds ?? null } };
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
      const { sent, retrying } = await drain({ statements: st.caseScope, values: { caseId } }, {
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
