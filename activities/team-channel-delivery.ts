import { createHmac, randomUUID } from 'node:crypto';
import os from 'node:os';
import { and, asc, eq, inArray, isNull, lt, lte, notInArray, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { teamChannelOutbox } from '../db/schema';
import type { Logger } from '../logger';
import type { SweepResult } from './delivery';
import { ms } from './delivery-statements';

export interface TeamChannelOptions {
  /** Where results are posted; each gets its own row, its own retries. */
  urls: string[];
  /** Signs every body (HMAC-SHA256 with its timestamp): receivers check it came from the bank. */
  secret: string;
  timeoutMs: number;
  maxAttempts: number;
  /** Backoff after a failed attempt: base × 2^(attempts − 1), at most max. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A claim's lease: nobody else posts the row until it runs out. */
  leaseMs: number;
  /** How often the worker process sends what is due. */
  intervalMs: number;
}

export const DEFAULT_TEAM_CHANNEL_OPTIONS = {
  timeoutMs: 10_000,
  maxAttempts: 8,
  retryBaseMs: 15_000,
  retryMaxMs: 30 * 60_000,
  leaseMs: 60_000,
  intervalMs: 5_000,
} as const;

/** The header receivers verify: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const TEAM_CHANNEL_SIGNATURE_HEADER = 'x-team-channel-signature';

/** The signature of a body sent at `timestamp` (unix seconds); the timestamp is signed with
 * the body, so a captured request cannot be replayed later under a fresh one. */
export function teamChannelSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * Posts the team channel's outbox to its URLs. A row is claimed with `FOR UPDATE SKIP LOCKED`
 * and a lease, so two workers never post it at once; attempts count at the claim. A 2xx marks it
 * sent (never posted again); anything else leaves it pending with a backoff, or failed once out of
 * attempts. Receivers de-duplicate on the `Idempotency-Key` (the row id) should an answer be lost.
 */
export function createTeamChannelDelivery(db: Database, options: TeamChannelOptions, logger?: Logger) {
  const claimant = () => `${os.hostname()}:${process.pid}:team:${randomUUID().slice(0, 8)}`;

  async function claimNext(owner: string, tried: string[]) {
    const next = db
      .select({ id: teamChannelOutbox.id })
      .from(teamChannelOutbox)
      .where(
        and(
          eq(teamChannelOutbox.status, 'pending'),
          inArray(teamChannelOutbox.url, options.urls),
          lte(teamChannelOutbox.nextAttemptAt, sql`now()`),
          or(isNull(teamChannelOutbox.claimedUntil), lt(teamChannelOutbox.claimedUntil, sql`now()`)),
          tried.length ? notInArray(teamChannelOutbox.id, tried) : undefined,
        ),
      )
      .orderBy(asc(teamChannelOutbox.createdAt), asc(teamChannelOutbox.id))
      .limit(1)
      .for('update', { skipLocked: true });
    const [row] = await db
      .update(teamChannelOutbox)
      .set({ claimedBy: owner, claimedUntil: sql`now() + ${ms(options.leaseMs)}`, attempts: sql`${teamChannelOutbox.attempts} + 1` })
      .where(inArray(teamChannelOutbox.id, next))
      .returning({ id: teamChannelOutbox.id, url: teamChannelOutbox.url, payload: teamChannelOutbox.payload, attempts: teamChannelOutbox.attempts });
    return row;
  }

  async function post(url: string, id: string, payload: Record<string, unknown>, signal?: AbortSignal): Promise<string | null> {
    const body = JSON.stringify({ id, ...payload });
    const timestamp = Math.floor(Date.now() / 1000);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': id,
          [TEAM_CHANNEL_SIGNATURE_HEADER]: `t=${timestamp},v1=${teamChannelSignature(options.secret, timestamp, body)}`,
        },
        body,
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      await response.arrayBuffer();
      return response.status >= 200 && response.status < 300 ? null : `answered ${response.status}`;
    } catch (err) {
      if (timeout.aborted) return `no answer within ${options.timeoutMs} ms`;
      const cause = (err as { cause?: { code?: unknown } }).cause;
      return `request failed: ${typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : String(err)}`;
    }
  }

  return {
    /** Posts every row that is due, one at a time; never throws for a receiver's failure. */
    async sendDue(signal?: AbortSignal): Promise<SweepResult> {
      const result: SweepResult = { sent: 0, retrying: 0, failed: 0 };
      if (options.urls.length === 0) return result;
      const owner = claimant();
      const tried: string[] = [];
      while (!signal?.aborted) {
        const row = await claimNext(owner, tried);
        if (!row) break;
        tried.push(row.id);
        const error = await post(row.url, row.id, row.payload, signal);
        const mine = and(eq(teamChannelOutbox.id, row.id), eq(teamChannelOutbox.claimedBy, owner), eq(teamChannelOutbox.status, 'pending'));
        if (error === null) {
          await db
            .update(teamChannelOutbox)
            .set({ status: 'sent', sentAt: new Date(), claimedBy: null, claimedUntil: null, lastError: null })
            .where(and(eq(teamChannelOutbox.id, row.id), eq(teamChannelOutbox.status, 'pending')));
          result.sent++;
          continue;
        }
        const final = row.attempts >= options.maxAttempts;
        const backoff = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** Math.max(0, row.attempts - 1));
        await db
          .update(teamChannelOutbox)
          .set(
            final
              ? { status: 'failed', lastError: error, claimedBy: null, claimedUntil: null }
              : { lastError: error, claimedBy: null, claimedUntil: null, nextAttemptAt: sql`now() + ${ms(backoff)}` },
          )
          .where(mine);
        if (final) result.failed++;
        else result.retrying++;
        logger?.warn({ outboxId: row.id, attempt: row.attempts, final, error }, final ? 'team channel post failed for good' : 'team channel post failed; will retry');
      }
      return result;
    },
  };
}
