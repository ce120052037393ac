import { and, asc, eq, getTableColumns, gt, isNull, sql, type SQL } from 'drizzle-orm';
import fp from 'fastify-plugin';
import pg from 'pg';
import type { Database } from '../../../db/client';
import { poolOf, runStatementArrays, statement, statementBuilder, type Statement } from '../../../db/statements';
import { caseEvents, caseMeasures, cases, messageRefusals, projectionIncidents } from '../../../db/schema';
import type { Hand, MessageMeta, Refusal, Role } from '../../../domain';
import { maskPersonalData } from '../../masking';
import type { CaseDetail, CaseEventView } from '../../schemas/cases';

/**
 * What follows from time alone is computed where it is read, from the case calendar, never
 * written by a waking workflow: `now` on the case's own calendar (as of its closing, once
 * closed), days past due, paused days and the case's date. The same arithmetic as
 * `domain/clock.ts` and the workflow's view.
 */
const nowMs = sql`(extract(epoch from coalesce(${cases.closedAt}, now())) * 1000)`;
const originMs = sql`(extract(epoch from ${cases.clockOrigin}) * 1000)`;
const caseNowMs = sql`(${originMs} + (${nowMs} - ${originMs}) * 86400000.0 / ${cases.dayMs})`;
const overdueSinceMs = sql`(extract(epoch from ${cases.overdueSince}::timestamp) * 1000)`;
export const daysPastDueSql = sql<number>`greatest(0, floor((${caseNowMs} - ${overdueSinceMs}) / 86400000))::int`;
const pausedDaysSql = sql<number>`floor((${cases.pausedCaseMs} + coalesce(${caseNowMs} - ${cases.pauseSinceCase}, 0)) / 86400000)::int`;
const caseDateSql = sql<string>`to_char(to_timestamp(${caseNowMs} / 1000) at time zone 'UTC', 'YYYY-MM-DD')`;

export const caseColumns = {
  ...getTableColumns(cases),
  daysPastDue: daysPastDueSql.as('days_past_due'),
  pausedDays: pausedDaysSql.as('paused_days'),
  caseDate: caseDateSql.as('case_date'),
};

export type CaseRow = typeof cases.$inferSelect & { daysPastDue: number; pausedDays: number; caseDate: string };
export type CaseEventRow = typeof caseEvents.$inferSelect;
export type RefusalRow = typeof messageRefusals.$inferSelect;
export type IncidentRow = typeof projectionIncidents.$inferSelect;
export type MeasureRow = typeof caseMeasures.$inferSelect;

export interface CaseFilters {
  stage?: string;
  outcome?: string;
  likelihood?: string;
  tier?: string;
  policyName?: string;
  policyVersion?: number;
  hand?: number;
  branch?: string;
  officerId?: string;
  minDaysPastDue?: number;
  maxDaysPastDue?: number;
}

/** In the order the prepared lists name them. */
const FILTER_KEYS = [
  'stage',
  'outcome',
  'likelihood',
  'tier',
  'policyName',
  'policyVersion',
  'hand',
  'branch',
  'officerId',
  'minDaysPastDue',
  'maxDaysPastDue',
] as const satisfies readonly (keyof CaseFilters)[];
const LIST_KEYS = [...FILTER_KEYS, 'after'] as const;
/** Combinations of list filters prepared by name (of 4,096). */
const MAX_PREPARED_LISTS = 32;
type ListKey = (typeof LIST_KEYS)[number];

export interface EventPosition {
  episode: number;
  seq: number;
}

/** A ledger row as the API shows it: the case view, its episode and its last event. */
export function toCaseDetail(row: CaseRow): CaseDetail {
  return {
    caseId: row.caseId,
    loanId: row.loanId,
    householdId: row.householdId ?? null,
    stage: row.stage as CaseDetail['stage'],
    hand: row.hand as Hand,
    caseDate: row.caseDate,
    daysPastDue: row.daysPastDue,
    pausedDays: row.pausedDays,
    overdueSince: row.overdueSince,
    currency: row.currency,
    principal: row.principal,
    overdue: row.overdue,
    arrears: row.arrears,
    outstanding: row.outstanding,
    recovered: row.recovered,
    creditToReturn: row.creditToReturn,
    outcome: (row.outcome ?? null) as CaseDetail['outcome'],
    settlement: row.settlement ?? null,
    classification: row.classification ?? null,
    tier: row.tier ?? null,
    branch: row.branch,
    product: row.product,
    secured: row.secured,
    officerId: row.officerId,
    policy: { name: row.policyName, version: row.policyVersion },
    openPromise: row.openPromise ?? null,
    pause: row.pause ?? null,
    nextAction: row.nextAction ?? null,
    measures: row.measures ?? [],
    writeOff: row.writeOff ?? null,
    recoveredAfterWriteOff: row.recoveredAfterWriteOff,
    legalCosts: row.legalCosts,
    collateralStatus: row.collateralStatus ?? [],
    incidents: row.incidents ?? [],
    openedAt: row.openedAt.toISOString(),
    closedAt: row.closedAt ? row.closedAt.toISOString() : null,
    episode: row.episode,
    lastEvent:
      row.lastEventType && row.lastEventAt ? { type: row.lastEventType, at: row.lastEventAt.toISOString() } : null,
  };
}

