import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, asc, eq } from 'drizzle-orm';
import { cases } from '../../../db/schema';
import { CLOSED_STAGES, type CaseStage, type Hand } from '../../../domain';
import { assertRole, branchScope } from '../../auth/access';
import { notFound } from '../../errors';
import { callerOf } from '../../plugins/app/authorization';
import { caseColumns, toCaseDetail, type CaseRow } from '../../plugins/app/cases-repository';
import { BEARER_SECURITY, described } from '../../schemas/common';
import { HouseholdParamsSchema, HouseholdSchema, type HouseholdTotals } from '../../schemas/households';
import { ERROR_RESPONSES, ProblemSchema } from '../../schemas/problem';

const DESCRIPTION = `A household (一户) is one borrower, matched by ID number; its id is a keyed hash of the number (never the number itself), named by each case as \`householdId\`.

The household's cases in case id order, each as the ledger shows it (its current episode) with its measures, and per currency: the outstanding and arrears of the open cases, what every listed case recovered, how many are open, and the highest hand among them — the hand the borrower hears (one voice per borrower: at most one message per channel a day).

Officers and supervisors see the household's cases of their own branch only; a household with none there answers **404**, whether or not it has cases elsewhere.`;

/** Per currency: open cases' outstanding and arrears, every case's recoveries, the open count and highest hand. */
export function householdTotals(rows: CaseRow[]): HouseholdTotals[] {
  const byCurrency = new Map<string, HouseholdTotals>();
  for (const row of rows) {
    const totals = byCurrency.get(row.currency) ?? {
      currency: row.currency,
      cases: 0,
      openCases: 0,
      outstanding: 0,
      overdue: 0,
      recovered: 0,
      highestHand: null,
    };
    totals.cases++;
    totals.recovered += row.recovered;
    if (!CLOSED_STAGES.includes(row.stage as CaseStage)) {
      totals.openCases++;
      totals.outstanding += row.outstanding;
      totals.overdue += row.overdue;
      totals.highestHand = Math.max(totals.highestHand ?? 0, row.hand) as Hand;
    }
    byCurrency.set(row.currency, totals);
  }
  return [...byCurrency.values()].sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
}

/** `GET /v1/households/:householdId`: one borrower's cases and what they add up to. */
const households: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/:householdId',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: "A household's cases, their measures and totals",
        description: DESCRIPTION,
        tags: ['cases'],
        security: BEARER_SECURITY,
        params: HouseholdParamsSchema,
        response: {
          200: described(HouseholdSchema, 'The household as the caller may see it'),
          ...ERROR_RESPONSES,
          404: described(ProblemSchema, 'No case of this household within the caller\'s reach'),
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      assertRole(caller, 'read');
      const { householdId } = request.params;
      const scope = branchScope(caller);
      const rows: CaseRow[] = await fastify.db
        .select(caseColumns)
        .from(cases)
        .where(and(eq(cases.householdId, householdId), scope === null ? undefined : eq(cases.branch, scope)))
        .orderBy(asc(cases.caseId));
      // The same answer whether the household is unknown or only has cases in other branches.
      if (rows.length === 0) throw notFound(`No household ${householdId} within the caller's reach`);
      await fastify.recordCaseReads(request, rows.map((r) => r.caseId), 'household');
      return { householdId, cases: rows.map(toCaseDetail), totals: householdTotals(rows) };
    },
  );
};

export default households;
