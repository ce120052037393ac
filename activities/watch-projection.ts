import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { watchEvents, watches, watchTasks } from '../db/schema';
import { enqueueWatchTeamChannel } from './team-channel';
import { refusedForData, trailColumns } from './trail';
import type { WatchProjectionBatch } from './watch-contract';

type WatchRow = typeof watches.$inferInsert;

function watchRow(batch: WatchProjectionBatch): WatchRow {
  const { view } = batch;
  return {
    watchId: batch.watchId,
    loanId: view.loanId,
    runId: batch.runId,
    branch: view.branch,
    officerId: view.officerId,
    currency: view.currency,
    outstanding: view.outstanding,
    trigger: view.trigger,
    state: view.state,
    exitPlan: view.exitPlan,
    visitEveryDays: view.visitEveryDays,
    nextVisitAt: view.nextVisitAt ? new Date(view.nextVisitAt) : null,
    visits: view.visits,
    caseId: view.caseId,
    openedAt: new Date(view.openedAt),
    closedAt: view.closedAt ? new Date(view.closedAt) : null,
    version: batch.version,
    updatedAt: new Date(),
  };
}

const columns = getTableColumns(watches);
const overwrite = Object.fromEntries(
  (Object.keys(columns) as (keyof typeof columns)[]).filter((key) => key !== 'watchId').map((key) => [key, sql.raw(`excluded."${columns[key].name}"`)]),
);

/** Within a watch the row only moves forward by version; a later watch of the same loan (another
 * first run, opened later) replaces it. */
const currentWins = sql`(${watches.runId} = excluded.run_id and ${watches.version} < excluded.version)
  or (${watches.runId} <> excluded.run_id and ${watches.openedAt} < excluded.opened_at)`;

/** `teamChannelUrls`: where the exit plan's approvals are posted, queued with their events. */
export function createWatchActivities(db: Database, teamChannelUrls: readonly string[] = []) {
  return {
    /**
     * Writes one batch of a watch in one transaction: its row, its trail, its team channel posts,
     * its visit tasks. Safe to run twice (ids made in the workflow, the row moves forward only). A
     * batch PostgreSQL refuses for its data fails non-retryably: retrying cannot help.
     */
    async projectWatch(batch: WatchProjectionBatch): Promise<void> {
      try {
        await db.transaction(async (tx) => {
          await tx.insert(watches).values(watchRow(batch)).onConflictDoUpdate({ target: watches.watchId, set: overwrite, setWhere: currentWins });
          if (batch.events.length > 0) {
            await tx
              .insert(watchEvents)
              .values(
                batch.events.map((e) => ({ ...trailColumns(e, batch.runId), watchId: batch.watchId })),
              )
              .onConflictDoNothing();
            await enqueueWatchTeamChannel(tx, batch, teamChannelUrls);
          }
          if (batch.visitDone) {
            await tx
              .update(watchTasks)
              .set({ status: 'done' })
              .where(and(eq(watchTasks.watchId, batch.watchId), eq(watchTasks.status, 'open')));
          }
          if (batch.tasks.length > 0) {
            await tx
              .insert(watchTasks)
              .values(batch.tasks.map((t) => ({ ...t, watchId: batch.watchId, dueAt: new Date(t.dueAt) })))
              .onConflictDoNothing();
          }
          // Visits left open on a closed watch would sit in officers' lists for ever.
          if (batch.view.state !== 'watching') {
            await tx
              .update(watchTasks)
              .set({ status: 'cancelled' })
              .where(and(eq(watchTasks.watchId, batch.watchId), eq(watchTasks.status, 'open')));
          }
        });
      } catch (err) {
        refusedForData(err, 'the watches table refused this batch for its data');
      }
    },
  };
}