export function toCaseEventView(row: CaseEventRow): CaseEventView {
  return {
    eventId: row.eventId,
    episode: row.episode,
    seq: row.seq,
    type: row.type,
    actor: { sub: row.actorSub, role: row.actorRole as Role },
    requestId: row.requestId,
    occurredAt: row.occurredAt.toISOString(),
    recordedAt: row.recordedAt.toISOString(),
    payload: maskPersonalData(row.payload),
  };
}

/**
 * How pg reads the ledger's columns: as drizzle maps them (a timestamptz column in mode 'date'
 * becomes a Date, a bigint in mode 'number' a number, a date stays its 'YYYY-MM-DD' text); every
 * other type pg's own way. Done by pg's parsers, the row needs no mapping beyond its names.
 */
const LEDGER_TYPES: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => {
    if (oid === pg.types.builtins.TIMESTAMPTZ) return (value: string) => new Date(value);
    if (oid === pg.types.builtins.INT8) return Number;
    if (oid === pg.types.builtins.DATE) return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  },
};

/** Where each column of `caseColumns` sits in a row read with it (drizzle selects in key order). */
const AT = Object.fromEntries(Object.keys(caseColumns).map((key, i) => [key, i])) as Record<keyof typeof caseColumns, number>;

/** A ledger row read with `caseColumns`, as pg's parsers (LEDGER_TYPES) left its values. */
function toCaseRow(r: readonly unknown[]): CaseRow {
  return {
    caseId: r[AT.caseId],
    loanId: r[AT.loanId],
    householdId: r[AT.householdId],
    runId: r[AT.runId],
    episode: r[AT.episode],
    stage: r[AT.stage],
    hand: r[AT.hand],
    overdueSince: r[AT.overdueSince],
    clockOrigin: r[AT.clockOrigin],
    dayMs: r[AT.dayMs],
    pausedCaseMs: r[AT.pausedCaseMs],
    pauseSinceCase: r[AT.pauseSinceCase],
    currency: r[AT.currency],
    principal: r[AT.principal],
    outstanding: r[AT.outstanding],
    overdue: r[AT.overdue],
    arrears: r[AT.arrears],
    recovered: r[AT.recovered],
    creditToReturn: r[AT.creditToReturn],
    outcome: r[AT.outcome],
    settlement: r[AT.settlement],
    likelihood: r[AT.likelihood],
    tier: r[AT.tier],
    classification: r[AT.classification],
    branch: r[AT.branch],
    product: r[AT.product],
    secured: r[AT.secured],
    officerId: r[AT.officerId],
    policyName: r[AT.policyName],
    policyVersion: r[AT.policyVersion],
    collateral: r[AT.collateral],
    openPromise: r[AT.openPromise],
    pause: r[AT.pause],
    nextAction: r[AT.nextAction],
    measures: r[AT.measures],
    writeOff: r[AT.writeOff],
    recoveredAfterWriteOff: r[AT.recoveredAfterWriteOff],
    legalCosts: r[AT.legalCosts],
    collateralStatus: r[AT.collateralStatus],
    incidents: r[AT.incidents],
    nextActionAt: r[AT.nextActionAt],
    lastEventType: r[AT.lastEventType],
    lastEventAt: r[AT.lastEventAt],
    openedAt: r[AT.openedAt],
    closedAt: r[AT.closedAt],
    version: r[AT.version],
    updatedAt: r[AT.updatedAt],
    daysPastDue: r[AT.daysPastDue],
    pausedDays: r[AT.pausedDays],
    caseDate: r[AT.caseDate],
  } satisfies Record<keyof CaseRow, unknown> as CaseRow;
}

// The ledger's reads are built once and prepared by name on each connection (db/statements.ts):
// building the query with its computed columns, and PostgreSQL's parsing and planning of it, cost
// more than the read itself. They run on pg itself: drizzle's generic mapping of each row cost
// about 6% of the API's CPU on a read of one case (bench:reads), toCaseRow a fraction of it.
const findCaseRead = statement(statementBuilder.select(caseColumns).from(cases).where(eq(cases.caseId, sql.placeholder('caseId'))), 'cases_find');
const listCasesReads = new Map<number, Statement>();
function listCasesQuery(present: readonly ListKey[]) {
  const has = new Set(present);
  const p = (name: string) => sql.placeholder(name);
  const where: (SQL | undefined)[] = [
    has.has('stage') ? eq(cases.stage, p('stage')) : undefined,
    has.has('outcome') ? eq(cases.outcome, p('outcome')) : undefined,
    has.has('likelihood') ? eq(cases.likelihood, p('likelihood')) : undefined,
    has.has('tier') ? eq(cases.tier, p('tier')) : undefined,
    has.has('policyName') ? eq(cases.policyName, p('policyName')) : undefined,
    has.has('policyVersion') ? eq(cases.policyVersion, p('policyVersion')) : undefined,
    has.has('hand') ? eq(cases.hand, p('hand')) : undefined,
    has.has('branch') ? eq(cases.branch, p('branch')) : undefined,
    has.has('officerId') ? eq(cases.officerId, p('officerId')) : undefined,
    has.has('minDaysPastDue') ? sql`${daysPastDueSql} >= ${p('minDaysPastDue')}` : undefined,
    has.has('maxDaysPastDue') ? sql`${daysPastDueSql} <= ${p('maxDaysPastDue')}` : undefined,
    has.has('after') ? gt(cases.caseId, p('after')) : undefined,
  ];
  return statementBuilder
    .select(caseColumns)
    .from(cases)
    .where(and(...where))
    .orderBy(asc(cases.caseId))
    .limit(p('limit'));
}

