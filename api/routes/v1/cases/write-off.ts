import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decideWriteOffSignal, decideWriteOffUpdate, requestWriteOffSignal, requestWriteOffUpdate } from '../../../../domain';
import { toCaseDetail } from '../../../plugins/app/cases-repository';
import { CaseDetailSchema } from '../../../schemas/cases';
import { BEARER_SECURITY, CaseParamsSchema, described, IdempotencyHeadersSchema } from '../../../schemas/common';
import { MessageQuerySchema } from '../../../schemas/messages';
import { DecideWriteOffSchema, RequestWriteOffSchema } from '../../../schemas/write-off';
import { deliverMessage, MESSAGE_DESCRIPTION, MESSAGE_RESPONSES } from './messages';

/**
 * Write-off (呆账核销) and the accountability finding (责任认定): requested once litigation and
 * enforcement are exhausted (or on a supervisor's override), approved by a second supervisor.
 */
const writeOff: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/:caseId/write-off',
    {
      preValidation: fastify.requireRole('message'),
      schema: {
        summary: 'Request a write-off of the debt',
        description: `Allowed once litigation and enforcement are exhausted (a litigation measure failed), or with a supervisor's \`overrideReason\`. One request at a time; a second supervisor decides.${MESSAGE_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: MessageQuerySchema,
        headers: IdempotencyHeadersSchema,
        body: RequestWriteOffSchema,
        response: { 200: described(CaseDetailSchema, 'The case with its write-off request'), ...MESSAGE_RESPONSES },
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      const outcome = await deliverMessage(fastify, request, {
        caseId,
        permission: 'message',
        update: requestWriteOffUpdate,
        signal: requestWriteOffSignal,
        queue: request.query.async ?? false,
        message: (meta) => ({ ...request.body, ...meta }),
      });
      if (outcome.kind === 'queued') return reply.code(202).send({ caseId, requestId: outcome.requestId });
      return reply.code(200).send(toCaseDetail(outcome.row));
    },
  );

  fastify.post(
    '/:caseId/write-off/decision',
    {
      preValidation: fastify.requireRole('decide'),
      schema: {
        summary: 'Approve or reject the write-off (supervisors, admins; not the requester)',
        description: `Approval charges the loss off (the accounting step, booked once) and ends collection: the case closes as \`written_off\` and records the accountability finding (\`finding\`: conclusion, reasoning, risk flags; the officers and approvers involved are added by the case). Money recovered afterwards is still credited, as recovery of written-off debt.${MESSAGE_DESCRIPTION}`,
        tags: ['plan'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: MessageQuerySchema,
        headers: IdempotencyHeadersSchema,
        body: DecideWriteOffSchema,
        response: { 200: described(CaseDetailSchema, 'The case after the decision'), ...MESSAGE_RESPONSES },
      },
    },
    async (request, reply) => {
      const { caseId } = request.params;
      const outcome = await deliverMessage(fastify, request, {
        caseId,
        permission: 'decide',
        update: decideWriteOffUpdate,
        signal: decideWriteOffSignal,
        queue: request.query.async ?? false,
        message: (meta) => ({ ...request.body, ...meta }),
      });
      if (outcome.kind === 'queued') return reply.code(202).send({ caseId, requestId: outcome.requestId });
      return reply.code(200).send(toCaseDetail(outcome.row));
    },
  );
};

export default writeOff;
