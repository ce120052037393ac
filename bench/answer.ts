/**
 * `npm run bench:answer`: an officer's payment from request to the answer that shows it in the
 * ledger (`POST /v1/cases/:caseId/payments` through the app, in process), against a raw update
 * round trip on the minimal workflow (bench/baseline-workflow.ts: the update answers once the
 * wake it caused has recorded its marker), on the same Temporal dev server and in the same run.
 * Median and p99 of each; goal: the payment's median at 1.5× the raw update's or better. Prints
 * a table and writes its section of bench/RESULTS.md. Asserts no timings.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:answer
 *
 * Tunables (environment): BENCH_ANSWER_PAYMENTS (200), BENCH_ANSWER_CASES (10: payments go
 * round the cases, one at a time, as officers' payments arrive).
 *
 * A payment and a raw update alternate, one at a time, so that both meet the same load.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { buildApp } from '../api/app';
import { signToken } from '../api/auth/tokens';
import { loadConfig } from '../config';
import { createDatabase } from '../db/client';
import { latestPolicy } from '../db/policies';
import { createLogger } from '../logger';
import { openCase } from '../temporal/open-case';
import { OFFICER, SYSTEM, daysAgo, newLoan } from '../test/support/fixtures';
import { minimalWorkflow, pokeByActivityUpdate, pokeUpdate } from './baseline-workflow';
import { envInt, machineLines, met, quantile, writeSection } from './common';
import { Cleanups, createBenchDatabase, startTemporal } from './services';
import { startBenchWorkers } from './workers';

const SETTINGS = {
  payments: envInt('BENCH_ANSWER_PAYMENTS', 200),
  cases: envInt('BENCH_ANSWER_CASES', 10),
};
const GOAL = 1.5;
const WARM_UP = 10;
const AMOUNT = 1_000;

const EventType = proto.temporal.api.enums.v1.EventType;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds?.toString() ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

/** Where a payment's time goes on the server, from one case's history (the server's event
 * times): the task that accepts the update and answers it with its batch (patch
 * `answer-with-batch`), and the projection activity that writes the same batch after the answer.
 * Each span: the medians over the case's payments. */
