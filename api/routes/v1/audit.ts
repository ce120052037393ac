import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, sql, type SQL } from 'drizzle-orm';
import type { Role } from '../../../domain';
import { assertCaseAccess, assertRole, branchScope } from '../../auth/access';
import { badRequest, forbidden, notFound } from '../../errors';
import { maskPersonalData } from '../../masking';
import { decodeCursor, encodeCursor, page } from '../../pagination';
import { callerOf } from '../../plugins/app/authorization';
import { AuditPageSchema, AuditQuerySchema, AuditVerifySchema, type AuditVerifyView } from '../../schemas/audit';
import { BEARER_SECURITY, CaseParamsSchema, described } from '../../schemas/common';
import { CASE_ERROR_RESPONSES, ERROR_RESPONSES } from '../../schemas/problem';

const DEFAULT_LIMIT = 50;
/** occurred_at as the cursor carries it: microseconds, UTC (the chain's canonical form too). */
const OCCURRED_TEXT = `to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

interface VerifyRow extends Record<string, unknown> {
  events: string | number;
  event_id: string | null;
  episode: number | null;
  seq: number | null;
  expected: string | null;
  found: string | null;
}

interface AuditRow extends Record<string, unknown> {
  event_id: string;
  case_id: string;
  branch: string;
  episode: number;
  seq: number;
  type: string;
  actor_sub: string;
  actor_role: string;
  request_id: string | null;
  occurred_at: Date | string;
  occurred_text: string;
  recorded_at: Date | string;
  payload: Record<string, unknown>;
  hash: string | null;
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

/**
 * The tamper-evident trail. `verify` recomputes a case's hash chain in the database with the very
 * function the insert trigger uses (`case_event_hash`, migration 0010): every row's hash over its
 * own content and its `prev_hash`, and every `prev_hash` against its predecessor's hash, in the
 * order rows were stored (recorded_at, then episode, seq); the first row where either fails is
 * the broken link.
 */
const audit: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/cases/:caseId/audit/verify',
    {
      preValidation: fastify.requireRole('history'),
      schema: {
        summary: 'Verify the hash chain of a case\'s business trail (supervisors, admins)',
        description:
          'Recomputes the chain of every event of every episode, in the order they were stored: each row\'s hash over its content and the previous row\'s hash, and each row\'s link to its predecessor. `valid` when all hold; otherwise `firstBrokenLink` names the first row that does not (an edited row shows its recomputed hash as `expected` and the stored one as `found`; a broken link shows the predecessor\'s hash as `expected` and the stored `prev_hash` as `found`).',
        tags: ['audit'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        response: { 200: described(AuditVerifySchema, 'The result of the check'), ...CASE_ERROR_RESPONSES },
      },
    },
    async (request): Promise<AuditVerifyView> => {
      const caller = callerOf(request);
      const { caseId } = request.params;
      const kase = await fastify.casesRepository.findCase(caseId);
      if (!kase) throw notFound(`No case ${caseId}`);
      assertCaseAccess(caller, 'history', kase);
      const result = await fastify.db.execute<VerifyRow>(sql`
        with chain as (
          select e.event_id, e.episode, e.seq, e.hash, e.prev_hash,
                 lag(e.hash) over w as before,
                 row_number() over w as n,
                 case_event_hash(e.prev_hash, e) as recomputed
          from case_events e
          where e.case_id = ${caseId}
          window w as (order by e.recorded_at, e.episode, e.seq)
        ), broken as (
          select event_id, episode, seq,
                 case when n > 1 and prev_hash is distinct from before then before
                      when n = 1 and prev_hash is not null then null
                      else recomputed end as expected,
                 case when (n > 1 and prev_hash is distinct from before) or (n = 1 and prev_hash is not null) then prev_hash
                      else hash end as found
          from chain
          where (n > 1 and prev_hash is distinct from before)
             or (n = 1 and prev_hash is not null)
             or hash is distinct from recomputed
          order by n
          limit 1
        )
        select (select count(*) from chain) as events, b.event_id, b.episode, b.seq, b.expected, b.found
        from (select 1) one left join broken b on true`);
      const row = result.rows[0]!;
      const broken =
        row.event_id !== null
          ? { episode: row.episode!, seq: row.seq!, eventId: row.event_id, expected: row.expected, found: row.found }
          : null;
      return { caseId, events: Number(row.events), valid: broken === null, firstBrokenLink: broken };
    },
  );

  fastify.get(
    '/audit',
    {
      preValidation: fastify.requireRole('history'),
      schema: {
        summary: 'The business trail across cases (supervisors, admins)',
        description:
          'Case events of every case, oldest first (by occurrence time, then event id), filtered by who acted (`actorSub`), branch, event type and time range (`from` inclusive, `to` exclusive, RFC 3339). Supervisors see their branch; admins every branch. Borrowers\' and guarantors\' ID numbers and phones are masked in payloads.',
        tags: ['audit'],
        security: BEARER_SECURITY,
        querystring: AuditQuerySchema,
        response: { 200: described(AuditPageSchema, 'A page of the trail'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      assertRole(caller, 'history');
      const { actorSub, branch, type, from, to, cursor, limit = DEFAULT_LIMIT } = request.query;
      const scope = branchScope(caller);
      if (scope !== null && branch !== undefined && branch !== scope) throw forbidden(`A ${caller.role} of ${scope} sees only the trail of ${scope}`);
      const fromAt = from !== undefined ? new Date(from) : undefined;
      const toAt = to !== undefined ? new Date(to) : undefined;
      if (fromAt && toAt && fromAt.getTime() > toAt.getTime()) throw badRequest([{ field: 'to', reason: 'is before from' }]);
      const after = cursor
        ? decodeCursor(cursor, (v) =>
            typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at)) && typeof v.id === 'string' ? { at: v.at, id: v.id } : undefined,
          )
        : null;
      const branchFilter = scope ?? branch;
      const where: (SQL | undefined)[] = [
        branchFilter !== undefined ? sql`c.branch = ${branchFilter}` : undefined,
        actorSub !== undefined ? sql`e.actor_sub = ${actorSub}` : undefined,
        type !== undefined ? sql`e.type = ${type}` : undefined,
        fromAt ? sql`e.occurred_at >= ${fromAt.toISOString()}::timestamptz` : undefined,
        toAt ? sql`e.occurred_at < ${toAt.toISOString()}::timestamptz` : undefined,
        after ? sql`(e.occurred_at, e.event_id) > (${after.at}::timestamptz, ${after.id})` : undefined,
      ];
      const result = await fastify.db.execute<AuditRow>(sql`
        select e.event_id, e.case_id, c.branch, e.episode, e.seq, e.type, e.actor_sub, e.actor_role, e.request_id,
               e.occurred_at, ${sql.raw(OCCURRED_TEXT)} as occurred_text, e.recorded_at, e.payload, e.hash
        from case_events e join cases c on c.case_id = e.case_id
        where ${and(sql`true`, ...where)}
        order by e.occurred_at, e.event_id
        limit ${limit + 1}`);
      const { items, more } = page(result.rows, limit);
      const last = items[items.length - 1];
      await fastify.recordCaseReads(request, items.map((r) => r.case_id), 'trail');
      return {
        items: items.map((r) => ({
          caseId: r.case_id,
          branch: r.branch,
          eventId: r.event_id,
          episode: r.episode,
          seq: r.seq,
          type: r.type,
          actor: { sub: r.actor_sub, role: r.actor_role as Role },
          requestId: r.request_id,
          occurredAt: iso(r.occurred_at),
          recordedAt: iso(r.recorded_at),
          payload: maskPersonalData(r.payload),
          hash: r.hash,
        })),
        nextCursor: more && last ? encodeCursor({ at: last.occurred_text, id: last.event_id }) : null,
      };
    },
  );
};

export default audit;
