import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { ProjectionBatch } from '../activities/contract';
import { writeBatchIn } from '../activities/projection';
import type { Database } from './client';
import { isDataError } from './errors';

const POLL_MS = 10;

/**
 * Brings the ledger up to the batch an update answered with (workflows/case
 * ANSWER_WITH_BATCH_PATCH), so that the answer, and every read after it, shows the message.
 *
 * The batch is in the history already: Temporal delivers an update's answer only once the
 * workflow task that produced it is recorded. Its projection activity comes to it too, later or
 * at the same moment, serialised on the case's row: whichever writes second finds the batch there
 * and writes nothing more (the activity still queues the team channel's posts). The API writes it
 * only where it is the next batch of the row's run, so the ledger never takes a batch ahead of
 * one still on its way; otherwise (an earlier batch not yet written, a new episode, a batch the
 * ledger refuses for its data and the workflow sets aside as an incident) it waits for the
 * projection to reach it, as every answer did before the patch.
 *
 * The team channel's posts are left to the activity, which queues them with the same events in
 * its own transaction (once: they are keyed by event).
 *
 * True once the ledger holds the batch; false when `timeoutMs` passed first.
 */
export async function bringLedgerTo(db: Database, batch: ProjectionBatch, timeoutMs: number): Promise<boolean> {
  try {
    if (await writeIfNext(db, batch)) return true;
  } catch (err) {
    if (!isDataError(err)) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await holds(db, batch)) return true;
    await sleep(POLL_MS);
  }
  return false;
}

async function writeIfNext(db: Database, batch: ProjectionBatch): Promise<boolean> {
  return db.transaction(async (tx) => {
    // The activity's upsert takes the same row lock: the two writers of a batch never interleave.
    const { rows } = await tx.execute<{ run_id: string; version: number }>(
      sql`select run_id, version from cases where case_id = ${batch.caseId} for update`,
    );
    const row = rows[0];
    const sameRun = row !== undefined && row.run_id === batch.episodeRunId;
    if (sameRun && row.version >= batch.version) return true;
    const next = row === undefined ? batch.version === 1 : sameRun && row.version === batch.version - 1;
    if (!next) return false;
    await writeBatchIn(tx, batch, []);
    return true;
  });
}

async function holds(db: Database, batch: ProjectionBatch): Promise<boolean> {
  const { rows } = await db.execute<{ held: boolean }>(
    sql`select (run_id <> ${batch.episodeRunId} and opened_at > ${batch.view.openedAt}::timestamptz) or (run_id = ${batch.episodeRunId} and version >= ${batch.version}) as held
        from cases where case_id = ${batch.caseId}`,
  );
  return rows[0]?.held === true;
}
