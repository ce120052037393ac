import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { addPolicyVersion, listPolicyVersions, storedPolicyVersion, type StoredPolicy } from '../../../db/policies';
import { policyProblems } from '../../../domain';
import { badRequest, notFound, type FieldError } from '../../errors';
import { jsonChanges } from '../../policies/diff';
import { BEARER_SECURITY, described } from '../../schemas/common';
import {
  PolicyDiffQuerySchema,
  PolicyDiffSchema,
  PolicyListSchema,
  PolicyParamsSchema,
  PolicySchema,
  PolicyVersionInputSchema,
  PolicyVersionParamsSchema,
  type PolicyView,
} from '../../schemas/policies';
import { ERROR_RESPONSES, ProblemSchema } from '../../schemas/problem';

const NO_SUCH_VERSION = described(ProblemSchema, 'No such policy, or no such version of it');
import { onlyRoles } from './officers';

function toView({ createdAt, ...policy }: StoredPolicy): PolicyView {
  return { ...policy, createdAt: createdAt.toISOString() } as PolicyView;
}

/** What a version says, without its identity: the part two versions are compared on. */
function content({ name: _name, version: _version, createdAt: _createdAt, ...rest }: StoredPolicy): Record<string, unknown> {
  return rest;
}

/** `hands[2].entersAtDay must be later…` → field `hands[2].entersAtDay`, the rest its reason. */
function asFieldError(problem: string): FieldError {
  const space = problem.indexOf(' ');
  return { field: problem.slice(0, space), reason: problem.slice(space + 1) };
}

const VERSIONS_DESCRIPTION = `Adds the next version of the named policy (a new name starts at version 1). The version is checked beyond its schema — every hand listed once and in order, hand 1 entered at day 0 and each hand later than the one before, no action repeated within a hand, automatic proposals allowed by the measure rules (the lowest hand of their type, public notices only under the compliance flag), an allocation order naming every reported component once — and refused with **every** problem named (400, \`errors[].field\` and \`reason\`).

Versions are immutable (PostgreSQL refuses UPDATE and DELETE on them): new cases open with the latest version, running cases keep the one they opened with, and the ledger filters by \`policyName\` and \`policyVersion\`. Admins only.`;

/** Collection policies as data: versions supervisors read and admins add, never change. */
const policies: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/policies',
    {
      schema: {
        summary: 'Collection policies and their versions',
        description: 'Every policy by name, with its versions and the latest (the one new cases open with).',
        tags: ['policies'],
        security: BEARER_SECURITY,
        response: { 200: described(PolicyListSchema, 'The policies'), ...ERROR_RESPONSES },
      },
    },
    async () => {
      const byName = new Map<string, StoredPolicy[]>();
      for (const version of await listPolicyVersions(fastify.db)) {
        byName.set(version.name, [...(byName.get(version.name) ?? []), version]);
      }
      return {
        items: [...byName.entries()].map(([name, versions]) => {
          const latest = versions.at(-1)!;
          return {
            name,
            latestVersion: latest.version,
            versions: versions.map((v) => v.version),
            description: latest.description,
            updatedAt: latest.createdAt.toISOString(),
          };
        }),
      };
    },
  );

  fastify.get(
    '/policies/:name/versions/:version',
    {
      schema: {
        summary: 'One version of a collection policy',
        tags: ['policies'],
        security: BEARER_SECURITY,
        params: PolicyVersionParamsSchema,
        response: { 200: described(PolicySchema, 'The version'), ...ERROR_RESPONSES, 404: NO_SUCH_VERSION },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      const found = await storedPolicyVersion(fastify.db, name, version);
      if (!found) throw notFound(`Policy ${name} has no version ${version}`);
      return toView(found);
    },
  );

  fastify.post(
    '/policies/:name/versions',
    {
      preValidation: onlyRoles('admin'),
      schema: {
        summary: 'Add a version of a collection policy (admins)',
        description: VERSIONS_DESCRIPTION,
        tags: ['policies'],
        security: BEARER_SECURITY,
        params: PolicyParamsSchema,
        body: PolicyVersionInputSchema,
        response: { 201: described(PolicySchema, 'The version, as stored'), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const problems = policyProblems(request.body as never);
      if (problems.length > 0) throw badRequest(problems.map(asFieldError));
      const added = await addPolicyVersion(fastify.db, { ...request.body, name } as never);
      const stored = await storedPolicyVersion(fastify.db, name, added.version);
      request.log.info({ policy: name, version: added.version }, 'policy version added');
      return reply.code(201).header('location', `/v1/policies/${name}/versions/${added.version}`).send(toView(stored!));
    },
  );

  fastify.get(
    '/policies/:name/diff',
    {
      schema: {
        summary: 'What changed between two versions of a policy',
        description: 'Every place where version `to` differs from version `from` (hands, actions, measure rules, allocation order…), in document order, with the value on each side.',
        tags: ['policies'],
        security: BEARER_SECURITY,
        params: PolicyParamsSchema,
        querystring: PolicyDiffQuerySchema,
        response: { 200: described(PolicyDiffSchema, 'The differences'), ...ERROR_RESPONSES, 404: NO_SUCH_VERSION },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { from, to } = request.query;
      const [a, b] = await Promise.all([storedPolicyVersion(fastify.db, name, from), storedPolicyVersion(fastify.db, name, to)]);
      if (!a || !b) throw notFound(`Policy ${name} has no version ${!a ? from : to}`);
      return { name, from, to, changes: jsonChanges(content(a), content(b)) };
    },
  );
};

export default policies;
