import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'drizzle-orm';
import { PROBLEM_CONTENT_TYPE, PROBLEM_TYPES } from '../errors';
import { described } from '../schemas/common';
import { LivenessSchema, NotReadySchema, ReadinessSchema } from '../schemas/health';

export const READINESS_TIMEOUT_MS = 2_000;

type Check = { status: 'up' | 'down'; reason?: string };

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
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
        description: 'Checks PostgreSQL (`select 1`) and the Temporal frontend (`GetSystemInfo`); 503 names what failed.',
        tags: ['health'],
        response: {
          200: described(ReadinessSchema, 'PostgreSQL and Temporal answer'),
          503: described(NotReadySchema, 'A dependency does not answer: `detail` and `checks` name it'),
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
        check('postgres', () => withTimeout(fastify.db.execute(sql`select 1`), READINESS_TIMEOUT_MS, 'postgres')),
        // The gRPC deadline ends the call and its retries; racing it would leave retries running
        // against a connection that may be closed next.
        check('temporal', () =>
          fastify.temporal.withDeadline(Date.now() + READINESS_TIMEOUT_MS, () => fastify.temporal.workflowService.getSystemInfo({})),
        ),
      ]);
      const checks = { postgres, temporal };
      const failed = Object.entries(checks)
        .filter(([, c]) => c.status === 'down')
        .map(([name]) => name);
      if (failed.length === 0) return { status: 'ready' as const, checks };
      return reply
        .code(503)
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
