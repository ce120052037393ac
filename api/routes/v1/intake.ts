import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { callerOf } from '../../plugins/app/authorization';
import { badRequest, notFound } from '../../errors';
import { csvRows } from '../../intake/csv';
import { findRun, listRuns } from '../../intake/runs';
import { takeIntake, type TakeIntake } from '../../intake/take';
import { decodeCursor, encodeCursor, page } from '../../pagination';
import { BEARER_SECURITY, CursorSchema, described, IdempotencyHeadersSchema, LimitSchema, Text } from '../../schemas/common';
import { IntakeJsonBodySchema, IntakeReportSchema, IntakeRunListSchema, IntakeRunParamsSchema, MAX_INTAKE_ROWS } from '../../schemas/intake';
import { ERROR_RESPONSES, ProblemSchema } from '../../schemas/problem';

/** Room for the longest list (about 400 bytes a row). */
const INTAKE_BODY_LIMIT = 16 * 1024 * 1024;

const DESCRIPTION = `Takes in the daily overdue list of the repayment-fund check (还款资金落实), as JSON (\`{ "rows": [...] }\`) or as CSV (\`Content-Type: text/csv\`, a header line naming the columns: ${'`loanId`, `borrowerName`, `borrowerIdNumber`, `borrowerPhone`, `branch`, `product`, `secured`, `currency`, `principal`, `outstanding`, `overdueAmount`, `overdueSince`'}, and optionally \`arrearsFees\`, \`arrearsPenaltyInterest\`, \`arrearsInterest\`, \`arrearsPrincipal\`, one collateral (\`collateralKind\`, \`collateralDescription\`, \`collateralValue\`), one guarantor (\`guarantorName\`, \`guarantorIdNumber\`, \`guarantorPhone\`, \`guarantorAmount\`), \`officerId\`, \`policy\`).

Each row: a loan new to collection (or whose case closed, overdue again since a later date) **created** its case; an open case took the row's arrears and overdue date (**updated**, recorded in its business trail as \`arrears_reported\`); a repeat of what the case holds is **unchanged**; a bad row is **rejected**, each error naming the CSV column (or JSON field) and the reason. A row is one atomic call to the case's workflow, made once the row passed every check: it applies whole or not at all, and never stops the other rows. A new loan's row answers **created** once Temporal has durably accepted its case, before the case has run: the ledger (\`GET /v1/cases/{caseId}\`) shows it moments later. Amounts are minor units; \`overdueAmount\` is the total overdue, the \`arrears\` components (where given) sum to it. One row per loan.

The run and its report are kept, a chunk of rows at a time as they are answered: \`GET /v1/intake/runs/{runId}\`. An \`Idempotency-Key\` names the run: the same key again answers the kept report.`;

const intake: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: INTAKE_BODY_LIMIT }, (_request, body, done) => done(null, body));

  fastify.post(
    '/overdue',
    {
      preValidation: fastify.requireRole('open'),
      bodyLimit: INTAKE_BODY_LIMIT,
      schema: {
        summary: 'Take in the daily overdue list (JSON or CSV)',
        description: DESCRIPTION,
        tags: ['intake'],
        security: BEARER_SECURITY,
        headers: IdempotencyHeadersSchema,
        // One schema per media type (typed here as the JSON one): the handler tells them apart.
        body: {
          content: {
            'application/json': { schema: IntakeJsonBodySchema },
            'text/csv': { schema: Text({ minLength: 1, maxLength: INTAKE_BODY_LIMIT, description: 'The list as CSV, a header line first' }) },
          },
        } as unknown as typeof IntakeJsonBodySchema,
        response: { 200: described(IntakeReportSchema, 'The run: a result for every row'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const runId = request.headers['idempotency-key'] ?? randomUUID();
      const kept = await findRun(fastify.db, runId);
      if (kept?.finishedAt) return reply.header('location', `/v1/intake/runs/${encodeURIComponent(runId)}`).send(kept);
      const body: unknown = request.body;
      let list: Pick<TakeIntake, 'rows' | 'lineErrors' | 'column'>;
      if (typeof body === 'string') {
        const parsed = csvRows(body);
        if (Array.isArray(parsed)) throw badRequest(parsed, `The CSV is not an overdue list: ${parsed.map((e) => `${e.field}: ${e.reason}`).join('; ')}`);
        if (parsed.rows.length === 0) throw badRequest([{ field: 'body', reason: 'the CSV has no data lines' }]);
        if (parsed.rows.length > MAX_INTAKE_ROWS) throw badRequest([{ field: 'body', reason: `holds ${parsed.rows.length} rows; at most ${MAX_INTAKE_ROWS}` }]);
        list = parsed;
      } else if (typeof body === 'object' && body !== null && Array.isArray((body as { rows?: unknown }).rows)) {
        list = { rows: (body as { rows: unknown[] }).rows };
      } else {
        throw badRequest([{ field: 'body', reason: 'is required: { "rows": [...] } as JSON, or the list as text/csv' }]);
      }
      const deps = {
        db: fastify.db,
        temporal: fastify.temporal,
        taskQueue: fastify.config.TEMPORAL_TASK_QUEUE,
        householdKey: fastify.config.HOUSEHOLD_KEY,
        concurrency: fastify.config.INTAKE_CONCURRENCY,
      };
      const report = await takeIntake(deps, { runId, source: 'api', file: null, caller, ...list });
      return reply.header('location', `/v1/intake/runs/${encodeURIComponent(runId)}`).send(report);
    },
  );

  fastify.get(
    '/runs',
    {
      preValidation: fastify.requireRole('open'),
      schema: {
        summary: 'Intake runs, newest first',
        description: 'Every run of the intake (the endpoint\'s and the daily schedule\'s) with its counts. Pass `nextCursor` back as `cursor` for the next page.',
        tags: ['intake'],
        security: BEARER_SECURITY,
        querystring: Type.Object({ cursor: Type.Optional(CursorSchema), limit: Type.Optional(LimitSchema) }, { additionalProperties: false }),
        response: { 200: described(IntakeRunListSchema, 'A page of runs'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { cursor, limit = 50 } = request.query;
      const before = cursor
        ? decodeCursor(cursor, (v) =>
            typeof v.startedAt === 'string' && typeof v.runId === 'string' && !Number.isNaN(Date.parse(v.startedAt)) ? { startedAt: v.startedAt, runId: v.runId } : undefined,
          )
        : null;
      const { items, more } = page(await listRuns(fastify.db, before, limit), limit);
      const last = items[items.length - 1];
      return { items, nextCursor: more && last ? encodeCursor({ startedAt: last.startedAt, runId: last.runId }) : null };
    },
  );

  fastify.get(
    '/runs/:runId',
    {
      preValidation: fastify.requireRole('open'),
      schema: {
        summary: 'One intake run and its report',
        description: 'The run\'s counts and the result of every row, in the list\'s order.',
        tags: ['intake'],
        security: BEARER_SECURITY,
        params: IntakeRunParamsSchema,
        response: { 200: described(IntakeReportSchema, 'The run and its rows'), ...ERROR_RESPONSES, 404: described(ProblemSchema, 'No such run') },
      },
    },
    async (request) => {
      const report = await findRun(fastify.db, request.params.runId);
      if (!report) throw notFound(`No intake run ${request.params.runId}`);
      return report;
    },
  );
};

export default intake;
