import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { assertRole, branchScope } from '../../auth/access';
import { forbidden } from '../../errors';
import { callerOf } from '../../plugins/app/authorization';
import { IncidentListSchema, IncidentsQuerySchema } from '../../schemas/audit';
import { BEARER_SECURITY, described } from '../../schemas/common';
import { ERROR_RESPONSES } from '../../schemas/problem';

const DEFAULT_LIMIT = 50;

/** Batches the ledger refused for their data: the supervisor's list of what to repair. */
const incidents: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '',
    {
      preValidation: fastify.requireRole('history'),
      schema: {
        summary: 'Projection incidents to repair (supervisors, admins)',
        description:
          'Batches PostgreSQL refused for their data (`projection_failed`): the case went on and its ledger row was rewritten, but the events of the batch wait here. Oldest first; supervisors see their branch.',
        tags: ['audit'],
        security: BEARER_SECURITY,
        querystring: IncidentsQuerySchema,
        response: { 200: described(IncidentListSchema, 'Open incidents, oldest first'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      assertRole(caller, 'history');
      const { branch, limit = DEFAULT_LIMIT } = request.query;
      const scope = branchScope(caller);
      if (scope !== null && branch !== undefined && branch !== scope) throw forbidden(`A ${caller.role} of ${scope} sees only the incidents of ${scope}`);
      const rows = await fastify.casesRepository.listIncidents(scope ?? branch, limit);
      return {
        items: rows.map((r) => ({
          caseId: r.caseId,
          runId: r.runId,
          version: r.version,
          branch: r.branch,
          error: r.error,
          eventTypes: r.eventTypes,
          occurredAt: r.occurredAt.toISOString(),
        })),
      };
    },
  );
};

export default incidents;
