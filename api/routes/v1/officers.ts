import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { listOfficers, upsertOfficer, type OfficerWithLoad } from '../../assignment';
import { branchScope } from '../../auth/access';
import { forbidden } from '../../errors';
import { callerOf } from '../../plugins/app/authorization';
import { BEARER_SECURITY, described } from '../../schemas/common';
import { OfficerInputSchema, OfficerListSchema, OfficerSchema, OfficersQuerySchema, type OfficerView } from '../../schemas/officers';
import { ERROR_RESPONSES } from '../../schemas/problem';

/** A preValidation hook: only the named roles pass (403 before the body is looked at). */
export function onlyRoles(...roles: string[]) {
  return async (request: FastifyRequest) => {
    const caller = callerOf(request);
    if (!roles.includes(caller.role)) throw forbidden(`The ${caller.role} role may not do this; allowed: ${roles.join(', ')}`);
  };
}

function toView(row: OfficerWithLoad): OfficerView {
  return {
    id: row.id,
    branch: row.branch,
    active: row.active,
    capacity: row.capacity,
    load: row.load,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The officers registry: who takes new cases of a branch and who may receive reassignments. */
const officers: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '',
    {
      preValidation: onlyRoles('supervisor', 'admin'),
      schema: {
        summary: 'Registered officers (supervisors, admins)',
        description: 'Officers of the registry in id order, each with their load (open cases assigned in the ledger); supervisors see their branch, admins all (or `branch`).',
        tags: ['officers'],
        security: BEARER_SECURITY,
        querystring: OfficersQuerySchema,
        response: { 200: described(OfficerListSchema, 'The officers'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const scope = branchScope(caller);
      const { branch } = request.query;
      if (scope !== null && branch !== undefined && branch !== scope) throw forbidden(`A ${caller.role} of ${scope} sees only the officers of ${scope}`);
      const rows = await listOfficers(fastify.db, scope ?? branch ?? null);
      return { items: rows.map(toView) };
    },
  );

  fastify.post(
    '',
    {
      preValidation: onlyRoles('admin'),
      schema: {
        summary: 'Register or update an officer (admins)',
        description:
          'Creates the officer (201) or updates their branch, active flag and capacity (200). New cases of a branch that name no officer go to its least-loaded active officer below capacity; an inactive officer receives no new case and no reassignment, and keeps the cases they hold until reassigned (`POST /v1/assignments` with `fromOfficerId`).',
        tags: ['officers'],
        security: BEARER_SECURITY,
        body: OfficerInputSchema,
        response: {
          200: described(OfficerSchema, 'The officer, updated'),
          201: described(OfficerSchema, 'The officer, registered'),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const { officer, created } = await upsertOfficer(fastify.db, request.body);
      const [withLoad] = await listOfficers(fastify.db, officer.branch, officer.id);
      return reply.code(created ? 201 : 200).send(toView(withLoad ?? { ...officer, load: 0 }));
    },
  );
};

export default officers;
