import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { UpdateDefinition } from '@temporalio/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  recordLegalCostUpdate,
  reportLitigationStepUpdate,
  settleLitigationUpdate,
  type LitigationView,
  type MessageMeta,
} from '../../../../domain';
import { assertCaseAccess, type Permission } from '../../../auth/access';
import { badRequest, notFound, serviceUnavailable, type FieldError } from '../../../errors';
import { callerOf } from '../../../plugins/app/authorization';
import type { CaseRow } from '../../../plugins/app/cases-repository';
import { refusalProblem } from '../../../refusals';
import { requestIdOf } from '../../../request-id';
import { checkCalendarDate } from '../../../rules';
import { BEARER_SECURITY, described, IdempotencyHeadersSchema } from '../../../schemas/common';
import {
  LITIGATION_ERROR_RESPONSES,
  LITIGATION_MESSAGE_RESPONSES,
  LitigationParamsSchema,
  LitigationViewSchema,
  RecordLegalCostSchema,
  ReportLitigationStepSchema,
  SettleLitigationSchema,
  type ReportLitigationStepBody,
} from '../../../schemas/litigation';
import { readLitigation, sendLitigationUpdate } from '../../../temporal/litigation';

const REPORT_DESCRIPTION = `

The suit answers at once: **200** with the suit once it has taken the report; **409** when the suit's state forbids it (a step out of order, a settlement before filing, a suit that has ended), **422** when it cannot accept what the report says (a date before the previous step's, an amount): both name the \`reason\` and what the suit would accept (\`accepted\`), cost the suit nothing and are kept with the case's refusals (\`/refusals\`). **404** when no suit runs for the measure. **503** with \`Retry-After\` when no worker answers within a few seconds: the suit may still take the report when a worker returns; retry with the same \`Idempotency-Key\` for its answer (never applied twice, even after the suit has ended).`;

/** Reads the case from the ledger and checks the caller's reach and that the measure is a suit
 * of its plan: 404 for an unknown case or measure and for a case outside the caller's branch,
 * 403 for a role or officer that may not. */
async function suitCase(fastify: FastifyInstance, request: FastifyRequest, permission: Permission, caseId: string, measureId: string): Promise<CaseRow> {
  const caller = callerOf(request);
  const row = await fastify.casesRepository.findCase(caseId);
  if (!row) throw notFound(`No case ${caseId}`);
  assertCaseAccess(caller, permission, row);
  if (!(row.measures ?? []).some((m) => m.measureId === measureId && m.type === 'litigation')) {
    throw notFound(`The plan of ${caseId} has no litigation measure ${measureId}`);
  }
  return row;
}

/** True when the suit's view holds what this request did: a retry that reaches a suit which
 * has since ended is answered with it. */
function appliedIn(view: LitigationView, requestId: string): boolean {
  return (
    view.steps.some((s) => s.requestId === requestId) ||
    (view.costs ?? []).some((c) => c.requestId === requestId) ||
    view.settlement?.requestId === requestId
  );
}

/**
 * Brings a report to the case's suit as an update answered at once. A refusal is recorded with
 * the case's refusals and thrown as its problem; no suit is a 404; no worker in time is a 503.
 */
async function deliverReport<M extends MessageMeta>(
  fastify: FastifyInstance,
  request: FastifyRequest,
  options: { caseId: string; measureId: string; update: UpdateDefinition<LitigationView, [M]>; message(meta: MessageMeta): M },
): Promise<LitigationView> {
  const { caseId, measureId } = options;
  const caller = callerOf(request);
  await suitCase(fastify, request, 'message', caseId, measureId);
  const message = options.message({ requestId: requestIdOf(request), by: { sub: caller.sub, role: caller.role }, sentAt: new Date().toISOString() });
  const outcome = await sendLitigationUpdate(fastify.temporal, caseId, measureId, options.update, message);
  switch (outcome.kind) {
    case 'applied':
      return outcome.view;
    case 'refused':
      await fastify.casesRepository
        .recordRefusal(caseId, options.update.name, message, outcome.refusal)
        .catch((err: unknown) => request.log.warn({ err }, 'could not record a refused report'));
      throw refusalProblem(outcome.refusal);
    case 'ended': {
      if (outcome.view && appliedIn(outcome.view, message.requestId)) return outcome.view;
      const { outcome: ended, legalCosts } = outcome.result;
      throw refusalProblem({ reason: 'litigation_ended', detail: { outcome: ended, legalCosts } });
    }
    case 'not_found':
      throw notFound(`No suit runs for measure ${measureId} of ${caseId}`);
    case 'timeout':
      throw serviceUnavailable(
        `No worker answered for the suit of measure ${measureId} in time; it may still take the report when one returns. Retry with Idempotency-Key: ${message.requestId} for its answer (it is never applied twice)`,
      );
  }
}

