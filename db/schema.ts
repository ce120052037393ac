import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { ArrearsComponent, Arrears, PaymentAllocation } from '../domain/arrears';
import type { AmountTier, ClassificationRules } from '../domain/classification';
import type {
  Actor,
  Collateral,
  HandRule,
  MeasureDecisionView,
  MeasureRules,
  CollateralStatus,
  InstalmentView,
  MeasureView,
  WriteOffView,
  NextActionView,
  OpenPromiseView,
  PauseView,
  ProceedsView,
  ProjectionIncidentView,
  SettlementView,
  ClassificationView,
  FollowUpRule,
  ExitMeasureView,
} from '../domain';

const money = (name: string) => bigint(name, { mode: 'number' });
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** Versioned collection policies: a version is never changed once written. */
export const collectionPolicies = pgTable(
  'collection_policies',
  {
    name: text('name').notNull(),
    version: integer('version').notNull(),
    description: text('description').notNull(),
    dayMs: integer('day_ms').notNull(),
    maxPromiseDays: integer('max_promise_days').notNull(),
    hands: jsonb('hands').$type<HandRule[]>().notNull(),
    /** The plan's rules (minimum hands, compliance flags, the policy's own proposals); null for
     * versions written before the plan, which run by the default rules. */
    measureRules: jsonb('measure_rules').$type<MeasureRules>(),
    /** The order a partial payment pays the arrears' components; null: the standard order. */
    allocationOrder: jsonb('allocation_order').$type<ArrearsComponent[]>(),
    /** Recovery likelihood rules and amount tiers; null: the defaults. */
    classification: jsonb('classification').$type<ClassificationRules>(),
    amountTiers: jsonb('amount_tiers').$type<AmountTier[]>(),
    /** Supervisors' phone follow-ups; null: none. */
    followUps: jsonb('follow_ups').$type<FollowUpRule>(),
    /** Case days a closed case keeps its parties' personal data; null: kept until erased otherwise. */
    personalDataRetentionDays: integer('personal_data_retention_days'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] })],
);

