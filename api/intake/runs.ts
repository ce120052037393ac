/** The kept reports of intake runs (`intake_runs`, `intake_row_results`). */
import { and, asc, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { intakeRowResults, intakeRuns } from '../../db/schema';
import type { Role } from '../../domain';
import type { Caller } from '../auth/tokens';
import type { IntakeReport, IntakeRowResult, IntakeRunSummary, IntakeSource } from '../schemas/intake';
import { countOutcomes } from './run';

type RunRow = typeof intakeRuns.$inferSelect;

/** Rows per INSERT, under PostgreSQL's 65,535 parameters. */
const INSERT_CHUNK = 2_000;

const toResult = (r: typeof intakeRowResults.$inferSelect): IntakeRowResult => ({
  row: r.row,
  loanId: r.loanId,
  caseId: r.caseId,
  outcome: r.outcome as IntakeRowResult['outcome'],
  errors: r.errors,
});

function toSummary(row: RunRow): IntakeRunSummary {
  return {
    runId: row.runId,
    source: row.source as IntakeSource,
    file: row.file,
    actor: { sub: row.actorSub, role: row.actorRole as Role },
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt ? row.finishedAt.toISOString() : null,
    counts: { rows: row.rows, created: row.created, updated: row.updated, unchanged: row.unchanged, rejected: row.rejected },
  };
}

/** Records that a run began; a run retried under the same id keeps its first record. */
export async function startRun(db: Database, run: { runId: string; source: IntakeSource; file: string | null; caller: Caller }): Promise<RunRow> {
  await db
    .insert(intakeRuns)
    // Milliseconds, as JavaScript holds them: the list's cursor compares them exactly.
    .values({ runId: run.runId, source: run.source, file: run.file, actorSub: run.caller.sub, actorRole: run.caller.role, startedAt: new Date() })
    .onConflictDoNothing();
  const [row] = await db.select().from(intakeRuns).where(eq(intakeRuns.runId, run.runId));
  return row!;
}

/** Keeps answered rows of a run, and adds them to its counts. A row an earlier attempt kept stays as it was. */
export async function recordRows(db: Database, runId: string, results: readonly IntakeRowResult[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (let i = 0; i < results.length; i += INSERT_CHUNK) {
      const inserted = await tx
        .insert(intakeRowResults)
        .values(results.slice(i, i + INSERT_CHUNK).map((r) => ({ runId, row: r.row, loanId: r.loanId, caseId: r.caseId, outcome: r.outcome, errors: r.errors })))
        .onConflictDoNothing()
        .returning({ outcome: intakeRowResults.outcome });
      const counts = countOutcomes(inserted as Pick<IntakeRowResult, 'outcome'>[]);
      await tx
        .update(intakeRuns)
        .set({
          rows: sql`${intakeRuns.rows} + ${counts.rows}`,
          created: sql`${intakeRuns.created} + ${counts.created}`,
          updated: sql`${intakeRuns.updated} + ${counts.updated}`,
          unchanged: sql`${intakeRuns.unchanged} + ${counts.unchanged}`,
          rejected: sql`${intakeRuns.rejected} + ${counts.rejected}`,
        })
        .where(eq(intakeRuns.runId, runId));
    }
  });
}

/** The rows an earlier attempt of the run kept, by row number. */
export async function keptRows(db: Database, runId: string): Promise<Map<number, IntakeRowResult>> {
  const rows = await db.select().from(intakeRowResults).where(eq(intakeRowResults.runId, runId));
  return new Map(rows.map((r) => [r.row, toResult(r)]));
}

/** Marks the run finished, its counts recounted from its kept rows. */
export async function finishRun(db: Database, runId: string): Promise<IntakeRunSummary> {
  const counted = db
    .select({
      rows: sql<number>`count(*)::int`,
      created: sql<number>`(count(*) filter (where ${intakeRowResults.outcome} = 'created'))::int`,
      updated: sql<number>`(count(*) filter (where ${intakeRowResults.outcome} = 'updated'))::int`,
      unchanged: sql<number>`(count(*) filter (where ${intakeRowResults.outcome} = 'unchanged'))::int`,
      rejected: sql<number>`(count(*) filter (where ${intakeRowResults.outcome} = 'rejected'))::int`,
    })
    .from(intakeRowResults)
    .where(eq(intakeRowResults.runId, runId));
  const [counts] = await counted;
  const [finished] = await db
    .update(intakeRuns)
    .set({ finishedAt: new Date(), ...counts! })
    .where(eq(intakeRuns.runId, runId))
    .returning();
  return toSummary(finished!);
}

/** Runs, newest first, before the cursor's run. */
export async function listRuns(db: Database, before: { startedAt: string; runId: string } | null, limit: number): Promise<IntakeRunSummary[]> {
  const rows = await db
    .select()
    .from(intakeRuns)
    .where(
      before
        ? or(lt(intakeRuns.startedAt, new Date(before.startedAt)), and(eq(intakeRuns.startedAt, new Date(before.startedAt)), lt(intakeRuns.runId, before.runId)))
        : undefined,
    )
    .orderBy(desc(intakeRuns.startedAt), desc(intakeRuns.runId))
    .limit(limit + 1);
  return rows.map(toSummary);
}

export async function findRun(db: Database, runId: string): Promise<IntakeReport | undefined> {
  const [run] = await db.select().from(intakeRuns).where(eq(intakeRuns.runId, runId));
  if (!run) return undefined;
  const results = await db.select().from(intakeRowResults).where(eq(intakeRowResults.runId, runId)).orderBy(asc(intakeRowResults.row));
  return {
    ...toSummary(run),
    results: results.map(toResult),
  };
}
