import fastifyJwt from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { callerFromClaims, JWT_ALGORITHM, type Caller } from '../../auth/tokens';
import { unauthorized } from '../../errors';

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: verifies the bearer token and sets `request.caller`; 401 otherwise. */
    authenticate(request: FastifyRequest): Promise<void>;
  }
  interface FastifyRequest {
    /** The authenticated caller; null outside the authenticated routes. */
    caller: Caller | null;
  }
}

/** Bearer tokens (HS256) signed with `JWT_SECRET`. */
export default fp(
  async function jwt(fastify, options: { secret: string }) {
    await fastify.register(fastifyJwt, {
      secret: options.secret,
      sign: { algorithm: JWT_ALGORITHM },
      verify: { algorithms: [JWT_ALGORITHM] },
    });
    fastify.decorateRequest('caller', null);
    fastify.decorate('authenticate', async function authenticate(request: FastifyRequest) {
      if (!request.headers.authorization) throw unauthorized('A bearer token is required (Authorization: Bearer …)');
      let claims: unknown;
      try {
        claims = await request.jwtVerify();
      } catch (err) {
        const message = err instanceof Error ? err.message : 'invalid token';
        throw unauthorized(`The bearer token was refused: ${message}`);
      }
      const caller = callerFromClaims(claims);
      if (typeof caller === 'string') throw unauthorized(caller);
      request.caller = caller;
    });
  },
  { name: 'jwt' },
);
