import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpProblem } from '../../errors';

declare module 'fastify' {
  interface FastifyInstance {
    /** Before the identity provider's keys are fetched for a key id not yet known: 429 once the
     * address has made `KEY_FETCHES_PER_WINDOW` such fetches in the window. Tokens naming made-up
     * key ids would otherwise have this service fetch the JWKS for each (the limit per caller
     * comes only after a token is verified). */
    limitKeyFetches(request: FastifyRequest): Promise<void>;
  }
}

/** Probes and scrapes: the orchestrator and Prometheus must always get through. */
const UNLIMITED_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);
/** A key rotation needs one fetch per address; a few more cover a provider publishing late. */
export const KEY_FETCHES_PER_WINDOW = 10;

function tooManyRequests(detail: string, ttlMs: number): HttpProblem {
  return new HttpProblem(429, detail, { headers: { 'retry-after': String(Math.max(1, Math.ceil(ttlMs / 1000))) } });
}

/** One bucket per caller: the token's subject where the request carries a verified token, else
 * the client's address. */
function rateLimitKey(request: FastifyRequest): string {
  return request.caller ? `sub:${request.caller.sub}` : `ip:${request.ip}`;
}

/**
 * At most `max` requests per `timeWindowMs` per caller; beyond, 429 problem+json with
 * `Retry-After`. The limit runs as a route hook, after the `/v1` routes' authentication hook, so
 * that only a verified subject names a bucket: a forged token cannot spend another caller's.
 * (A process keeps its own counts: N replicas allow up to N times `max`.)
 */
export default fp(
  async function rateLimit(fastify, options: { max: number; timeWindowMs: number }) {
    await fastify.register(fastifyRateLimit, {
      max: options.max,
      timeWindow: options.timeWindowMs,
      hook: 'onRequest',
      keyGenerator: rateLimitKey,
      allowList: (request) => UNLIMITED_ROUTES.has(request.routeOptions.url ?? ''),
      errorResponseBuilder: (_request, context) =>
        tooManyRequests(`Too many requests: at most ${context.max} per ${Math.round(options.timeWindowMs / 1000)} s; retry in ${context.after}`, context.ttl),
    });
    const keyFetches = fastify.createRateLimit({
      max: KEY_FETCHES_PER_WINDOW,
      timeWindow: options.timeWindowMs,
      keyGenerator: (request) => `key-fetch:${request.ip}`,
    });
    fastify.decorate('limitKeyFetches', async (request: FastifyRequest) => {
      const limit = await keyFetches(request);
      if (!limit.isAllowed && limit.isExceeded) {
        throw tooManyRequests(`Too many tokens naming keys the identity provider was asked for: at most ${KEY_FETCHES_PER_WINDOW} per ${Math.round(options.timeWindowMs / 1000)} s`, limit.ttl);
      }
    });
  },
  { name: 'rate-limit' },
);
