import { eq, getTableColumns, sql, and } from 'drizzle-orm';
import type { Database } from '../db/client';
import { placeholderRows, rowValues, runStatement, statement, statementBuilder, statementsByCount } from '../db/statements';
import { transactionClient } from '../db/transaction';
import { caseEvents, caseMeasures, caseParties, cases, officerTasks, payments, projectionIncidents } from '../db/schema';
import { CLOSED_STAGES, DAY_MS, openingArrears, type CaseStage } from '../domain';
import type { ProjectionBatch, ProjectionIncident } from './contract';
import { writeOutbox } from './outbox';
import { enqueueTeamChannel } from './team-channel';
import { refusedForData, trailColumns } from './trail';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
type CaseRow = typeof cases.$inferInsert;

function caseRow(batch: ProjectionBatch): Required<CaseRow> {
  const { view } = batch;
  return {
    caseId: batch.caseId,
    loanId: view.loanId,
    householdId: view.householdId ?? null,
    runId: batch.episodeRunId,
    episode: batch.episode ?? 1,
    stage: view.stage,
    hand: view.hand,
    overdueSince: view.overdueSince,
    // Engine 1 batches carry no calendar: its view's paused days and opening time stand in.
    clockOrigin: new Date(batch.clock?.originMs ?? view.openedAt),
    dayMs: batch.clock?.dayMs ?? DAY_MS,
    // Case time on a compressed calendar has fractions of a millisecond.
    pausedCaseMs: Math.round(batch.pausedCaseMs ?? view.pausedDays * DAY_MS),
    pauseSinceCase: batch.pauseSinceCaseMs == null ? null : Math.round(batch.pauseSinceCaseMs),
    currency: view.currency,
    principal: view.principal,
    outstanding: view.outstanding,
    overdue: view.overdue,
    // Views of runs before components: all of it principal, as the workflow's upgrade reads it.
    arrears: view.arrears ?? openingArrears(view.overdue, undefined),
    recovered: view.recovered,
    creditToReturn: view.creditToReturn ?? 0,
    outcome: view.outcome ?? null,
    settlement: view.settlement ?? null,
    likelihood: view.classification?.likelihood ?? null,
    tier: view.tier ?? null,
    classification: view.classification ?? null,
    branch: view.branch,
    product: view.product,
    secured: view.secured,
    officerId: view.officerId,
    policyName: view.policy.name,
    policyVersion: view.policy.version,
    collateral: batch.collateral,
    openPromise: view.openPromise,
    pause: view.pause,
    nextAction: view.nextAction,
    measures: view.measures ?? [],
    writeOff: view.writeOff ?? null,
    recoveredAfterWriteOff: view.recoveredAfterWriteOff ?? 0,
    legalCosts: view.legalCosts ?? 0,
    collateralStatus: view.collateralStatus ?? [],
    incidents: view.incidents ?? [],
    nextActionAt: view.nextAction ? new Date(view.nextAction.at) : null,
    lastEventType: batch.lastEvent?.type ?? null,
    lastEventAt: batch.lastEvent ? new Date(batch.lastEvent.at) : null,
    openedAt: new Date(view.openedAt),
    closedAt: view.closedAt ? new Date(view.closedAt) : null,
    version: batch.version,
    updatedAt: new Date(),
  };
}

const caseColumns = getTableColumns(cases);
const caseKeys = Object.keys(caseColumns) as (keyof typeof caseColumns)[];
const excluded = (key: keyof typeof caseColumns) => sql.raw(`excluded."${caseColumns[key].name}"`);

/** Every column but the key and the episode takes the incoming value. */
const overwrite = Object.fromEntries(
  caseKeys.filter((key) => key !== 'caseId' && key !== 'episode').map((key) => [key, excluded(key)]),
);

/**
 * A write from another run overwrites the row only when its episode opened later: a late retry
 * from an earlier episode never overwrites a newer one. Within a run the row only moves forward
 * by version.
 */
const currentWins = sql`(${cases.runId} = excluded.run_id and ${cases.version} < excluded.version)
  or (${cases.runId} <> excluded.run_id and ${cases.openedAt} < excluded.opened_at)`;

const rowColumns = { episode: cases.episode, runId: cases.runId };
type RowHead = { episode: number; run_id: string };

