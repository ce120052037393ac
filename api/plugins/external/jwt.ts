import fastifyJwt from '@fastify/jwt';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../../config';
import { callerFromClaims, type Caller } from '../../auth/tokens';
import { CLOCK_TOLERANCE_MS, tokenVerification } from '../../auth/verification';
import { HttpProblem, unauthorized } from '../../errors';

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

/** Bearer tokens: the identity provider's (JWT_JWKS_URL) or HS256 with JWT_SECRET (auth/verification.ts). */
export default fp(
  async function jwt(fastify, options: { config: Config }) {
    const verification = tokenVerification(options.config, { beforeKeyFetch: (request) => fastify.limitKeyFetches(request) });
    await fastify.register(fastifyJwt, {
      ...verification.jwt,
      // The reason (wrong issuer, expired…) reaches the caller; the token never does.
      messages: { authorizationTokenInvalid: (err: Error) => err.message },
    });
    fastify.decorateRequest('caller', null);
    fastify.decorate('authenticate', async function authenticate(request: FastifyRequest) {
      if (!request.headers.authorization) throw unauthorized('A bearer token is required (Authorization: Bearer …)');
      let claims: unknown;
      try {
        claims = await request.jwtVerify();
      } catch (err) {
        if (err instanceof HttpProblem) throw err;
        const message = err instanceof Error ? err.message : 'invalid token';
        throw unauthorized(`The bearer token was refused: ${message}`);
      }
      // A token issued in the future would outlive JWT_MAX_AGE_SECONDS by as much (fast-jwt has
      // already made sure iat is there, and a number).
      const { iat } = claims as { iat: number };
      if (iat * 1000 > Date.now() + CLOCK_TOLERANCE_MS) {
        throw unauthorized('The bearer token was refused: its iat lies in the future');
      }
      const caller = callerFromClaims(claims, verification.claims);
      if (typeof caller === 'string') throw unauthorized(caller);
      request.caller = caller;
    });
  },
  { name: 'jwt', dependencies: ['rate-limit'] },
);
