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
} from 'drizzle-orm/pg-core';
import type { Collateral, HandRule, NextActionView, OpenPromiseView, PauseView } from '../domain';

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
    /** The first Temporal run of the current episode; a loan overdue again starts a new one. */
    runId: text('run_id').notNull(),
    episode: integer('episode').notNull().default(1),
    stage: text('stage').notNull(),
    hand: smallint('hand').notNull(),
    daysPastDue: integer('days_past_due').notNull(),
    pausedDays: integer('paused_days').notNull(),
    overdueSince: date('overdue_since').notNull(),
    currency: text('currency').notNull(),
    principal: money('principal').notNull(),
    outstanding: money('outstanding').notNull(),
    overdue: money('overdue').notNull(),
    recovered: money('recovered').notNull(),
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
    index('cases_branch_stage_idx').on(t.branch, t.stage),
    index('cases_officer_idx').on(t.officerId),
    index('cases_hand_idx').on(t.hand),
    index('cases_days_past_due_idx').on(t.daysPastDue),
    index('cases_loan_idx').on(t.loanId),
    check('cases_money_non_negative', sql`${t.outstanding} >= 0 and ${t.overdue} >= 0 and ${t.recovered} >= 0`),
    check('cases_hand_range', sql`${t.hand} between 1 and 6`),
  ],
);

/** Borrower and guarantors: personal data kept apart from the ledger and out of logs. */
export const caseParties = pgTable(
  'case_parties',
  {
    caseId: text('case_id')
      .notNull()
      .references(() => cases.caseId),
    role: text('role', { enum: ['borrower', 'guarantor'] }).notNull(),
    position: smallint('position').notNull(),
    name: text('name').notNull(),
    idNumber: text('id_number').notNull(),
    phone: text('phone').notNull(),
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
  },
  (t) => [
    index('case_events_case_seq_idx').on(t.caseId, t.episode, t.seq),
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
  },
  (t) => [
    primaryKey({ columns: [t.caseId, t.episode, t.reference] }),
    check('payments_amount_positive', sql`${t.amount} > 0`),
  ],
);

/** Notifications waiting for delivery; a delivery activity drains them through channel adapters. */
export const notificationOutbox = pgTable(
  'notification_outbox',
  {
    id: text('id').primaryKey(),
    caseId: text('case_id')
      .notNull()
      .references(() => cases.caseId),
    channel: text('channel').notNull(),
    template: text('template').notNull(),
    recipient: text('recipient').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: ['pending', 'sent', 'failed'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdAt: at('created_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
  },
  (t) => [index('notification_outbox_pending_idx').on(t.caseId).where(sql`${t.status} = 'pending'`)],
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

