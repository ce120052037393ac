import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import {
  CLOSED_STAGES,
  type CaseStage,
  decideMeasureSignal,
  decideMeasureUpdate,
  proposeMeasureSignal,
  proposeMeasureUpdate,
  reportMeasureSignal,
  reportMeasureUpdate,
  type MeasureView,
} from '../../../../domain';
import { assertCaseAccess, branchScope } from '../../../auth/access';
import type { Caller } from '../../../auth/tokens';
import { badRequest, caseConflict, notFound } from '../../../errors';
import { callerOf } from '../../../plugins/app/authorization';
import { BEARER_SECURITY, CaseParamsSchema, described, IdempotencyHeadersSchema } from '../../../schemas/common';
import {
  DecideMeasureSchema,
  MeasureParamsSchema,
  MeasureSchema,
  ProposeMeasureSchema,
  ReportMeasureSchema,
} from '../../../schemas/measures';
import { MessageQuerySchema } from '../../../schemas/messages';
import { deliverMessage, MESSAGE_DESCRIPTION, MESSAGE_RESPONSES, type Delivered } from './messages';
import { allocationOf, creditShares } from './shares';

/** A proposal's measure id follows from its request id: a retry with the same Idempotency-Key
 * names the same measure, and the case answers it without proposing twice. */
function measureIdFor(requestId: string): string {
  const hex = createHash('sha256').update(`measure:${requestId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Covered cases are other cases of this case's household, in the same currency, within the caller's reach. */
async function checkCovers(fastify: FastifyInstance, caller: Caller, caseId: string, covers: string[]): Promise<void> {
  const own = await fastify.casesRepository.findCase(caseId);
  if (!own) throw notFound(`No case ${caseId}`);
  // Before the covers: what they answer must not tell an outsider that the case exists.
  assertCaseAccess(caller, 'message', own);
  for (const [i, other] of covers.entries()) {
    const row = await fastify.casesRepository.findCase(other);
    const sameHousehold = row && own.householdId !== null && row.householdId === own.householdId && row.currency === own.currency;
    if (!sameHousehold || CLOSED_STAGES.includes(row.stage as CaseStage) || branchScope(caller) !== null && row.branch !== branchScope(caller)) {
      throw badRequest([{ field: `covers.${i}`, reason: `must be an open case of the same household and currency within your branch: ${other} is not` }]);
    }
  }
}

/** The measure a message concerned, from the case's answer. A case without it had already taken
 * the request id for another message (in an earlier run): the key names that one. */
function answeredMeasure(outcome: Delivered, measureId: string): MeasureView {
  const measure = outcome.kind === 'applied' ? outcome.result.case.measures.find((m) => m.measureId === measureId) : undefined;
  if (!measure) throw caseConflict('idempotency_key_reused', 'This Idempotency-Key was already used for another message of this case');
  return measure;
}

/**
 * The plan per household (一户一策): measures proposed, decided by a supervisor who is not the
 * proposer (four eyes), and carried out. Every step is a message to the case, answered at once.
 */
const measures: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/:caseId/measures',
    {
      preValidation: fastify.requireRole('message'),
      schema: {
        summary: 'Propose a measure for the case\'s plan',
        description: `A measure the case should take (a field visit, a guarantor claim, a collateral sale, restructuring, litigation, …), with its rationale and expected recovery; a supervisor of the branch decides on it. The policy says from which hand a type may be proposed and whether public notices are allowed at all. One open measure of each type.${MESSAGE_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: MessageQuerySchema,
        headers: IdempotencyHeadersSchema,
        body: ProposeMeasureSchema,
        response: { 201: described(MeasureSchema, 'The proposed measure, awaiting a decision'), ...MESSAGE_RESPONSES },
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      if (request.body.covers) await checkCovers(fastify, callerOf(request), caseId, request.body.covers);
      let measureId = '';
      const outcome = await deliverMessage(fastify, request, {
        caseId,
        permission: 'message',
        update: proposeMeasureUpdate,
        signal: proposeMeasureSignal,
        queue: request.query.async ?? false,
        message: (meta) => {
          measureId = measureIdFor(meta.requestId);
          return { ...request.body, ...meta, measureId };
        },
      });
      if (outcome.kind === 'queued') return reply.code(202).send({ caseId, requestId: outcome.requestId });
      const measure = answeredMeasure(outcome, measureId);
      reply.header('location', `/v1/cases/${encodeURIComponent(caseId)}/measures/${measureId}`);
      return reply.code(201).send(measure);
    },
  );

  fastify.post(
    '/:caseId/measures/:measureId/decision',
    {
      preValidation: fastify.requireRole('decide'),
      schema: {
        summary: 'Approve or reject a proposed measure (supervisors, admins)',
        description: `Four eyes: the decision never comes from the measure's proposer. A measure is decided once; no decision while the case is paused or closed.${MESSAGE_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: MeasureParamsSchema,
        querystring: MessageQuerySchema,
        headers: IdempotencyHeadersSchema,
        body: DecideMeasureSchema,
        response: { 200: described(MeasureSchema, 'The measure after the decision'), ...MESSAGE_RESPONSES },
      },
    },
    async (request, reply) => {
      const { caseId, measureId } = request.params;
      const outcome = await deliverMessage(fastify, request, {
        caseId,
        permission: 'decide',
        update: decideMeasureUpdate,
        signal: decideMeasureSignal,
        queue: request.query.async ?? false,
        message: (meta) => ({ ...request.body, ...meta, measureId }),
      });
      if (outcome.kind === 'queued') return reply.code(202).send({ caseId, requestId: outcome.requestId });
      return reply.code(200).send(answeredMeasure(outcome, measureId));
    },
  );

  fastify.post(
    '/:caseId/measures/:measureId/progress',
    {
      preValidation: fastify.requireRole('message'),
      schema: {
        summary: 'Report on an approved measure: started, under way, succeeded, failed or cancelled',
        description: `While a restructuring, an extension or litigation is in progress the ladder waits; when it ends, the ladder goes on from the hand the case left.${MESSAGE_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: MeasureParamsSchema,
        querystring: MessageQuerySchema,
        headers: IdempotencyHeadersSchema,
        body: ReportMeasureSchema,
        response: { 200: described(MeasureSchema, 'The measure after the report'), ...MESSAGE_RESPONSES },
      },
    },
    async (request, reply) => {
      const { caseId, measureId } = request.params;
      const { proceeds, ...report } = request.body;
      // Proceeds are shared among the covered cases by the measure's rule, from their arrears now.
      const allocated = proceeds ? await allocationOf(fastify, caseId, measureId, proceeds.gross - proceeds.costs) : [];
      const outcome = await deliverMessage(fastify, request, {
        caseId,
        permission: 'message',
        update: reportMeasureUpdate,
        signal: reportMeasureSignal,
        queue: request.query.async ?? false,
        message: (meta) => ({ ...report, ...meta, measureId, ...(proceeds ? { proceeds: { ...proceeds, allocated } } : {}) }),
      });
      if (outcome.kind === 'queued') return reply.code(202).send({ caseId, requestId: outcome.requestId });
      const measure = answeredMeasure(outcome, measureId);
      // The other covered cases are credited their shares, each once (its reference and request id
      // follow from this request's).
      await creditShares(fastify, request, outcome.requestId, allocated.filter((a) => a.caseId !== caseId), proceeds?.reference ?? '', measureId);
      return reply.code(200).send(measure);
    },
  );
};

export default measures;
