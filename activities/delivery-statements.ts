import { and, asc, desc, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { statement, statementBuilder, type Statement } from '../db/statements';
import { caseParties, cases, notificationOutbox as outbox } from '../db/schema';

/** The limits of delivery the statements are built with (activities/delivery.ts DeliveryOptions). */
export interface OutboxLimits {
  maxAttempts: number;
  leaseMs: number;
  sweepGraceMs: number;
}

const claimedColumns = {
  id: outbox.id,
  notificationId: outbox.notificationId,
  caseId: outbox.caseId,
  channel: outbox.channel,
  template: outbox.template,
  partyRole: outbox.partyRole,
  partyPosition: outbox.partyPosition,
  payload: outbox.payload,
  attempts: outbox.attempts,
};

/** A row as a claim returns it. */
export type ClaimedRow = { [K in keyof typeof claimedColumns]: (typeof outbox.$inferSelect)[K] };

/** A claimed row as pg returns it (its columns' names). */
export function toClaimedRow(r: Record<string, unknown>): ClaimedRow {
  return {
    id: r.id,
    notificationId: r.notification_id,
    caseId: r.case_id,
    channel: r.channel,
    template: r.template,
    partyRole: r.party_role,
    partyPosition: r.party_position,
    payload: r.payload,
    attempts: r.attempts,
  } as ClaimedRow;
}

/** An interval of `value` milliseconds, as the outboxes' leases and backoffs are written. */
export const ms = (value: number) => sql`(${Math.round(value)}::int * interval '1 millisecond')`;

/** The hand a notification was made at (the case workflow puts it in the payload); null if none. */
const payloadHand = sql<number | null>`(case when jsonb_typeof(${outbox.payload} -> 'hand') = 'number'
  then (${outbox.payload} ->> 'hand')::numeric end)`;

const p = sql.placeholder;

/** What one drain takes: a case's rows (`caseId`), or those due to the sweeper (`caseIds`: only
 * these cases' rows, null for all). */
export interface DrainScope {
  claim: Statement;
  failExhausted: Statement;
}

/**
 * The outbox's statements, built once per outbox and prepared on each connection (db/statements.ts):
 * a letter's delivery runs about ten of them, and building them through drizzle per call cost
 * more CPU than sending the letter.
 */
export function outboxStatements(o: OutboxLimits) {
  const claimable = and(
    eq(outbox.status, 'pending'),
    lt(outbox.attempts, o.maxAttempts),
    or(isNull(outbox.claimedUntil), lt(outbox.claimedUntil, sql`now()`)),
  )!;

  /** Claims the next row in scope that this drain has not tried yet (`tried`), for `claimant`. */
  const claim = (scope: SQL, name: string) => {
    const next = statementBuilder
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(claimable, scope, sql`not (${outbox.id} = any(${p('tried')}::text[]))`))
      .orderBy(asc(outbox.createdAt), asc(outbox.id))
      .limit(1)
      .for('update', { skipLocked: true });
    return statement(
      statementBuilder
        .update(outbox)
        .set({ claimedBy: sql`${p('claimant')}`, claimedUntil: sql`now() + ${ms(o.leaseMs)}`, attempts: sql`${outbox.attempts} + 1` })
        .where(inArray(outbox.id, next))
        .returning(claimedColumns),
      name,
    );
  };

  /** Rows out of attempts whose last claim ran out (the worker died sending): failed, saying so. */
  const failExhausted = (scope: SQL, name: string) =>
    statement(
      statementBuilder
        .update(outbox)
        .set({
          status: 'failed',
          claimedBy: null,
          claimedUntil: null,
          lastError: sql`coalesce(${outbox.lastError} || '; ', '') || ${`no answer within the lease on attempt ${o.maxAttempts} of ${o.maxAttempts}`}`,
        })
        .where(
          and(
            scope,
            eq(outbox.status, 'pending'),
            sql`${outbox.attempts} >= ${o.maxAttempts}`,
            or(isNull(outbox.claimedUntil), lt(outbox.claimedUntil, sql`now()`)),
          ),
        )
        .returning({ id: outbox.id }),
      name,
    );

  const ofCase = eq(outbox.caseId, p('caseId'));
  const due = and(
    lte(outbox.nextAttemptAt, sql`now()`),
    // A row nobody tried yet belongs to its case's own delivery for a while.
    or(sql`${outbox.attempts} > 0`, lt(outbox.createdAt, sql`now() - ${ms(o.sweepGraceMs)}`)),
    sql`(${p('caseIds')}::text[] is null or ${outbox.caseId} = any(${p('caseIds')}::text[]))`,
  )!;

  /** The claimant's own row, still pending: `id`, `claimant`. */
  const mine = and(eq(outbox.id, p('id')), eq(outbox.claimedBy, p('claimant')), eq(outbox.status, 'pending'));

  // One voice per borrower (activities/delivery.ts takeVoice): `from`/`to` bound the case's day.
  const sentToday = and(eq(outbox.status, 'sent'), gte(outbox.sentAt, p('from')), lt(outbox.sentAt, p('to')));
  const speakingNow = and(eq(outbox.status, 'pending'), isNotNull(outbox.voiceDay), gt(outbox.claimedUntil, sql`clock_timestamp()`));
  // 0: sent today, 1: being sent now, 2: pending from today at a higher hand.
  const rank = sql<number>`(case when ${sentToday} then 0 when ${speakingNow} then 1 else 2 end)`;

  return {
    caseScope: { claim: claim(ofCase, 'outbox_claim_case'), failExhausted: failExhausted(ofCase, 'outbox_exhausted_case') } satisfies DrainScope,
    dueScope: { claim: claim(due, 'outbox_claim_due'), failExhausted: failExhausted(due, 'outbox_exhausted_due') } satisfies DrainScope,
    party: statement(
      statementBuilder
        .select({ name: caseParties.name, phone: caseParties.phone })
        .from(caseParties)
        .where(and(eq(caseParties.caseId, p('caseId')), eq(caseParties.role, p('role')), eq(caseParties.position, p('position')))),
      'outbox_party',
    ),
    caseClock: statement(
      statementBuilder
        .select({ householdId: cases.householdId, clockOrigin: cases.clockOrigin, dayMs: cases.dayMs })
        .from(cases)
        .where(eq(cases.caseId, p('caseId'))),
      'outbox_case_clock',
    ),
    voiceLock: statement(sql`select pg_advisory_xact_lock(hashtextextended(${p('key')}, 0))`, 'outbox_voice_lock'),
    // The database's clock, as sent_at, created_at and claims are judged by it.
    clock: statement(sql`select (extract(epoch from clock_timestamp()) * 1000)::bigint::text as now_ms`, 'outbox_clock'),
    rival: statement(
      statementBuilder
        .select({ id: outbox.id, caseId: outbox.caseId, rank: rank.as('rank'), hand: payloadHand.as('hand') })
        .from(outbox)
        .innerJoin(cases, eq(cases.caseId, outbox.caseId))
        .where(
          and(
            eq(cases.householdId, p('household')),
            eq(outbox.channel, p('channel')),
            eq(outbox.partyRole, 'borrower'),
            ne(outbox.id, p('id')),
            or(
              sentToday,
              speakingNow,
              and(
                eq(outbox.status, 'pending'),
                lt(outbox.attempts, o.maxAttempts),
                gte(outbox.createdAt, p('from')),
                lt(outbox.createdAt, p('to')),
                sql`${payloadHand} > ${p('hand')}::numeric`,
              ),
            ),
          ),
        )
        .orderBy(asc(rank), desc(payloadHand), asc(outbox.id))
        .limit(1),
      'outbox_rival',
    ),
    suppress: statement(
      statementBuilder
        .update(outbox)
        .set({ status: 'suppressed', lastError: sql`${p('reason')}`, claimedBy: null, claimedUntil: null, voiceDay: null })
        .where(mine)
        .returning({ id: outbox.id }),
      'outbox_suppress',
    ),
    takeVoice: statement(statementBuilder.update(outbox).set({ voiceDay: sql`${p('day')}::date` }).where(mine).returning({ id: outbox.id }), 'outbox_take_voice'),
    // Sent: recorded even if the lease ran out meanwhile (the gateway has it; a second sender
    // used the same idempotency key).
    sent: statement(
      statementBuilder
        .update(outbox)
        .set({ status: 'sent', sentAt: sql`${p('sentAt')}::timestamptz`, claimedBy: null, claimedUntil: null, lastError: null })
        .where(and(eq(outbox.id, p('id')), eq(outbox.status, 'pending'))),
      'outbox_sent',
    ),
  };
}
