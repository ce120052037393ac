import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Type, type Static } from 'typebox';
import type { Role } from '../../../../domain';
import { LimitQuerySchema, RefusalListSchema, type RefusalView } from '../../../schemas/audit';
import { assertCaseAccess, branchScope } from '../../../auth/access';
import { badRequest, forbidden, notFound } from '../../../errors';
import { checkCaseFilters } from '../../../rules';
import { openCaseForLoan } from '../../../open-case';
import { decodeCursor, encodeCursor, page } from '../../../pagination';
import { callerOf } from '../../../plugins/app/authorization';
import { toCaseDetail, toCaseEventView, type CaseRow } from '../../../plugins/app/cases-repository';
import { requestIdOf } from '../../../request-id';
import {
  CasePageSchema,
  CaseDetailSchema,
  EventPageSchema,
  ListCasesQuerySchema,
  OpenCaseResultSchema,
  OpenCaseSchema,
  PageQuerySchema,
} from '../../../schemas/cases';
import { BEARER_SECURITY, CaseParamsSchema, described, IdempotencyHeadersSchema } from '../../../schemas/common';
import { CaseHistorySchema, HistoryQuerySchema, RawHistorySchema } from '../../../schemas/history';
import { CASE_ERROR_RESPONSES, ERROR_RESPONSES, ProblemSchema } from '../../../schemas/problem';
import { decodeRun, fetchCaseRuns, rawHistoryJson } from '../../../temporal/history';

const DEFAULT_LIMIT = 50;

const INTAKE_DESCRIPTION = `Opens the collection case of an overdue loan, in one atomic call to Temporal (update-with-start): the loan's case workflow (id \`case-{loanId}\`) starts unless it already runs, and answers once the case's first projection is in the ledger, so a GET right after finds it.

- **201** — this request opened the case.
- **200** — the case was already open: the same request again (or another intake of the same loan) answers the existing case and never starts a second workflow.
- **Reopening**: a loan whose case closed (stage \`recovered\`) and that goes overdue again — a later \`overdueSince\` than the closed episode's — starts a **new episode** under the same case id. The ledger row then shows the new episode (\`episode\`); the events of every episode stay in the business trail (\`/events\`). The same intake again (a retry, or the same row in the next day's overdue list) answers **200** with the closed case.

The latest version of \`policy\` (default \`standard\`) is the ladder the case runs with. Roles: system, admin, and supervisors for their own branch. An \`Idempotency-Key\` header is used as the request id. Amounts are integers in minor units; \`overdue\` ≤ \`outstanding\` ≤ \`principal\`; \`overdueSince\` is a real date, not in the future; a secured loan lists its collateral.`;

/** Reads a case and checks the caller may use it: 404 when unknown or outside the caller's branch
 * (alike), 403 for a role or officer that may not. */
async function caseFor(
  fastify: Parameters<FastifyPluginAsyncTypebox>[0],
  caseId: string,
  check: (row: CaseRow) => void,
): Promise<CaseRow> {
  const row = await fastify.casesRepository.findCase(caseId);
  if (!row) throw notFound(`No case ${caseId}`);
  check(row);
  return row;
}

