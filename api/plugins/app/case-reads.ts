import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { serviceUnavailable } from '../../errors';
import type { ReadKind } from '../../schemas/reads';
import { callerOf } from './authorization';
import { insertReads, ReadBatches } from './read-batches';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Records that the caller read these cases' personal data or history, before the answer
     * leaves: a read the record cannot take fails (503) instead of going unrecorded. Concurrent
     * requests' reads commit together (./read-batches.ts).
     */
    recordCaseReads(request: FastifyRequest, caseIds: readonly string[], what: ReadKind): Promise<void>;
  }
}

export default fp(
  async function caseReadsPlugin(fastify) {
    const batches = new ReadBatches(insertReads(fastify.db));
    fastify.decorate('recordCaseReads', async (request: FastifyRequest, caseIds: readonly string[], what: ReadKind) => {
      const caller = callerOf(request);
      const unique = [...new Set(caseIds)];
      if (unique.length === 0) return;
      try {
        await batches.record(
          unique.map((caseId) => ({ actorSub: caller.sub, actorRole: caller.role, actorBranch: caller.branch, caseId, what, requestId: request.id })),
        );
      } catch (err) {
        // Whatever kept the record from taking the read (PostgreSQL down, a privilege revoked),
        // the read must not happen: the caller may try again.
        request.log.warn({ err }, 'the read could not be recorded');
        throw serviceUnavailable('The read could not be recorded; try again shortly');
      }
    });
  },
  { name: 'case-reads', dependencies: ['resources', 'authorization'] },
);
