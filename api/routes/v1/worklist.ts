import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql, type SQL } from 'drizzle-orm';
import { cases, officerTasks, watches, watchTasks } from '../../../db/schema';
import type { CaseStage, Hand } from '../../../domain';
import { openStageSql } from '../../assignment';
import { branchScope } from '../../auth/access';
import { forbidden } from '../../errors';
import { decodeCursor, encodeCursor, page } from '../../pagination';
import { callerOf } from '../../plugins/app/authorization';
import { BEARER_SECURITY, described } from '../../schemas/common';
import { WorklistQuerySchema, WorklistSchema, type WorklistItem } from '../../schemas/officers';
import { ERROR_RESPONSES } from '../../schemas/problem';

const DEFAULT_LIMIT = 50;

interface Position {
  /** The sort key as PostgreSQL prints it (`infinity` for nothing due). */
  due: string;
  kind: string;
  id: string;
}

type WorklistRow = {
  kind: WorklistItem['kind'];
  id: string;
  case_id: string | null;
  watch_id: string | null;
  branch: string;
  officer_id: string | null;
  due_at: string | Date | null;
  type: string | null;
  hand: number | null;
  stage: string | null;
  sort_key: string;
};

const worklist: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'What falls due first: open tasks, open cases and risk-watch visits',
        description:
          "Open officer tasks (by `dueAt`), open cases (by their next action's time) and the open visit tasks of running risk watches (`watch_task`, by `dueAt`, with their `watchId`) of one officer, merged and ordered by what falls due first (nothing due last; ties by kind and id). An officer sees their own: the cases the ledger assigns to them, those cases' open tasks and the visits of the watches assigned to them. A supervisor sees their branch's, optionally of one officer (`officerId`); admins everyone's (`branch`, `officerId` narrow it). Ids, stages and times only: no personal data. Pass `nextCursor` back as `cursor` for the next page.",
        tags: ['officers'],
        security: BEARER_SECURITY,
        querystring: WorklistQuerySchema,
        response: { 200: described(WorklistSchema, 'A page of the worklist'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { cursor, limit = DEFAULT_LIMIT, ...query } = request.query;
      const scope = branchScope(caller);
      if (scope !== null && query.branch !== undefined && query.branch !== scope) {
        throw forbidden(`A ${caller.role} of ${scope} sees only the worklist of ${scope}`);
      }
      if (caller.role === 'officer' && query.officerId !== undefined && query.officerId !== caller.sub) {
        throw forbidden('An officer sees only their own worklist');
      }
      const branch = scope ?? query.branch;
      const officerId = caller.role === 'officer' ? caller.sub : query.officerId;
      const after = cursor
        ? decodeCursor(cursor, (v): Position | undefined =>
            typeof v.due === 'string' && typeof v.kind === 'string' && typeof v.id === 'string' ? { due: v.due, kind: v.kind, id: v.id } : undefined,
          )
        : null;

      const filters: SQL[] = [sql`c.stage not in ${openStageSql}`];
      if (branch !== undefined) filters.push(sql`c.branch = ${branch}`);
      if (officerId !== undefined) filters.push(sql`c.officer_id = ${officerId}`);
      const where = sql.join(filters, sql` and `);
      // A watch's tasks are cancelled when it ends; its state guards the moment in between.
      const watchFilters: SQL[] = [sql`wt.status = 'open'`, sql`wa.state = 'watching'`];
      if (branch !== undefined) watchFilters.push(sql`wa.branch = ${branch}`);
      if (officerId !== undefined) watchFilters.push(sql`wa.officer_id = ${officerId}`);
      const rows = await fastify.db.execute<WorklistRow>(sql`
        select w.*, coalesce(w.due_at, 'infinity'::timestamptz)::text as sort_key
          from (
            select 'task'::text as kind, t.id, c.case_id, null::text as watch_id, c.branch, c.officer_id, t.due_at, t.type, t.hand::int as hand, c.stage
              from ${officerTasks} t join ${cases} c on c.case_id = t.case_id
             where t.status = 'open' and ${where}
            union all
            select 'case'::text, c.case_id, c.case_id, null, c.branch, c.officer_id, c.next_action_at, c.next_action->>'type', c.hand::int, c.stage
              from ${cases} c
             where ${where}
            union all
            select 'watch_task'::text, wt.id, null, wa.watch_id, wa.branch, wa.officer_id, wt.due_at, wt.type, null, null
              from ${watchTasks} wt join ${watches} wa on wa.watch_id = wt.watch_id
             where ${sql.join(watchFilters, sql` and `)}
          ) w
         where ${after ? sql`(coalesce(w.due_at, 'infinity'::timestamptz), w.kind, w.id) > (${after.due}::timestamptz, ${after.kind}, ${after.id})` : sql`true`}
         order by coalesce(w.due_at, 'infinity'::timestamptz), w.kind, w.id
         limit ${limit + 1}`);
      const { items, more } = page(rows.rows, limit);
      const last = items[items.length - 1];
      return {
        items: items.map((r) => ({
          kind: r.kind,
          id: r.id,
          caseId: r.case_id,
          watchId: r.watch_id,
          branch: r.branch,
          officerId: r.officer_id,
          dueAt: r.due_at === null ? null : new Date(r.due_at).toISOString(),
          type: r.type,
          hand: r.hand as Hand | null,
          stage: r.stage as CaseStage | null,
        })),
        nextCursor: more && last ? encodeCursor({ due: last.sort_key, kind: last.kind, id: last.id }) : null,
      };
    },
  );
};

export default worklist;