/** Reads of the ledger (`cases`) and the business trail (`case_events`). */
export function createCasesRepository(db: Database) {
  const pool = poolOf(db);
  const readCases = async (read: Statement, values: Record<string, unknown>): Promise<CaseRow[]> =>
    (await runStatementArrays(pool, read, values, LEDGER_TYPES)).map(toCaseRow);

  return {
    async findCase(caseId: string): Promise<CaseRow | undefined> {
      const [row] = await readCases(findCaseRead, { caseId });
      return row;
    },

    /** A page of cases in case id order after `afterCaseId`; `limit + 1` rows tell if more follow. */
    async listCases(filters: CaseFilters, afterCaseId: string | null, limit: number): Promise<CaseRow[]> {
      const values: Record<string, unknown> = { limit: limit + 1 };
      for (const key of FILTER_KEYS) if (filters[key] !== undefined) values[key] = filters[key];
      if (afterCaseId !== null) values.after = afterCaseId;
      const present = LIST_KEYS.filter((key) => key in values);
      // A statement per combination of filters (a bit each), named within PostgreSQL's 63 bytes.
      // Each named one holds memory in every connection: the first few combinations (the ones
      // clients use) are prepared, any others built and planned per request.
      const mask = LIST_KEYS.reduce((m, key, i) => (key in values ? m | (1 << i) : m), 0);
      let read = listCasesReads.get(mask);
      if (!read && listCasesReads.size < MAX_PREPARED_LISTS) {
        listCasesReads.set(mask, (read = statement(listCasesQuery(present), `cases_list_${mask}`)));
      }
      return readCases(read ?? statement(listCasesQuery(present)), values);
    },

    /** The business trail, oldest first, after a position; `limit + 1` rows tell if more follow. */
    async listEvents(caseId: string, after: EventPosition | null, limit: number): Promise<CaseEventRow[]> {
      return db
        .select()
        .from(caseEvents)
        .where(
          and(
            eq(caseEvents.caseId, caseId),
            after ? sql`(${caseEvents.episode}, ${caseEvents.seq}) > (${after.episode}, ${after.seq})` : undefined,
          ),
        )
        .orderBy(asc(caseEvents.episode), asc(caseEvents.seq))
        .limit(limit + 1);
    },

    /** Records who tried what and why the case refused it; the case's history holds no trace. */
    async recordRefusal(caseId: string, message: string, meta: MessageMeta, refusal: Refusal): Promise<void> {
      await db
        .insert(messageRefusals)
        .values({
          caseId,
          requestId: meta.requestId,
          message,
          reason: refusal.reason,
          field: refusal.field ?? null,
          detail: refusal.detail,
          actorSub: meta.by.sub,
          actorRole: meta.by.role,
        })
        .onConflictDoNothing();
    },

    /** Proposed measures awaiting a decision, oldest first; within a branch when one is given. */
    async listApprovals(branch: string | undefined, limit: number): Promise<MeasureRow[]> {
      return db
        .select()
        .from(caseMeasures)
        .where(and(eq(caseMeasures.state, 'proposed'), branch === undefined ? undefined : eq(caseMeasures.branch, branch)))
        .orderBy(asc(caseMeasures.proposedAt), asc(caseMeasures.measureId))
        .limit(limit);
    },

    /** Open projection incidents, oldest first; within a branch when one is given. */
    async listIncidents(branch: string | undefined, limit: number): Promise<IncidentRow[]> {
      return db
        .select()
        .from(projectionIncidents)
        .where(and(isNull(projectionIncidents.resolvedAt), branch === undefined ? undefined : eq(projectionIncidents.branch, branch)))
        .orderBy(asc(projectionIncidents.occurredAt))
        .limit(limit);
    },

    /** Messages the case refused at once, oldest first. */
    async listRefusals(caseId: string, limit: number): Promise<RefusalRow[]> {
      return db
        .select()
        .from(messageRefusals)
        .where(eq(messageRefusals.caseId, caseId))
        .orderBy(asc(messageRefusals.refusedAt))
        .limit(limit);
    },
  };
}

export type CasesRepository = ReturnType<typeof createCasesRepository>;

declare module 'fastify' {
  interface FastifyInstance {
    casesRepository: CasesRepository;
  }
}

export default fp(
  async function casesRepository(fastify) {
    fastify.decorate('casesRepository', createCasesRepository(fastify.db));
  },
  { name: 'cases-repository', dependencies: ['resources'] },
);
