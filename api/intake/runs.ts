/** The kept reports of intake runs (`intake_runs`, `intake_row_results`). */
import { and, asc, desc, eq, lt, or } from 'drizzle-orm';
import type { Database } from '../../db/client';
import { intakeRowResults, intakeRuns } from '../../db/schema';
import type { Role } from '../../domain';
import type { Caller } from '../auth/tokens';
import type { IntakeReport, IntakeRowResult, IntakeRunSummary, IntakeSource } from '../schemas/intake';
import { countOutcomes } from './run';

type RunRow = typeof intakeRuns.$inferSelect;

/** Rows per INSERT: a 10,000-row report goes in a few statements, under PostgreSQL's 65,535 parameters. */
const INSERT_CHUNK = 2_000;

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

/** Keeps the run's report: its rows' results and counts, in one transaction. */
export async function finishRun(db: Database, runId: string, results: readonly IntakeRowResult[]): Promise<IntakeRunSummary> {
  const counts = countOutcomes(results);
  const row = await db.transaction(async (tx) => {
    for (let i = 0; i < results.length; i += INSERT_CHUNK) {
      await tx
        .insert(intakeRowResults)
        .values(results.slice(i, i + INSERT_CHUNK).map((r) => ({ runId, row: r.row, loanId: r.loanId, caseId: r.caseId, outcome: r.outcome, errors: r.errors })))
        .onConflictDoNothing();
    }
    const [finished] = await tx
      .update(intakeRuns)
      .set({ finishedAt: new Date(), ...counts })
      .where(eq(intakeRuns.runId, runId))
      .returning();
    return finished!;
  });
  return toSummary(row);
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
    results: results.map((r) => ({ row: r.row, loanId: r.loanId, caseId: r.caseId, outcome: r.outcome as IntakeRowResult['outcome'], errors: r.errors })),
  };
}
