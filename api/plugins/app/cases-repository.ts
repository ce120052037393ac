import { and, asc, eq, gt, gte, lte, sql, type SQL } from 'drizzle-orm';
import fp from 'fastify-plugin';
import type { Database } from '../../../db/client';
import { caseEvents, cases } from '../../../db/schema';
import type { Hand, Role } from '../../../domain';
import { maskPersonalData } from '../../masking';
import type { CaseDetail, CaseEventView } from '../../schemas/cases';

export type CaseRow = typeof cases.$inferSelect;
export type CaseEventRow = typeof caseEvents.$inferSelect;

export interface CaseFilters {
  stage?: string;
  hand?: number;
  branch?: string;
  officerId?: string;
  minDaysPastDue?: number;
  maxDaysPastDue?: number;
}

export interface EventPosition {
  episode: number;
  seq: number;
}

/** A ledger row as the API shows it: the case view, its episode and its last event. */
export function toCaseDetail(row: CaseRow): CaseDetail {
  return {
    caseId: row.caseId,
    loanId: row.loanId,
    stage: row.stage as CaseDetail['stage'],
    hand: row.hand as Hand,
    daysPastDue: row.daysPastDue,
    pausedDays: row.pausedDays,
    overdueSince: row.overdueSince,
    currency: row.currency,
    principal: row.principal,
    overdue: row.overdue,
    outstanding: row.outstanding,
    recovered: row.recovered,
    branch: row.branch,
    product: row.product,
    secured: row.secured,
    officerId: row.officerId,
    policy: { name: row.policyName, version: row.policyVersion },
    openPromise: row.openPromise ?? null,
    pause: row.pause ?? null,
    nextAction: row.nextAction ?? null,
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

/** Reads of the ledger (`cases`) and the business trail (`case_events`). */
export function createCasesRepository(db: Database) {
  return {
    async findCase(caseId: string): Promise<CaseRow | undefined> {
      const [row] = await db.select().from(cases).where(eq(cases.caseId, caseId));
      return row;
    },

    /** A page of cases in case id order after `afterCaseId`; `limit + 1` rows tell if more follow. */
    async listCases(filters: CaseFilters, afterCaseId: string | null, limit: number): Promise<CaseRow[]> {
      const where: (SQL | undefined)[] = [
        filters.stage !== undefined ? eq(cases.stage, filters.stage) : undefined,
        filters.hand !== undefined ? eq(cases.hand, filters.hand) : undefined,
        filters.branch !== undefined ? eq(cases.branch, filters.branch) : undefined,
        filters.officerId !== undefined ? eq(cases.officerId, filters.officerId) : undefined,
        filters.minDaysPastDue !== undefined ? gte(cases.daysPastDue, filters.minDaysPastDue) : undefined,
        filters.maxDaysPastDue !== undefined ? lte(cases.daysPastDue, filters.maxDaysPastDue) : undefined,
        afterCaseId !== null ? gt(cases.caseId, afterCaseId) : undefined,
      ];
      return db
        .select()
        .from(cases)
        .where(and(...where))
        .orderBy(asc(cases.caseId))
        .limit(limit + 1);
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

    /** The events a message produced (or its rejection), found by its request id. */
    async eventsForRequest(caseId: string, requestId: string): Promise<CaseEventRow[]> {
      return db
        .select()
        .from(caseEvents)
        .where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.requestId, requestId)))
        .orderBy(asc(caseEvents.episode), asc(caseEvents.seq));
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