/** The ledger (台账): one row per case, the read model of its workflow. */
export const cases = pgTable(
  'cases',
  {
    caseId: text('case_id').primaryKey(),
    loanId: text('loan_id').notNull(),
    /** The borrower's household (api/household.ts): a keyed hash of the ID number, never the
     * number; null for cases opened before households. */
    householdId: text('household_id'),
    /** The first Temporal run of the current episode; a loan overdue again starts a new one. */
    runId: text('run_id').notNull(),
    episode: integer('episode').notNull().default(1),
    stage: text('stage').notNull(),
    hand: smallint('hand').notNull(),
    overdueSince: date('overdue_since').notNull(),
    /** The case calendar (wall-clock origin, length of a case day): days past due and paused
     * days are computed from it where they are read, never written by a waking workflow. */
    clockOrigin: at('clock_origin').notNull(),
    dayMs: integer('day_ms').notNull(),
    /** Case time spent in finished pauses; a running pause counts from `pause_since_case`. */
    pausedCaseMs: bigint('paused_case_ms', { mode: 'number' }).notNull().default(0),
    pauseSinceCase: bigint('pause_since_case', { mode: 'number' }),
    currency: text('currency').notNull(),
    principal: money('principal').notNull(),
    outstanding: money('outstanding').notNull(),
    overdue: money('overdue').notNull(),
    /** `overdue` by component; rows written before components hold it all as principal. */
    arrears: jsonb('arrears').$type<Arrears>().notNull(),
    recovered: money('recovered').notNull(),
    creditToReturn: money('credit_to_return').notNull().default(0),
    /** cured / repaid / settled / written_off; null while collecting (and for cases closed
     * before outcomes were told apart). */
    outcome: text('outcome'),
    settlement: jsonb('settlement').$type<SettlementView>(),
    /** likely / difficult / unlikely (an override included); null before the case is classified. */
    likelihood: text('likelihood'),
    tier: text('tier'),
    classification: jsonb('classification').$type<ClassificationView>(),
    branch: text('branch').notNull(),
    product: text('product').notNull(),
    secured: boolean('secured').notNull(),
    officerId: text('officer_id'),
    policyName: text('policy_name').notNull(),
    policyVersion: integer('policy_version').notNull(),
    collateral: jsonb('collateral').$type<Collateral[]>().notNull(),
    openPromise: jsonb('open_promise').$type<OpenPromiseView>(),
    pause: jsonb('pause').$type<PauseView>(),
    nextAction: jsonb('next_action').$type<NextActionView>(),
    /** The plan as the case last projected it (each measure also has its row in `case_measures`). */
    measures: jsonb('measures').$type<MeasureView[]>().notNull().default([]),
    writeOff: jsonb('write_off').$type<WriteOffView>(),
    recoveredAfterWriteOff: money('recovered_after_write_off').notNull().default(0),
    legalCosts: money('legal_costs').notNull().default(0),
    collateralStatus: jsonb('collateral_status').$type<CollateralStatus[]>().notNull().default([]),
    /** Batches the ledger refused, as the case tells them (see `projection_incidents`). */
    incidents: jsonb('incidents').$type<ProjectionIncidentView[]>().notNull().default([]),
    nextActionAt: at('next_action_at'),
    lastEventType: text('last_event_type'),
    lastEventAt: at('last_event_at'),
    openedAt: at('opened_at').notNull(),
    closedAt: at('closed_at'),
    /** Count of events projected; a stale write (a retried activity) never overwrites a newer one. */
    version: integer('version').notNull(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // Every list filter of GET /v1/cases ends in the cursor's order (case_id): a page is an
    // index range scan, never a sort of the whole branch.
    index('cases_branch_case_idx').on(t.branch, t.caseId),
    index('cases_branch_stage_case_idx').on(t.branch, t.stage, t.caseId),
    index('cases_branch_hand_case_idx').on(t.branch, t.hand, t.caseId),
    index('cases_stage_case_idx').on(t.stage, t.caseId),
    index('cases_hand_case_idx').on(t.hand, t.caseId),
    index('cases_officer_case_idx').on(t.officerId, t.caseId),
    index('cases_overdue_since_idx').on(t.overdueSince, t.caseId),
    index('cases_loan_idx').on(t.loanId),
    index('cases_household_case_idx').on(t.householdId, t.caseId),
    index('cases_branch_likelihood_case_idx').on(t.branch, t.likelihood, t.caseId),
    index('cases_branch_tier_case_idx').on(t.branch, t.tier, t.caseId),
    check('cases_money_non_negative', sql`${t.outstanding} >= 0 and ${t.overdue} >= 0 and ${t.recovered} >= 0`),
    check('cases_hand_range', sql`${t.hand} between 1 and 6`),
  ],
);

/**
 * Borrower and guarantors: personal data kept apart from the ledger, out of logs and out of
 * Temporal. Intake writes them before the case's workflow starts, so before the ledger has the
 * case's row: no foreign key to `cases`. Retention deletes them once the closed case's policy
 * says so (activities/retention.ts).
 */
export const caseParties = pgTable(
  'case_parties',
  {
    caseId: text('case_id').notNull(),
    role: text('role', { enum: ['borrower', 'guarantor'] }).notNull(),
    position: smallint('position').notNull(),
    name: text('name').notNull(),
    idNumber: text('id_number').notNull(),
    phone: text('phone').notNull(),
    /** When intake wrote them: retention erases only parties written before the case closed, never
     * those a new episode's intake has just written. */
    recordedAt: at('recorded_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.caseId, t.role, t.position] })],
);

/** The business trail, append-only: a trigger refuses UPDATE and DELETE. */
export const caseEvents = pgTable(
  'case_events',
  {
    /** Made in the workflow (replay-safe uuid4), so a retried activity cannot add a second row. */
    eventId: text('event_id').primaryKey(),
    caseId: text('case_id')
      .notNull()
      .references(() => cases.caseId),
    runId: text('run_id').notNull(),
    episode: integer('episode').notNull(),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    actorSub: text('actor_sub').notNull(),
    actorRole: text('actor_role').notNull(),
    requestId: text('request_id'),
    occurredAt: at('occurred_at').notNull(),
    recordedAt: at('recorded_at').notNull().defaultNow(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /** The chain (migration 0010): set by the database's trigger, never by a writer. */
    prevHash: text('prev_hash'),
    hash: text('hash'),
  },
  (t) => [
    uniqueIndex('case_events_case_seq_idx').on(t.caseId, t.episode, t.seq),
    index('case_events_request_idx').on(t.caseId, t.requestId),
  ],
);

/** Payments credited to a case: when paid (by the borrower) and when received (by the case). */
export const payments = pgTable(
  'payments',
  {
    caseId: text('case_id')
      .notNull()
      .references(() => cases.caseId),
    episode: integer('episode').notNull(),
    reference: text('reference').notNull(),
    amount: money('amount').notNull(),
    currency: text('currency').notNull(),
    paidAt: at('paid_at').notNull(),
    receivedAt: at('received_at').notNull(),
    eventId: text('event_id').notNull(),
    recordedBy: text('recorded_by').notNull(),
    /** `borrower`, or `guarantor:<n>`. */
    payer: text('payer').notNull().default('borrower'),
    /** What the payment paid of each component, of the balance, and the credit to return; null
     * for payments recorded before arrears by component. */
    allocation: jsonb('allocation').$type<PaymentAllocation>(),
  },
  (t) => [
    primaryKey({ columns: [t.caseId, t.episode, t.reference] }),
    check('payments_amount_positive', sql`${t.amount} > 0`),
  ],
);

/**
 * Notifications to deliver, one row per recipient party: a policy's letter to "guarantors"
 * becomes one row per guarantor, so a failing guarantor never resends the borrower's. The row id
 * (`<notification id>:borrower`, `<notification id>:guarantor:<n>`) is the idempotency key the
 * channel adapter passes to its gateway. Personal data stays in `case_parties`.
 */
export const notificationOutbox = pgTable(
  'notification_outbox',
  {
    id: text('id').primaryKey(),
    /** The notification the case workflow made (one per policy action). */
    notificationId: text('notification_id').notNull(),
    caseId: text('case_id')
      .notNull()
      .references(() => cases.caseId),
    channel: text('channel').notNull(),
    template: text('template').notNull(),
    /** Whom the policy addressed: `borrower` or `guarantors`. */
    recipient: text('recipient').notNull(),
    /** The party this row goes to: `case_parties` (case_id, role, position). */
    partyRole: text('party_role', { enum: ['borrower', 'guarantor'] }).notNull(),
    partyPosition: smallint('party_position').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /** `suppressed`: a borrower's message not sent because the household already heard one on
     * that channel that day, or hears one from a case at a higher hand (one voice per borrower). */
    status: text('status', { enum: ['pending', 'sent', 'failed', 'suppressed'] }).notNull().default('pending'),
    /** Sends started (counted when a row is claimed, so a crash mid-send counts too). */
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** The sweeper retries a pending row from then on (a backoff after each failure). */
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    /** A delivery's lease on the row: nobody else sends it until `claimed_until`. */
    claimedBy: text('claimed_by'),
    claimedUntil: at('claimed_until'),
    createdAt: at('created_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
    /** The day (its case's date: the UTC date on a real policy) a borrower's row took its
     * household's voice on its channel, delivery having chosen to send it; cleared when that
     * attempt fails, so another row may speak that day (activities/delivery.ts, one voice). */
    voiceDay: date('voice_day'),
  },
  (t) => [
    index('notification_outbox_pending_idx').on(t.caseId).where(sql`${t.status} = 'pending'`),
    index('notification_outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    // One voice per borrower: a household's borrower rows of a channel, sent or pending, by case.
    index('notification_outbox_voice_idx').on(t.caseId, t.channel, t.sentAt).where(sql`${t.partyRole} = 'borrower'`),
    check('notification_outbox_status_known', sql`${t.status} in ('pending', 'sent', 'failed', 'suppressed')`),
  ],
);

/** Work for officers: calls, visits, legal steps, each with a due time. */
export const officerTasks = pgTable(
  'officer_tasks',
  {
    id: text('id').primaryKey(),
    caseId: text('case_id')
      .notNull()
      .references(() => cases.caseId),
    type: text('type').notNull(),
    hand: smallint('hand').notNull(),
    officerId: text('officer_id'),
    status: text('status', { enum: ['open', 'done', 'cancelled'] }).notNull().default('open'),
    dueAt: at('due_at').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('officer_tasks_case_idx').on(t.caseId), index('officer_tasks_officer_due_idx').on(t.officerId, t.dueAt)],
);


/** Batches the ledger refused for their data (a `projection_failed` incident): the case went
 * on; the batch waits here, as JSON text, for a supervisor to repair what it carried. */
export const projectionIncidents = pgTable(
  'projection_incidents',
  {
    caseId: text('case_id').notNull(),
    runId: text('run_id').notNull(),
    version: integer('version').notNull(),
    branch: text('branch').notNull(),
    error: text('error').notNull(),
    eventTypes: jsonb('event_types').$type<string[]>().notNull(),
    batch: text('batch').notNull(),
    occurredAt: at('occurred_at').notNull().defaultNow(),
    resolvedAt: at('resolved_at'),
  },
  (t) => [
    primaryKey({ columns: [t.caseId, t.runId, t.version] }),
    index('projection_incidents_open_idx').on(t.branch, t.occurredAt).where(sql`${t.resolvedAt} is null`),
  ],
);

/** Officers' messages a case refused at once (update validators): who tried what, and why.
 * Kept here, not in the case's Temporal history, which a refusal leaves untouched. */
export const messageRefusals = pgTable(
  'message_refusals',
  {
    caseId: text('case_id').notNull(),
    requestId: text('request_id').notNull(),
    message: text('message').notNull(),
    reason: text('reason').notNull(),
    field: text('field'),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull(),
    actorSub: text('actor_sub').notNull(),
    actorRole: text('actor_role').notNull(),
    refusedAt: at('refused_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.caseId, t.requestId, t.reason] }),
    index('message_refusals_case_idx').on(t.caseId, t.refusedAt),
  ],
);

/** The plan (一户一策): every measure of every case, as its case last projected it. The queue of
 * approvals is the proposed ones, oldest first, per branch. */
export const caseMeasures = pgTable(
  'case_measures',
  {
    measureId: text('measure_id').primaryKey(),
    caseId: text('case_id')
      .notNull()
      .references(() => cases.caseId),
    episode: integer('episode').notNull(),
    branch: text('branch').notNull(),
    type: text('type').notNull(),
    state: text('state').notNull(),
    rationale: text('rationale').notNull(),
    expectedRecovery: bigint('expected_recovery', { mode: 'number' }).notNull(),
    proposedBy: jsonb('proposed_by').$type<Actor>().notNull(),
    proposedAt: at('proposed_at').notNull(),
    rule: jsonb('rule').$type<{ policy: string; version: number; rule: string }>(),
    decision: jsonb('decision').$type<MeasureDecisionView>(),
    startedAt: at('started_at'),
    endedAt: at('ended_at'),
    lastNote: text('last_note'),
    parties: jsonb('parties').$type<string[]>().notNull().default([]),
    schedule: jsonb('schedule').$type<InstalmentView[]>(),
    covers: jsonb('covers').$type<string[]>(),
    proceeds: jsonb('proceeds').$type<ProceedsView[]>(),
    /** The case version that last wrote the row: a late retry never overwrites a newer state. */
    version: integer('version').notNull(),
  },
  (t) => [
    index('case_measures_case_idx').on(t.caseId, t.proposedAt),
    index('case_measures_pending_idx').on(t.branch, t.proposedAt).where(sql`${t.state} = 'proposed'`),
  ],
);

/** The officers registry, per branch: who takes new cases (the least-loaded active officer of
 * the loan's branch, below their capacity) and who may receive a reassignment. */
export const officers = pgTable(
  'officers',
  {
    id: text('id').primaryKey(),
    branch: text('branch').notNull(),
    active: boolean('active').notNull().default(true),
    /** The most open cases the officer takes by automatic assignment. */
    capacity: integer('capacity').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('officers_branch_idx').on(t.branch, t.id),
    check('officers_capacity_non_negative', sql`${t.capacity} >= 0`),
  ],
);

// ---- The risk watch and the team channel ---------------------------------------------------

/** The risk watches (风险预警): one row per watched loan, the read model of its workflow. */
export const watches = pgTable(
  'watches',
  {
    watchId: text('watch_id').primaryKey(),
    loanId: text('loan_id').notNull(),
    /** The first Temporal run of the watch: a loan watched again after its watch closed starts a new one. */
    runId: text('run_id').notNull(),
    branch: text('branch').notNull(),
    officerId: text('officer_id'),
    currency: text('currency').notNull(),
    outstanding: money('outstanding').notNull(),
    trigger: text('trigger').notNull(),
    state: text('state').notNull(),
    exitPlan: jsonb('exit_plan').$type<ExitMeasureView[]>().notNull().default([]),
    visitEveryDays: integer('visit_every_days'),
    nextVisitAt: at('next_visit_at'),
    visits: integer('visits').notNull().default(0),
    /** The collection case the watch handed over to, once the loan went overdue. */
    caseId: text('case_id'),
    openedAt: at('opened_at').notNull(),
    closedAt: at('closed_at'),
    /** Batches projected; a stale write (a retried activity) never overwrites a newer one. */
    version: integer('version').notNull(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('watches_branch_watch_idx').on(t.branch, t.watchId),
    index('watches_branch_state_watch_idx').on(t.branch, t.state, t.watchId),
    index('watches_state_watch_idx').on(t.state, t.watchId),
    index('watches_officer_watch_idx').on(t.officerId, t.watchId),
    check('watches_outstanding_non_negative', sql`${t.outstanding} >= 0`),
  ],
);

/** The watch's trail, append-only (a trigger refuses UPDATE and DELETE; the runtime may not). */
export const watchEvents = pgTable(
  'watch_events',
  {
    /** Made in the workflow (replay-safe uuid4): a retried activity cannot add a second row. */
    eventId: text('event_id').primaryKey(),
    watchId: text('watch_id')
      .notNull()
      .references(() => watches.watchId),
    /** The watch's first run (its `run_id` when written). */
    runId: text('run_id').notNull(),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    actorSub: text('actor_sub').notNull(),
    actorRole: text('actor_role').notNull(),
    requestId: text('request_id'),
    occurredAt: at('occurred_at').notNull(),
    recordedAt: at('recorded_at').notNull().defaultNow(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [uniqueIndex('watch_events_watch_seq_idx').on(t.watchId, t.runId, t.seq)],
);

/** Visits to large customers (大客户), raised by their watch on its schedule. */
export const watchTasks = pgTable(
  'watch_tasks',
  {
    id: text('id').primaryKey(),
    watchId: text('watch_id')
      .notNull()
      .references(() => watches.watchId),
    type: text('type').notNull(),
    officerId: text('officer_id'),
    status: text('status', { enum: ['open', 'done', 'cancelled'] }).notNull().default('open'),
    dueAt: at('due_at').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('watch_tasks_watch_idx').on(t.watchId), index('watch_tasks_officer_due_idx').on(t.officerId, t.dueAt)],
);

/**
 * Results posted to the team channel (清收微信群), one row per business event and configured
 * URL, written in the projection's transaction with the event: none is lost, none written twice.
 * Only ids, branch, hand and amounts: no personal data. A result is a case's or a watch's.
 */
export const teamChannelOutbox = pgTable(
  'team_channel_outbox',
  {
    /** `<event id>@<url key>`: the receiver's idempotency key. */
    id: text('id').primaryKey(),
    eventId: text('event_id').notNull(),
    caseId: text('case_id'),
    watchId: text('watch_id'),
    kind: text('kind').notNull(),
    url: text('url').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    claimedBy: text('claimed_by'),
    claimedUntil: at('claimed_until'),
    createdAt: at('created_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
  },
  (t) => [
    index('team_channel_outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    check('team_channel_outbox_status_known', sql`${t.status} in ('pending', 'sent', 'failed')`),
    check('team_channel_outbox_one_subject', sql`num_nonnulls(${t.caseId}, ${t.watchId}) = 1`),
  ],
);

// ---- Reads of personal data and histories ---------------------------------------------------

/** Who read which case's personal data or history, and when: append-only (the runtime may only
 * insert and select; a trigger refuses UPDATE, DELETE and TRUNCATE). No foreign key: the record of
 * a read outlives the case it read. */
export const caseReads = pgTable(
  'case_reads',
  {
    readId: uuid('read_id').notNull().defaultRandom(),
    readAt: at('read_at').notNull().defaultNow(),
    actorSub: text('actor_sub').notNull(),
    actorRole: text('actor_role').notNull(),
    actorBranch: text('actor_branch'),
    caseId: text('case_id').notNull(),
    /** What was read: the case, its events, refusals, history, a suit, its household, the trail. */
    what: text('what').notNull(),
    /** The request's id (`x-request-id` in the logs). */
    requestId: text('request_id').notNull(),
  },
  // Written on every read: the key in time order (new rows go to the index's right edge, where
  // a random uuid alone lands anywhere) and serving the time-ordered listing; two indexes more
  // for the listing by case and by reader (GET /v1/audit/reads), and no other.
  (t) => [
    primaryKey({ columns: [t.readAt, t.readId] }),
    index('case_reads_case_idx').on(t.caseId, t.readAt, t.readId),
    index('case_reads_actor_idx').on(t.actorSub, t.readAt, t.readId),
  ],
);

// ---- The daily intake of the overdue list -------------------------------------------------

/** One taking-in of the daily overdue list (还款资金落实): through the API or the daily schedule. */
export const intakeRuns = pgTable(
  'intake_runs',
  {
    runId: text('run_id').primaryKey(),
    /** `api` (POST /v1/intake/overdue) or `schedule` (a file of the intake folder). */
    source: text('source').notNull(),
    file: text('file'),
    actorSub: text('actor_sub').notNull(),
    actorRole: text('actor_role').notNull(),
    startedAt: at('started_at').notNull().defaultNow(),
    /** Null while the run goes on (or if it stopped midway; the schedule's retry finishes it). */
    finishedAt: at('finished_at'),
    rows: integer('rows').notNull().default(0),
    created: integer('created').notNull().default(0),
    updated: integer('updated').notNull().default(0),
    unchanged: integer('unchanged').notNull().default(0),
    rejected: integer('rejected').notNull().default(0),
  },
  (t) => [
    index('intake_runs_started_idx').on(t.startedAt, t.runId),
    check('intake_runs_source_known', sql`${t.source} in ('api', 'schedule')`),
  ],
);

/** What became of each row of a run; rejected rows name the column or field and the reason.
 * No personal data: the loan and case ids only. Append-only for the runtime. */
export const intakeRowResults = pgTable(
  'intake_row_results',
  {
    runId: text('run_id')
      .notNull()
      .references(() => intakeRuns.runId),
    row: integer('row').notNull(),
    loanId: text('loan_id'),
    caseId: text('case_id'),
    outcome: text('outcome').notNull(),
    errors: jsonb('errors').$type<{ field: string; reason: string }[]>().notNull().default([]),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.row] }),
    index('intake_row_results_case_idx').on(t.caseId),
    check('intake_row_results_outcome_known', sql`${t.outcome} in ('created', 'updated', 'unchanged', 'rejected')`),
  ],
);
