import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, eq, inArray, notInArray, asc } from 'drizzle-orm';
import { cases } from '../../../db/schema';
import { assignOfficerUpdate, CLOSED_STAGES, type AssignOfficer } from '../../../domain';
import { branchHasRegistry, findOfficer } from '../../assignment';
import { branchScope } from '../../auth/access';
import { badRequest, forbidden } from '../../errors';
import { callerOf } from '../../plugins/app/authorization';
import { requestIdOf } from '../../request-id';
import { BEARER_SECURITY, described, IdempotencyHeadersSchema } from '../../schemas/common';
import { AssignmentReportSchema, BulkAssignmentSchema, MAX_BULK_CASES, type AssignmentItem } from '../../schemas/officers';
import { ERROR_RESPONSES } from '../../schemas/problem';
import { sendMessageToLedger } from '../../temporal/cases';
import { onlyRoles } from './officers';

/** Reassignments in flight at once: a bulk request never floods the workers. */
const CONCURRENCY = 8;

const DESCRIPTION = `Hands cases on to \`officerId\`, each as the case's own \`assignOfficer\` update (the same message as \`POST /v1/cases/{caseId}/assignment\`): \`caseIds\` (at most ${MAX_BULK_CASES}), or \`fromOfficerId\` — every open case of that officer within the caller's branch (an officer who leaves hands their cases on in one step; at most ${MAX_BULK_CASES} per request, repeat for more).

Answers a report with one entry per case: \`assigned\`, \`already_assigned\` (the case already has that officer), \`refused\` with its \`reason\`, \`not_found\`, or \`timeout\` (no worker answered in time: retry with the same key).

The target must be an active officer of the registry and of the case's branch (\`officer_not_of_branch\`); in a branch where no officer is registered yet, any officer id is accepted, as by the single-case route (\`officer_not_registered\` otherwise). Supervisors reassign within their branch (a case of another branch is a 403 for the whole request, sent to no case); admins everywhere.

Each case's request id is the \`Idempotency-Key\` and the case id (\`<key>:<caseId>\`): a retried request has no second effect (cases it moved answer \`assigned\` again; with \`fromOfficerId\` the cases it moved no longer belong to that officer and are not listed again).`;

/** Runs `work` over `items`, at most `limit` at a time, keeping their order. */
async function mapPool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  });
  await Promise.all(runners);
  return results;
}

const assignments: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '',
    {
      preValidation: onlyRoles('supervisor', 'admin'),
      schema: {
        summary: 'Reassign cases in bulk (supervisors, admins)',
        description: DESCRIPTION,
        tags: ['officers'],
        security: BEARER_SECURITY,
        headers: IdempotencyHeadersSchema,
        body: BulkAssignmentSchema,
        response: { 200: described(AssignmentReportSchema, 'What each case did with the reassignment'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const scope = branchScope(caller);
      const { officerId, caseIds, fromOfficerId } = request.body;
      if ((caseIds === undefined) === (fromOfficerId === undefined)) {
        throw badRequest([{ field: caseIds === undefined ? 'caseIds' : 'fromOfficerId', reason: 'give exactly one of caseIds and fromOfficerId' }]);
      }
      if (fromOfficerId === officerId) throw badRequest([{ field: 'officerId', reason: 'must differ from fromOfficerId' }]);
      const target = await findOfficer(fastify.db, officerId);
      if (target && !target.active) throw badRequest([{ field: 'officerId', reason: `is an inactive officer of ${target.branch}` }]);

      const columns = { caseId: cases.caseId, branch: cases.branch, officerId: cases.officerId };
      let rows: { caseId: string; branch: string; officerId: string | null }[];
      let order: string[];
      if (fromOfficerId !== undefined) {
        if (scope !== null) {
          const from = await findOfficer(fastify.db, fromOfficerId);
          if (from && from.branch !== scope) throw forbidden(`Officer ${fromOfficerId} is of branch ${from.branch}: a ${caller.role} of ${scope} reassigns only within ${scope}`);
        }
        rows = await fastify.db
          .select(columns)
          .from(cases)
          .where(
            and(
              eq(cases.officerId, fromOfficerId),
              notInArray(cases.stage, [...CLOSED_STAGES]),
              scope !== null ? eq(cases.branch, scope) : undefined,
            ),
          )
          .orderBy(asc(cases.caseId))
          .limit(MAX_BULK_CASES);
        order = rows.map((r) => r.caseId);
      } else {
        order = caseIds!;
        // Another branch's case is reported not_found, as a missing one: an outsider learns nothing of it.
        rows = await fastify.db
          .select(columns)
          .from(cases)
          .where(and(inArray(cases.caseId, order), scope !== null ? eq(cases.branch, scope) : undefined));
      }

      const byId = new Map(rows.map((r) => [r.caseId, r]));
      const registries = new Map<string, Promise<boolean>>();
      const hasRegistry = (branch: string) => {
        let known = registries.get(branch);
        if (!known) registries.set(branch, (known = branchHasRegistry(fastify.db, branch)));
        return known;
      };
      const key = requestIdOf(request);
      const by = { sub: caller.sub, role: caller.role };

      const items = await mapPool(order, CONCURRENCY, async (caseId): Promise<AssignmentItem> => {
        const requestId = `${key}:${caseId}`;
        const row = byId.get(caseId);
        if (!row) return { caseId, outcome: 'not_found', requestId };
        if (target && target.branch !== row.branch) {
          return { caseId, outcome: 'refused', reason: 'officer_not_of_branch', detail: { officerId, officerBranch: target.branch, caseBranch: row.branch }, requestId };
        }
        if (!target && (await hasRegistry(row.branch))) {
          return { caseId, outcome: 'refused', reason: 'officer_not_registered', detail: { officerId, caseBranch: row.branch }, requestId };
        }
        const message: AssignOfficer = { officerId, requestId, by, sentAt: new Date().toISOString() };
        let outcome;
        try {
          outcome = await sendMessageToLedger(fastify.temporal, fastify.db, caseId, assignOfficerUpdate, message);
        } catch (err) {
          request.log.warn({ err, caseId }, 'bulk reassignment: the case could not be reached');
          return { caseId, outcome: 'timeout', reason: 'unavailable', requestId };
        }
        switch (outcome.kind) {
          case 'applied':
            return { caseId, outcome: 'assigned', requestId };
          case 'refused':
            await fastify.casesRepository
              .recordRefusal(caseId, assignOfficerUpdate.name, message, outcome.refusal)
              .catch((err: unknown) => request.log.warn({ err }, 'could not record a refused message'));
            return outcome.refusal.reason === 'same_officer'
              ? { caseId, outcome: 'already_assigned', reason: 'same_officer', detail: outcome.refusal.detail, requestId }
              : { caseId, outcome: 'refused', reason: outcome.refusal.reason, detail: outcome.refusal.detail, requestId };
          case 'not_running':
            return { caseId, outcome: 'refused', reason: 'case_closed', detail: { caseId }, requestId };
          case 'timeout':
            return { caseId, outcome: 'timeout', requestId };
        }
      });

      const counts: Record<string, number> = {};
      for (const item of items) counts[item.outcome] = (counts[item.outcome] ?? 0) + 1;
      return { officerId, items, counts };
    },
  );
};

export default assignments;