const cases: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '',
    {
      preValidation: fastify.requireRole('open'),
      schema: {
        summary: 'Open a case for an overdue loan (idempotent)',
        description: INTAKE_DESCRIPTION,
        tags: ['cases'],
        security: BEARER_SECURITY,
        headers: IdempotencyHeadersSchema,
        body: OpenCaseSchema,
        response: {
          200: described(OpenCaseResultSchema, 'The case was already open: the existing case (no second workflow)'),
          201: described(OpenCaseResultSchema, 'This request opened the case (or a new episode of it)'),
          ...ERROR_RESPONSES,
          409: described(ProblemSchema, 'The case workflow refused to open the case'),
          504: described(ProblemSchema, 'The case workflow did not answer in time; retry with the same Idempotency-Key'),
        },
      },
    },
    async (request, reply) => {
      const deps = { db: fastify.db, temporal: fastify.temporal, taskQueue: fastify.config.TEMPORAL_TASK_QUEUE, householdKey: fastify.config.HOUSEHOLD_KEY };
      const { caseId, created, case: kase } = await openCaseForLoan(deps, callerOf(request), request.body, requestIdOf(request));
      reply.header('location', `/v1/cases/${encodeURIComponent(caseId)}`);
      return reply.code(created ? 201 : 200).send({ created, case: kase });
    },
  );

  fastify.get(
    '',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'List cases (the ledger)',
        description:
          'Cases in case id order, filtered; officers and supervisors see their own branch only. Pass `nextCursor` back as `cursor` for the next page.',
        tags: ['cases'],
        security: BEARER_SECURITY,
        querystring: ListCasesQuerySchema,
        response: { 200: described(CasePageSchema, 'A page of cases'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { cursor, limit = DEFAULT_LIMIT, ...filters } = request.query;
      const scope = branchScope(caller);
      if (scope !== null && filters.branch !== undefined && filters.branch !== scope) {
        throw forbidden(`A ${caller.role} of ${scope} sees only the cases of ${scope}`);
      }
      const filterErrors = checkCaseFilters(filters);
      if (filterErrors.length > 0) throw badRequest(filterErrors);
      const after = cursor
        ? decodeCursor(cursor, (v) => (typeof v.after === 'string' ? v.after : undefined))
        : null;
      const rows = await fastify.casesRepository.listCases({ ...filters, ...(scope ? { branch: scope } : {}) }, after, limit);
      const { items, more } = page(rows, limit);
      const last = items[items.length - 1];
      await fastify.recordCaseReads(request, items.map((r) => r.caseId), 'case_list');
      return {
        items: items.map(toCaseDetail),
        nextCursor: more && last ? encodeCursor({ after: last.caseId }) : null,
      };
    },
  );

  fastify.get(
    '/:caseId',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'Read a case from the ledger',
        description: 'The case view as last projected, with its episode and last business event.',
        tags: ['cases'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        response: { 200: described(CaseDetailSchema, 'The case'), ...CASE_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const row = await caseFor(fastify, request.params.caseId, (r) => assertCaseAccess(caller, 'read', r));
      await fastify.recordCaseReads(request, [row.caseId], 'case');
      return toCaseDetail(row);
    },
  );

  fastify.get(
    '/:caseId/events',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'The business trail of a case',
        description:
          'Every case event of every episode, oldest first (by episode, then sequence), append-only. Borrowers\' and guarantors\' ID numbers and phones are masked in payloads.',
        tags: ['audit'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: PageQuerySchema,
        response: { 200: described(EventPageSchema, 'A page of the business trail'), ...CASE_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { caseId } = request.params;
      const { cursor, limit = DEFAULT_LIMIT } = request.query;
      const after = cursor
        ? decodeCursor(cursor, (v) =>
            Number.isSafeInteger(v.episode) && Number.isSafeInteger(v.seq) ? { episode: v.episode as number, seq: v.seq as number } : undefined,
          )
        : null;
      await caseFor(fastify, caseId, (r) => assertCaseAccess(caller, 'read', r));
      const rows = await fastify.casesRepository.listEvents(caseId, after, limit);
      await fastify.recordCaseReads(request, [caseId], 'events');
      const { items, more } = page(rows, limit);
      const last = items[items.length - 1];
      return {
        items: items.map(toCaseEventView),
        nextCursor: more && last ? encodeCursor({ episode: last.episode, seq: last.seq }) : null,
      };
    },
  );

  fastify.get(
    '/:caseId/refusals',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'Messages the case refused',
        description:
          'Officers\' messages the case refused at once (an update validator: no trace in its Temporal history): who tried what, why, and what the case would have accepted. Oldest first. Messages queued with `?async=true` that the case refused are `message_rejected` events in `/events`.',
        tags: ['audit'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: LimitQuerySchema,
        response: { 200: described(RefusalListSchema, 'Refused messages, oldest first'), ...CASE_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { caseId } = request.params;
      await caseFor(fastify, caseId, (r) => assertCaseAccess(caller, 'read', r));
      const rows = await fastify.casesRepository.listRefusals(caseId, request.query.limit ?? DEFAULT_LIMIT);
      await fastify.recordCaseReads(request, [caseId], 'refusals');
      return {
        items: rows.map((r) => ({
          requestId: r.requestId,
          message: r.message,
          reason: r.reason as RefusalView['reason'],
          field: r.field,
          accepted: r.detail,
          actor: { sub: r.actorSub, role: r.actorRole as Role },
          refusedAt: r.refusedAt.toISOString(),
        })),
      };
    },
  );

  fastify.get(
    '/:caseId/history',
    {
      preValidation: fastify.requireRole('history'),
      schema: {
        summary: 'The Temporal history of a case (supervisors, admins)',
        description:
          'The engine\'s proof beside the business trail. `format=decoded` (default): every run of the case Temporal still holds, oldest first, each with its episode (a loan overdue again opens a new episode; continue-as-new links the runs of one), each event with its time, type and what it carried: signal and update names with their sender (`by`, from the payload, not the client identity) and request id, timers, activities with result or failure, links between runs. `format=raw`: one run (the latest, or `runId`) as the JSON history that `Worker.runReplayHistory` and the Temporal CLI accept. Borrowers\' and guarantors\' ID numbers and phones are masked in both.',
        tags: ['audit'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: HistoryQuerySchema,
        response: {
          200: Type.Union([CaseHistorySchema, RawHistorySchema], { description: 'The decoded runs, or one raw run' }),
          ...CASE_ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { caseId } = request.params;
      const { format = 'decoded', runId } = request.query;
      const row = await caseFor(fastify, caseId, (r) => assertCaseAccess(caller, 'history', r));
      let runs;
      try {
        runs = await fetchCaseRuns(fastify.temporal, caseId, row.episode);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notFound(`Temporal holds no history for ${caseId} (past its retention period?)`);
        throw err;
      }
      const chosen = runId === undefined ? runs : runs.filter((run) => run.runId === runId);
      if (chosen.length === 0) throw notFound(`Run ${runId} is not a run of ${caseId}`);
      await fastify.recordCaseReads(request, [caseId], 'history');
      if (format === 'raw') {
        const run = chosen[chosen.length - 1]!;
        // Already JSON (proto JSON as the CLI writes it): sent as is, not re-serialized.
        const json = rawHistoryJson(run.history) as unknown as Static<typeof RawHistorySchema>;
        return reply.type('application/json; charset=utf-8').send(json);
      }
      return { caseId, episode: row.episode, runs: chosen.map(decodeRun) };
    },
  );
};

export default cases;