function serverSpans(events: HistoryEvent[]): Record<string, number[]> {
  const spans: Record<string, number[]> = { answeringTask: [], activityWait: [], activityRun: [], answeredBeforeActivity: [] };
  events.forEach((event, i) => {
    if (event.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) return;
    const before = events.slice(0, i).reverse();
    const scheduled = before.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    const after = events.slice(i);
    const updateCompleted = after.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED);
    const activityScheduled = after.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    const activityStarted = after.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    const activityCompleted = after.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    if (!scheduled || !updateCompleted || !activityScheduled || !activityStarted || !activityCompleted) return;
    spans.answeringTask!.push(eventMs(updateCompleted) - eventMs(scheduled));
    spans.activityWait!.push(eventMs(activityStarted) - eventMs(activityScheduled));
    spans.activityRun!.push(eventMs(activityCompleted) - eventMs(activityStarted));
    spans.answeredBeforeActivity!.push(Number(updateCompleted.eventId) < Number(activityCompleted.eventId) ? 1 : 0);
  });
  return spans;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const cleanups = new Cleanups();
  const started = Date.now();
  const log = (message: string) => console.error(`[bench:answer ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
  try {
    log('starting a Temporal dev server and a PostgreSQL database…');
    const [temporal, database] = await Promise.all([startTemporal(cleanups), createBenchDatabase(cleanups)]);
    const config = loadConfig({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '100000000' });
    const handle = createDatabase(database.url, config.DATABASE_POOL_MAX);
    cleanups.push('database pool', () => handle.close());
    const { db } = handle;
    const quiet = createLogger('silent');
    const { client, taskQueue, baselineQueue, runWhile } = await startBenchWorkers(temporal, db, 'answer', log);
    const app = await buildApp({ config: { ...config, TEMPORAL_TASK_QUEUE: taskQueue }, db, temporal: client, logger: quiet });
    cleanups.push('API', () => app.close());
    const authorization = `Bearer ${signToken(config.JWT_SECRET, { role: OFFICER.role as 'officer', sub: OFFICER.sub, branch: 'BR01' }, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE })}`;

    /** The bench database's counters; PostgreSQL publishes a backend's within a second of its
     * going idle, hence the wait. Only the payments write in the measured loop. */
    const databaseWrites = async () => {
      await sleep(1_500);
      await handle.pool.query('select pg_stat_clear_snapshot()');
      const { rows } = await handle.pool.query<{ commits: string; inserted: string; updated: string; deleted: string }>(
        'select xact_commit as commits, tup_inserted as inserted, tup_updated as updated, tup_deleted as deleted from pg_stat_database where datname = current_database()',
      );
      const r = rows[0]!;
      return { commits: Number(r.commits), inserted: Number(r.inserted), updated: Number(r.updated), deleted: Number(r.deleted) };
    };

    const measured = await runWhile(async () => {
      const policy = (await latestPolicy(db, 'standard'))!;
      log(`opening ${SETTINGS.cases} cases and starting ${SETTINGS.cases} minimal workflows…`);
      const caseIds: string[] = [];
      const recovered = new Map<string, number>();
      for (let i = 0; i < SETTINGS.cases; i++) {
        const opened = await openCase(client, db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan: newLoan({ overdueSince: daysAgo(3) }), policy });
        caseIds.push(opened.case.caseId);
        recovered.set(opened.case.caseId, opened.case.recovered);
      }
      const minimal: WorkflowHandle[] = [];
      for (let i = 0; i < SETTINGS.cases; i++) {
        minimal.push(
          await client.workflow.start(minimalWorkflow, { taskQueue: baselineQueue, workflowId: `bench-answer-minimal-${randomUUID()}`, args: [{ timerWakes: 0, timerMs: 1 }] }),
        );
      }
      cleanups.push('minimal workflows', () => Promise.all(minimal.map((h) => h.terminate('benchmark done').catch(() => undefined))));

      const payment = async (i: number): Promise<number> => {
        const caseId = caseIds[i % caseIds.length]!;
        const t0 = performance.now();
        const res = await app.inject({
          method: 'POST',
          url: `/v1/cases/${caseId}/payments`,
          headers: { authorization, 'idempotency-key': randomUUID() },
          payload: { amount: AMOUNT, paidAt: new Date().toISOString(), reference: `BENCH-${i}-${randomUUID().slice(0, 8)}` },
        });
        const ms = performance.now() - t0;
        if (res.statusCode !== 200) throw new Error(`payment ${i} on ${caseId}: ${res.statusCode} ${res.body}`);
        const shown = (res.json() as { recovered: number }).recovered;
        // The answer must show this payment in the ledger, not an earlier state.
        if (shown !== recovered.get(caseId)! + AMOUNT) throw new Error(`payment ${i}: the answer shows recovered ${shown}, expected ${recovered.get(caseId)! + AMOUNT}`);
        recovered.set(caseId, shown);
        return ms;
      };
      const rawUpdate = async (i: number): Promise<number> => {
        const t0 = performance.now();
        await minimal[i % minimal.length]!.executeUpdate(pokeUpdate, { updateId: randomUUID() });
        return performance.now() - t0;
      };
      const activityUpdate = async (i: number): Promise<number> => {
        const t0 = performance.now();
        await minimal[i % minimal.length]!.executeUpdate(pokeByActivityUpdate, { updateId: randomUUID() });
        return performance.now() - t0;
      };
      log(`warming up (${WARM_UP} of each)…`);
      for (let i = 0; i < WARM_UP; i++) {
        await payment(i);
        await rawUpdate(i);
        await activityUpdate(i);
      }
      const writesBefore = await databaseWrites();
      log(`${SETTINGS.payments} payments and as many raw updates, alternating…`);
      const payments: number[] = [];
      const updates: number[] = [];
      const activityUpdates: number[] = [];
      for (let i = 0; i < SETTINGS.payments; i++) {
        payments.push(await payment(WARM_UP + i));
        updates.push(await rawUpdate(WARM_UP + i));
        activityUpdates.push(await activityUpdate(WARM_UP + i));
        if ((i + 1) % 50 === 0) log(`${i + 1}/${SETTINGS.payments}`);
      }
      const writesAfter = await databaseWrites();
      const writes = Object.fromEntries(Object.entries(writesAfter).map(([k, v]) => [k, (v - writesBefore[k as keyof typeof writesBefore]) / SETTINGS.payments])) as typeof writesAfter;
      const spans = serverSpans((await client.workflow.getHandle(caseIds[0]!).fetchHistory()).events ?? []);
      return { payments, updates, activityUpdates, writes, spans };
    });

    const p = (xs: number[], q: number) => quantile(xs, q);
    const median = { payment: p(measured.payments, 0.5), update: p(measured.updates, 0.5) };
    const p99 = { payment: p(measured.payments, 0.99), update: p(measured.updates, 0.99) };
    const ratio = median.payment / median.update;
    const table = [
      '| Round trip | n | Median ms | p90 ms | p99 ms |',
      '|---|---|---|---|---|',
      `| Officer's payment: \`POST /v1/cases/:caseId/payments\` → 200 with the ledger row showing it | ${measured.payments.length} | ${median.payment.toFixed(1)} | ${p(measured.payments, 0.9).toFixed(1)} | ${p99.payment.toFixed(1)} |`,
      `| Raw update on the minimal workflow (\`executeUpdate\`, answered after a local-activity marker) | ${measured.updates.length} | ${median.update.toFixed(1)} | ${p(measured.updates, 0.9).toFixed(1)} | ${p99.update.toFixed(1)} |`,
      `| Update on the minimal workflow answered after an ordinary activity (the case's projection shape, \`pokeByActivity\`) | ${measured.activityUpdates.length} | ${p(measured.activityUpdates, 0.5).toFixed(1)} | ${p(measured.activityUpdates, 0.9).toFixed(1)} | ${p(measured.activityUpdates, 0.99).toFixed(1)} |`,
      '',
      `Payment against the update answered after an ordinary activity: median ${(median.payment / p(measured.activityUpdates, 0.5)).toFixed(2)}× (below 1: the answer no longer waits for the projection's round trip).`,
      `Where a payment's time goes on the server (medians over the ${measured.spans.answeringTask!.length} payments of one case, from its history's event times): the task that accepts the update and answers it with its batch ${p(measured.spans.answeringTask!, 0.5).toFixed(1)} ms (answered before the projection activity completed: ${measured.spans.answeredBeforeActivity!.filter((x) => x === 1).length} of ${measured.spans.answeredBeforeActivity!.length}); the projection activity, after the answer, waiting for a worker ${p(measured.spans.activityWait!, 0.5).toFixed(1)} ms and running ${p(measured.spans.activityRun!, 0.5).toFixed(1)} ms. The rest of the ${median.payment.toFixed(1)} ms is the API: token, the case read before, the update's call, its write of the batch (db/answered-batch.ts) and the row read back.`,
      `PostgreSQL per payment (the bench database's \`pg_stat_database\` over the loop): ${measured.writes.inserted.toFixed(1)} rows inserted, ${measured.writes.updated.toFixed(1)} updated, ${measured.writes.deleted.toFixed(1)} deleted, ${measured.writes.commits.toFixed(1)} transactions committed (reads included).`,
      `Payment against raw update: median **${ratio.toFixed(2)}×** (goal ≤ ${GOAL}×: ${met(ratio <= GOAL)}), p99 ${(p99.payment / p99.update).toFixed(2)}×.`,
    ];
    console.log('');
    for (const line of table) console.log(line);
    writeSection('answer', [
      "## Officer's answer (issue 10 §3)",
      '',
      "Written by `npm run bench:answer` (bench/answer.ts): an officer's payment through the API (`app.inject`, the whole",
      'route: token, case read and access check, update with its update id, the case applying it and answering with the',
      'batch that holds it, the API writing that batch to the ledger (patch `answer-with-batch`; the projection activity',
      'after it finds the batch held and queues only its team-channel posts), the ledger row read back and serialized), against a raw update round trip',
      'on the minimal workflow, whose update answers once its wake recorded a local-activity marker; same dev server, same',
      'run, one at a time and alternating (a third row: the same update answered after an ordinary activity, the shape of',
      `the case's answer between patches \`projection-after-task\` and \`answer-with-batch\`). Payments of ${AMOUNT} minor units go round ${SETTINGS.cases} cases opened with the standard policy; each`,
      "answer is checked to show its own payment in `recovered`. The case's worker and the minimal workflow's run in this process.",
      '',
      ...machineLines([
        `- Temporal: ${temporal.cliVersion} (dev server, in memory); PostgreSQL ${database.version}, ${database.source}`,
        `- ${SETTINGS.payments} payments over ${SETTINGS.cases} cases (BENCH_ANSWER_PAYMENTS, BENCH_ANSWER_CASES), after ${WARM_UP} uncounted of each`,
      ]),
      '',
      ...table,
    ]);
    console.log('\nWritten to bench/RESULTS.md');
  } finally {
    log('stopping the servers…');
    await cleanups.runAll();
    log('done');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof AggregateError ? err.errors.map(String).join('\n') : err);
  process.exitCode = 1;
});
