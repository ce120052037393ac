import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { assertRole, type Permission } from '../../auth/access';
import type { Caller } from '../../auth/tokens';
import { unauthorized } from '../../errors';

declare module 'fastify' {
  interface FastifyInstance {
    /** A hook that answers 403 unless the caller's role has the permission (run before
     * validation, so a forbidden caller learns nothing about the body). */
    requireRole(permission: Permission): (request: FastifyRequest) => Promise<void>;
  }
}

/** The authenticated caller; the `/v1` routes always have one. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw unauthorized('A bearer token is required (Authorization: Bearer …)');
  return request.caller;
}

export default fp(
  async function authorization(fastify) {
    fastify.decorate('requireRole', (permission: Permission) => async (request: FastifyRequest) => {
      assertRole(callerOf(request), permission);
    });
  },
  { name: 'authorization', dependencies: ['jwt'] },
);
