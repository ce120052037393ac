import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { branchScope } from '../../auth/access';
import { forbidden } from '../../errors';
import { callerOf } from '../../plugins/app/authorization';
import { BEARER_SECURITY, BranchSchema, described, LimitSchema } from '../../schemas/common';
import { ApprovalListSchema } from '../../schemas/measures';
import { ERROR_RESPONSES } from '../../schemas/problem';

const DEFAULT_LIMIT = 50;

const ApprovalsQuerySchema = Type.Object(
  { branch: Type.Optional(BranchSchema), limit: Type.Optional(LimitSchema) },
  { additionalProperties: false },
);

/** The supervisor's queue: measures awaiting a decision, oldest first, within their branch. */
const approvals: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '',
    {
      preValidation: fastify.requireRole('decide'),
      schema: {
        summary: 'Measures awaiting a decision (supervisors, admins)',
        description:
          'Proposed measures of the plan, oldest first; supervisors see their branch. Decide with `POST /v1/cases/{caseId}/measures/{measureId}/decision` (never on a measure you proposed).',
        tags: ['plan'],
        security: BEARER_SECURITY,
        querystring: ApprovalsQuerySchema,
        response: { 200: described(ApprovalListSchema, 'The queue, oldest first'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { branch, limit = DEFAULT_LIMIT } = request.query;
      const scope = branchScope(caller);
      if (scope !== null && branch !== undefined && branch !== scope) throw forbidden(`A ${caller.role} of ${scope} decides only within ${scope}`);
      const rows = await fastify.casesRepository.listApprovals(scope ?? branch, limit);
      return {
        items: rows.map((r) => ({
          caseId: r.caseId,
          branch: r.branch,
          measure: {
            measureId: r.measureId,
            type: r.type as never,
            state: r.state as never,
            rationale: r.rationale,
            expectedRecovery: r.expectedRecovery,
            proposedBy: r.proposedBy,
            proposedAt: r.proposedAt.toISOString(),
            rule: r.rule,
            decision: r.decision,
            startedAt: r.startedAt?.toISOString() ?? null,
            endedAt: r.endedAt?.toISOString() ?? null,
            lastNote: r.lastNote,
            parties: r.parties,
            ...(r.schedule ? { schedule: r.schedule } : {}),
          },
        })),
      };
    },
  );
};

export default approvals;
