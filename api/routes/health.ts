import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, RETRY_AFTER_SECONDS } from '../errors';
import { withTemporalDeadline } from '../plugins/app/temporal';
import { described } from '../schemas/common';
import { LivenessSchema, NotReadySchema, ReadinessSchema } from '../schemas/health';
import { withRetryAfter } from '../schemas/problem';

/** Each dependency's check answers within this, whatever the dependency does. */
export const READINESS_TIMEOUT_MS = 2_000;

type Check = { status: 'up' | 'down'; reason?: string };

/** `promise`, or a rejection after `ms`; a late rejection of `promise` is swallowed. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Liveness (the process answers) and readiness (PostgreSQL and Temporal answer). */
const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        description: 'Answers while the process runs; checks no dependency.',
        tags: ['health'],
        response: { 200: described(LivenessSchema, 'The process runs') },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  fastify.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description: `Checks PostgreSQL (\`select 1\`) and the Temporal frontend (\`GetSystemInfo\`), each bounded by ${READINESS_TIMEOUT_MS} ms; 503 (with Retry-After) names what failed.`,
        tags: ['health'],
        response: {
          200: described(ReadinessSchema, 'PostgreSQL and Temporal answer'),
          503: withRetryAfter(described(NotReadySchema, 'A dependency does not answer: `detail` and `checks` name it')),
        },
      },
    },
    async (request, reply) => {
      const check = async (name: string, probe: () => Promise<unknown>): Promise<Check> => {
        try {
          await probe();
          return { status: 'up' };
        } catch (err) {
          request.log.warn({ err, dependency: name }, 'readiness check failed');
          return { status: 'down', reason: `${name} is unreachable` };
        }
      };
      const [postgres, temporal] = await Promise.all([
        // A pool waiting for a connection (connect timeout 5 s by default) or a hung server
        // would hold the answer: the race bounds it, the pool's own timeouts end the query.
        check('postgres', () => withTimeout(fastify.db.execute(sql`select 1`), READINESS_TIMEOUT_MS, 'postgres')),
        // A gRPC deadline and an abort signal: the call and its retries end by the timeout
        // (api/plugins/app/temporal.ts), and the answer comes by then in any case.
        check('temporal', () =>
          withTemporalDeadline(fastify.temporal, READINESS_TIMEOUT_MS, () => fastify.temporal.workflowService.getSystemInfo({})),
        ),
      ]);
      const checks = { postgres, temporal };
      const failed = Object.entries(checks)
        .filter(([, c]) => c.status === 'down')
        .map(([name]) => name);
      if (failed.length === 0) return { status: 'ready' as const, checks };
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          type: PROBLEM_TYPES.notReady,
          title: 'Service Unavailable',
          status: 503,
          detail: `Not ready: ${failed.join(' and ')} ${failed.length > 1 ? 'are' : 'is'} unreachable`,
          instance: request.url,
          checks,
        });
    },
  );
};

export default health;