/** The ledger row's upsert, its values named by column key; `batchEpisode` is the batch's own. */
const upsertCase = statement(
  statementBuilder
    .insert(cases)
    .values(Object.fromEntries(caseKeys.map((key) => [key, sql.placeholder(key)])) as unknown as CaseRow)
    .onConflictDoUpdate({
      target: cases.caseId,
      set: {
        ...overwrite,
        episode: sql`case when ${cases.runId} <> excluded.run_id then coalesce(${sql.placeholder('batchEpisode')}::int, ${cases.episode} + 1) else ${cases.episode} end`,
      },
      setWhere: currentWins,
    })
    .returning(rowColumns),
  'projection_case_upsert',
);
const caseHead = statement(statementBuilder.select(rowColumns).from(cases).where(eq(cases.caseId, sql.placeholder('caseId'))), 'projection_case_head');

const EVENT_KEYS = ['eventId', 'caseId', 'runId', 'episode', 'seq', 'type', 'actorSub', 'actorRole', 'requestId', 'occurredAt', 'payload'] as const;
/** A batch's events: an opening or a day's messages, a few at most. */
const insertEvents = statementsByCount('projection_events', 8, (count) =>
  statementBuilder.insert(caseEvents).values(placeholderRows(EVENT_KEYS, count) as never).onConflictDoNothing(),
);
const TASK_KEYS = ['id', 'caseId', 'type', 'hand', 'officerId', 'dueAt'] as const;
const insertTasks = statementsByCount('projection_tasks', 4, (count) =>
  statementBuilder.insert(officerTasks).values(placeholderRows(TASK_KEYS, count) as never).onConflictDoNothing(),
);

const caseMeasureColumns = getTableColumns(caseMeasures);
/** A measure's row takes every newer state but its identity. */
const MEASURE_COLUMNS = (Object.keys(caseMeasureColumns) as (keyof typeof caseMeasureColumns)[]).filter(
  (key) => key !== 'measureId' && key !== 'caseId',
);

const DATA_ERROR_HINT = 'the ledger refused this batch for its data; retrying cannot help';

/** `teamChannelUrls`: where results (recoveries, broken promises, escalations, approvals) are
 * posted; each result is queued for them in the batch's own transaction. `lettersWritten` hears
 * of a case whose batch put letters in the outbox, once the batch is in the ledger (whichever
 * writer wrote it): the worker's delivery relay. */
export function createProjectionActivities(db: Database, teamChannelUrls: readonly string[] = [], lettersWritten?: (caseId: string) => void) {
  return {
    /**
     * Writes one batch in one transaction. Safe to run twice: events, payments, notifications
     * and tasks carry ids made in the workflow, and the ledger row only moves forward. A batch
     * PostgreSQL refuses for its data (classes 22, 23) fails non-retryably: the workflow sets
     * it aside as an incident instead of retrying for ever. Connection errors are retried.
     */
    async projectCase(batch: ProjectionBatch): Promise<void> {
      try {
        await writeBatch(db, batch, teamChannelUrls);
      } catch (err) {
        refusedForData(err, DATA_ERROR_HINT);
      }
      if (batch.notifications.length > 0) lettersWritten?.(batch.caseId);
    },

    /** Keeps a refused batch for repair, as JSON text (escapes make any text storable). */
    async recordProjectionIncident(incident: ProjectionIncident): Promise<void> {
      const { batch } = incident;
      await db
        .insert(projectionIncidents)
        .values({
          caseId: incident.caseId,
          runId: incident.runId,
          version: incident.version,
          branch: batch.view.branch.replaceAll('\u0000', ''),
          error: incident.error.replaceAll('\u0000', ''),
          eventTypes: batch.events.map((e) => e.type),
          batch: JSON.stringify(batch),
        })
        .onConflictDoNothing();
    },
  };
}

async function writeBatch(db: Database, batch: ProjectionBatch, teamChannelUrls: readonly string[]): Promise<void> {
  await db.transaction((tx) => writeBatchIn(tx, batch, teamChannelUrls));
}

/**
 * Writes one batch within the caller's transaction: the activity's, or the API's when it writes
 * the batch an update answered with (db/answered-batch.ts). The second writer of a batch finds
 * the ledger row holding it and stops there; a batch of an earlier episode, which never moves the
 * row, is written with idempotent inserts.
 */
