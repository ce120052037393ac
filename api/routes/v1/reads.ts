import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, sql, type SQL } from 'drizzle-orm';
import type { Role } from '../../../domain';
import { badRequest } from '../../errors';
import { decodeCursor, encodeCursor, page } from '../../pagination';
import { ReadsPageSchema, ReadsQuerySchema, type CaseReadView } from '../../schemas/reads';
import { BEARER_SECURITY, described } from '../../schemas/common';
import { ERROR_RESPONSES } from '../../schemas/problem';

const DEFAULT_LIMIT = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** read_at as the cursor carries it: microseconds, UTC, so that no two reads of one instant are skipped. */
const READ_AT_TEXT = `to_char(r.read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

interface ReadRow extends Record<string, unknown> {
  read_id: string;
  read_at: Date | string;
  read_at_text: string;
  actor_sub: string;
  actor_role: string;
  actor_branch: string | null;
  case_id: string;
  what: string;
  request_id: string;
}

/** The record of reads of cases' personal data and histories (api/plugins/app/case-reads.ts). */
const reads: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/audit/reads',
    {
      preValidation: fastify.requireRole('reads'),
      schema: {
        summary: 'Who read which case, and when (admins)',
        description:
          'Every read of a case\'s personal data or history (the case, lists of cases, its events, refusals, Temporal history, suits, its household, the trail across cases), oldest first (by time, then read id), filtered by who read (`actorSub`), the case, what was read and time range (`from` inclusive, `to` exclusive, RFC 3339). Pass `nextCursor` back as `cursor` for the next page. The record is append-only: the service itself can neither change nor remove it.',
        tags: ['audit'],
        security: BEARER_SECURITY,
        querystring: ReadsQuerySchema,
        response: { 200: described(ReadsPageSchema, 'A page of reads'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { actorSub, caseId, what, from, to, cursor, limit = DEFAULT_LIMIT } = request.query;
      const fromAt = from !== undefined ? new Date(from) : undefined;
      const toAt = to !== undefined ? new Date(to) : undefined;
      if (fromAt && toAt && fromAt.getTime() > toAt.getTime()) throw badRequest([{ field: 'to', reason: 'is before from' }]);
      const after = cursor
        ? decodeCursor(cursor, (v) =>
            typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at)) && typeof v.id === 'string' && UUID.test(v.id) ? { at: v.at, id: v.id } : undefined,
          )
        : null;
      const where: (SQL | undefined)[] = [
        actorSub !== undefined ? sql`r.actor_sub = ${actorSub}` : undefined,
        caseId !== undefined ? sql`r.case_id = ${caseId}` : undefined,
        what !== undefined ? sql`r.what = ${what}` : undefined,
        fromAt ? sql`r.read_at >= ${fromAt.toISOString()}::timestamptz` : undefined,
        toAt ? sql`r.read_at < ${toAt.toISOString()}::timestamptz` : undefined,
        after ? sql`(r.read_at, r.read_id) > (${after.at}::timestamptz, ${after.id}::uuid)` : undefined,
      ];
      const result = await fastify.db.execute<ReadRow>(sql`
        select r.read_id, r.read_at, ${sql.raw(READ_AT_TEXT)} as read_at_text, r.actor_sub, r.actor_role, r.actor_branch,
               r.case_id, r.what, r.request_id
        from case_reads r
        where ${and(sql`true`, ...where)}
        order by r.read_at, r.read_id
        limit ${limit + 1}`);
      const { items, more } = page(result.rows, limit);
      const last = items[items.length - 1];
      return {
        items: items.map(
          (r): CaseReadView => ({
            readId: r.read_id,
            readAt: (r.read_at instanceof Date ? r.read_at : new Date(r.read_at)).toISOString(),
            actor: { sub: r.actor_sub, role: r.actor_role as Role, branch: r.actor_branch },
            caseId: r.case_id,
            what: r.what as CaseReadView['what'],
            requestId: r.request_id,
          }),
        ),
        nextCursor: more && last ? encodeCursor({ at: last.read_at_text, id: last.read_id }) : null,
      };
    },
  );
};

export default reads;
