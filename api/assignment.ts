import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { cases, officers } from '../db/schema';
import { CLOSED_STAGES } from '../domain';

/** Stages in which a case still counts towards its officer's load (not recovered, not written off). */
export const openStageSql = sql.raw(`(${CLOSED_STAGES.map((s) => `'${s}'`).join(', ')})`);

export type OfficerRow = typeof officers.$inferSelect;
export type OfficerWithLoad = OfficerRow & { load: number };

/**
 * The officer a new case of `branch` goes to when intake names none: the least-loaded active
 * officer of the branch (load: the open cases assigned to them in the ledger), ties broken by
 * officer id; an officer at capacity is skipped. Null when the branch has none to take it: the
 * case then opens unassigned.
 *
 * Two intakes at once may both read the same loads and pick the same officer: the choice is a
 * balancing rule, not a reservation, and one case more than the least-loaded share (or, at the
 * boundary, one over capacity) is accepted rather than serializing intake on a lock.
 */
export async function leastLoadedOfficer(db: Database, branch: string): Promise<string | null> {
  const rows = await db.execute<{ id: string }>(sql`
    select o.id
      from ${officers} o
      left join lateral (
        select count(*)::int as load
          from ${cases} c
         where c.officer_id = o.id and c.stage not in ${openStageSql}
      ) l on true
     where o.branch = ${branch} and o.active and l.load < o.capacity
     order by l.load, o.id
     limit 1`);
  return rows.rows[0]?.id ?? null;
}

/** Registered officers with their load, in id order: of one branch, or of all (null); or one (`id`). */
export async function listOfficers(db: Database, branch: string | null, id?: string): Promise<OfficerWithLoad[]> {
  const rows = await db.execute<{ id: string; branch: string; active: boolean; capacity: number; created_at: string | Date; updated_at: string | Date; load: number }>(sql`
    select o.id, o.branch, o.active, o.capacity, o.created_at, o.updated_at, l.load
      from ${officers} o
      left join lateral (
        select count(*)::int as load
          from ${cases} c
         where c.officer_id = o.id and c.stage not in ${openStageSql}
      ) l on true
     where ${branch === null ? sql`true` : sql`o.branch = ${branch}`} and ${id === undefined ? sql`true` : sql`o.id = ${id}`}
     order by o.id
     limit 1000`);
  return rows.rows.map((r) => ({
    id: r.id,
    branch: r.branch,
    active: r.active,
    capacity: r.capacity,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    load: r.load,
  }));
}

export async function findOfficer(db: Database, id: string): Promise<OfficerRow | undefined> {
  const rows = await db.select().from(officers).where(sql`${officers.id} = ${id}`).limit(1);
  return rows[0];
}

/** Creates or updates a registered officer; `created` tells which. */
export async function upsertOfficer(
  db: Database,
  officer: { id: string; branch: string; active: boolean; capacity: number },
): Promise<{ officer: OfficerRow; created: boolean }> {
  const rows = await db
    .insert(officers)
    .values(officer)
    .onConflictDoUpdate({
      target: officers.id,
      set: { branch: officer.branch, active: officer.active, capacity: officer.capacity, updatedAt: sql`now()` },
    })
    .returning({ ...officersColumns(), created: sql<boolean>`(xmax = 0)` });
  const { created, ...row } = rows[0]!;
  return { officer: row, created };
}

function officersColumns() {
  return {
    id: officers.id,
    branch: officers.branch,
    active: officers.active,
    capacity: officers.capacity,
    createdAt: officers.createdAt,
    updatedAt: officers.updatedAt,
  };
}

/** Whether the registry knows any officer of `branch` (a branch without one accepts any officer id). */
export async function branchHasRegistry(db: Database, branch: string): Promise<boolean> {
  const rows = await db.execute(sql`select 1 from ${officers} where branch = ${branch} limit 1`);
  return rows.rows.length > 0;
}