export async function writeBatchIn(tx: Transaction, batch: ProjectionBatch, teamChannelUrls: readonly string[]): Promise<void> {
  const client = transactionClient(tx);
  const [written] = await runStatement<RowHead>(client, upsertCase, { ...caseRow(batch), batchEpisode: batch.episode ?? null });
  const head = written ?? (await runStatement<RowHead>(client, caseHead, { caseId: batch.caseId }))[0]!;
  const row = { episode: head.episode, runId: head.run_id };
  const current = row.runId === batch.episodeRunId;
  if (!written && current) {
    // The row holds this batch already: the API wrote the batch its update answered with, or an
    // earlier attempt committed. A run's batches reach the row in order, each in one transaction
    // with its events, payments and tasks, so all of it is there. Only the team channel's posts
    // are this writer's (the API leaves them out), keyed by event so a retry queues none twice.
    if (batch.events.length > 0) await enqueueTeamChannel(tx, batch, teamChannelUrls);
    return;
  }
  // A late batch of an earlier episode still lands in its own episode's trail.
  const episode = batch.episode ?? (current ? row.episode : row.episode - 1);

  if (batch.parties && current) {
    await tx.delete(caseParties).where(eq(caseParties.caseId, batch.caseId));
    const { borrower, guarantors } = batch.parties;
    await tx.insert(caseParties).values([
      { caseId: batch.caseId, role: 'borrower' as const, position: 0, ...borrower },
      ...guarantors.map((g, position) => ({ caseId: batch.caseId, role: 'guarantor' as const, position, ...g })),
    ]);
  }
  if (batch.events.length > 0) {
    const rows = batch.events.map((e) => ({ ...trailColumns(e, batch.runId), caseId: batch.caseId, episode }));
    await runStatement(client, insertEvents(rows.length), rowValues(EVENT_KEYS, rows));
    // With its events, in their transaction: a result is queued once, and never without them.
    await enqueueTeamChannel(tx, batch, teamChannelUrls);
  }
  if (batch.payments.length > 0) {
    await tx
      .insert(payments)
      .values(
        batch.payments.map((p) => ({
          caseId: batch.caseId,
          episode,
          reference: p.reference,
          amount: p.amount,
          currency: batch.view.currency,
          paidAt: new Date(p.paidAt),
          receivedAt: new Date(p.receivedAt),
          eventId: p.eventId,
          recordedBy: p.recordedBy,
          payer: p.payer ?? 'borrower',
          allocation: p.allocation ?? null,
        })),
      )
      .onConflictDoNothing();
  }
  if (batch.measures?.length) {
    const branch = batch.view.branch;
    await tx
      .insert(caseMeasures)
      .values(batch.measures.map((m) => ({ ...m, parties: m.parties ?? [], schedule: m.schedule ?? null, covers: m.covers ?? null, proceeds: m.proceeds ?? null, caseId: batch.caseId, episode, branch, proposedAt: new Date(m.proposedAt), startedAt: m.startedAt ? new Date(m.startedAt) : null, endedAt: m.endedAt ? new Date(m.endedAt) : null, version: batch.version })))
      .onConflictDoUpdate({
        target: caseMeasures.measureId,
        set: Object.fromEntries(MEASURE_COLUMNS.map((key) => [key, sql.raw(`excluded."${caseMeasureColumns[key].name}"`)])),
        setWhere: sql`${caseMeasures.version} < excluded.version`,
      });
  }
  if (batch.notifications.length > 0) {
    // One row per recipient party, each with its idempotency key (activities/outbox.ts).
    await writeOutbox(tx, batch);
  }
  if (batch.tasks.length > 0) {
    const rows = batch.tasks.map((t) => ({ ...t, caseId: batch.caseId, dueAt: new Date(t.dueAt) }));
    await runStatement(client, insertTasks(rows.length), rowValues(TASK_KEYS, rows));
  }
  if (batch.reassignTasksTo) {
    await tx
      .update(officerTasks)
      .set({ officerId: batch.reassignTasksTo })
      .where(and(eq(officerTasks.caseId, batch.caseId), eq(officerTasks.status, 'open')));
  }
  // Work left open on a closed case would sit in officers' lists for ever.
  if (current && CLOSED_STAGES.includes(batch.view.stage as CaseStage)) {
    await tx
      .update(officerTasks)
      .set({ status: 'cancelled' })
      .where(and(eq(officerTasks.caseId, batch.caseId), eq(officerTasks.status, 'open')));
  }
}