/** What a step report says that needs no suit to judge: a real date, and `closing` with
 * `closed` only. */
function checkStep(body: ReportLitigationStepBody): FieldError[] {
  const errors = checkCalendarDate('date', body.date);
  if (body.step === 'closed' && body.closing === undefined) {
    errors.push({ field: 'closing', reason: 'is required with the closed step: recovered or exhausted' });
  }
  if (body.step !== 'closed' && body.closing !== undefined) {
    errors.push({ field: 'closing', reason: 'is given only with the closed step' });
  }
  return errors;
}

/**
 * Litigation (司法起诉): a case's suit, a child workflow of the case started when its litigation
 * measure goes in progress. Officers and lawyers report its steps, legal costs and a
 * settlement; each report is an update to the suit, answered at once.
 */
const litigation: FastifyPluginAsyncTypebox = async (fastify) => {
  const path = '/:caseId/measures/:measureId/litigation';

  fastify.get(
    path,
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'The suit of a litigation measure',
        description:
          'Its steps so far (each with its date, documents and who reported it), the step expected next and when it is due, the overdue tasks late steps raised, legal costs, a settlement, and how it ended. A suit that has ended still answers. **503** with `Retry-After` when no worker answers within a few seconds.',
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: LitigationParamsSchema,
        response: { 200: described(LitigationViewSchema, 'The suit'), ...LITIGATION_ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { caseId, measureId } = request.params;
      await suitCase(fastify, request, 'read', caseId, measureId);
      const outcome = await readLitigation(fastify.temporal, caseId, measureId);
      switch (outcome.kind) {
        case 'view':
          await fastify.recordCaseReads(request, [caseId], 'litigation');
          return outcome.view;
        case 'not_found':
          throw notFound(`No suit runs for measure ${measureId} of ${caseId}`);
        case 'timeout':
          throw serviceUnavailable(`No worker answered for the suit of measure ${measureId} in time`);
      }
    },
  );

  fastify.post(
    `${path}/steps`,
    {
      preValidation: fastify.requireRole('message'),
      schema: {
        summary: 'Report a step of the suit',
        description: `Steps come in order, one at a time: assess → file_prepared → lawyer_assigned → filed → hearing → judgment → enforcement → closed, each dated no earlier than the one before, with its document references. A step reported after its deadline is still taken (the overdue task it raised stays with the officer). \`closed\` ends the suit, saying how (\`closing\`: recovered or exhausted), and the case hears of it.${REPORT_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: LitigationParamsSchema,
        headers: IdempotencyHeadersSchema,
        body: ReportLitigationStepSchema,
        response: { 200: described(LitigationViewSchema, 'The suit with the step'), ...LITIGATION_MESSAGE_RESPONSES },
      },
    },
    async (request) => {
      const { caseId, measureId } = request.params;
      const body = request.body;
      const errors = checkStep(body);
      if (errors.length > 0) throw badRequest(errors);
      return deliverReport(fastify, request, { caseId, measureId, update: reportLitigationStepUpdate, message: (meta) => ({ ...body, ...meta }) });
    },
  );

  fastify.post(
    `${path}/costs`,
    {
      preValidation: fastify.requireRole('message'),
      schema: {
        summary: 'Record a legal cost of the suit',
        description: `Court fees, the lawyer, enforcement…: kept by the suit (\`legalCosts\`, \`costs\`) and told to the case, which recovers them first where its policy's allocation says so.${REPORT_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: LitigationParamsSchema,
        headers: IdempotencyHeadersSchema,
        body: RecordLegalCostSchema,
        response: { 200: described(LitigationViewSchema, 'The suit with the cost'), ...LITIGATION_MESSAGE_RESPONSES },
      },
    },
    async (request) => {
      const { caseId, measureId } = request.params;
      const body = request.body;
      return deliverReport(fastify, request, { caseId, measureId, update: recordLegalCostUpdate, message: (meta) => ({ ...body, ...meta }) });
    },
  );

  fastify.post(
    `${path}/settlement`,
    {
      preValidation: fastify.requireRole('message'),
      schema: {
        summary: 'Record a settlement agreement, which ends the suit',
        description: `Only once the suit is filed: negotiating after filing recovers far more. The suit ends as \`settled\` and the case hears of it; the money itself arrives as the case's payments.${REPORT_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: LitigationParamsSchema,
        headers: IdempotencyHeadersSchema,
        body: SettleLitigationSchema,
        response: { 200: described(LitigationViewSchema, 'The settled suit'), ...LITIGATION_MESSAGE_RESPONSES },
      },
    },
    async (request) => {
      const { caseId, measureId } = request.params;
      const body = request.body;
      return deliverReport(fastify, request, { caseId, measureId, update: settleLitigationUpdate, message: (meta) => ({ ...body, ...meta }) });
    },
  );
};

export default litigation;
