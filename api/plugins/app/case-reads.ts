import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { caseReads } from '../../../db/schema';
import type { ReadKind } from '../../schemas/reads';
import { callerOf } from './authorization';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Records that the caller read these cases' personal data or history, before the answer
     * leaves: a read the record cannot take fails (503 while PostgreSQL is down) instead of
     * going unrecorded.
     */
    recordCaseReads(request: FastifyRequest, caseIds: readonly string[], what: ReadKind): Promise<void>;
  }
}

export default fp(
  async function caseReadsPlugin(fastify) {
    fastify.decorate('recordCaseReads', async (request: FastifyRequest, caseIds: readonly string[], what: ReadKind) => {
      const caller = callerOf(request);
      const unique = [...new Set(caseIds)];
      if (unique.length === 0) return;
      await fastify.db.insert(caseReads).values(
        unique.map((caseId) => ({
          actorSub: caller.sub,
          actorRole: caller.role,
          actorBranch: caller.branch,
          caseId,
          what,
          requestId: request.id,
        })),
      );
    });
  },
  { name: 'case-reads', dependencies: ['resources', 'authorization'] },
);
