/**
 * `npm run bench:intake`: the daily intake's throughput on a real Temporal dev
 * server and a real PostgreSQL, against opening the same loans with raw `client.workflow.start`
 * of a minimal workflow at the same concurrency, measured in the same run. Prints a table and
 * writes its section of bench/RESULTS.md. Goal: intake at 0.9× the raw starts or better.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:intake
 *   BENCH_INTAKE_ROWS=500 npm run bench:intake     # a quick try
 *
 * Tunables (environment): BENCH_INTAKE_ROWS (10000), BENCH_INTAKE_CONCURRENCY (32).
 *
 * The intake runs as the endpoint and the schedule run it (api/intake/take.ts: every row checked;
 * per chunk of rows the ledger read, the policies and officers looked up, the parties written and
 * the report kept; each case started, answered once Temporal has accepted it). The baseline asks
 * the server to start a minimal workflow, answered just the same. So that nobody reads the first
 * figure as more than it is, the bench also times how long until every opened case is in the
 * ledger (its first workflow task run and projected). A second pass of the same list, once the
 * ledger holds it (every row a repeat), is measured too.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { takeIntake } from '../api/intake/take';
import { DEVELOPMENT_HOUSEHOLD_KEY } from '../config';
import { createDatabase, type Database } from '../db/client';
import { cases } from '../db/schema';
import { createLogger } from '../logger';
import { dataConverterFrom } from '../temporal/codec';
import { WORKFLOWS_PATH, createCaseWorker } from '../worker';
import type { IntakeCounts } from '../api/schemas/intake';
import { minimalWorkflow, type BaselineActivities } from './baseline-workflow';
import { Cleanups, createBenchDatabase, startTemporal } from './services';
import { RESULTS_PATH, envInt, writeSection } from './common';
import { daysAgo, newLoan } from '../test/support/fixtures';

const BASELINE_WORKFLOW_PATH = fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url));
const GOAL_RATIO = 0.9;
const NEW_LOANS = 'intake, every row a new loan (answered once Temporal accepted the case)';
const QUEUED_ONLY = 'intake of other new loans, no case worker running (the cases left queued)';


const SETTINGS = {
  rows: envInt('BENCH_INTAKE_ROWS', 10_000),
  concurrency: envInt('BENCH_INTAKE_CONCURRENCY', 32),
};

/** A list of `n` overdue loans, as the JSON form's rows, without officers (assigned at intake);
 * its loan ids share the list's own prefix. */
function overdueList(n: number): { prefix: string; rows: Record<string, unknown>[] } {
  const prefix = `BI${randomUUID().slice(0, 8).toUpperCase()}-`;
  const rows = Array.from({ length: n }, (_, i) => {
    const { overdue, officerId: _officer, ...facts } = newLoan({ loanId: `${prefix}${i}`, overdueSince: daysAgo(1 + (i % 60)) });
    return { ...facts, overdueAmount: overdue };
  });
  return { prefix, rows };
}

/** Waits until the ledger holds a case for every loan of the list, logging as it fills. */
async function untilInLedger(db: Database, prefix: string, total: number, log: (m: string) => void): Promise<void> {
  let logged = -1;
  for (;;) {
    const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from ${cases} where ${cases.caseId} like ${`case-${prefix}%`}`);
    const n = rows[0]!.n;
    if (n >= total) return;
    if (n >= logged + Math.max(1, Math.floor(total / 10))) {
      log(`ledger: ${n}/${total} cases`);
      logged = n;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Logs progress at every tenth of the rows. */
function progress(what: string, log: (m: string) => void, started: number): (done: number, total: number) => void {
  let next = 0;
  return (done, total) => {
    if (done < next && done !== total) return;
    next = done + Math.max(1, Math.floor(total / 10));
    const seconds = (Date.now() - started) / 1000;
    log(`${what}: ${done}/${total} rows, ${(done / Math.max(seconds, 0.001)).toFixed(1)} rows/s`);
  };
}

async function inPool<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

interface Measure {
  what: string;
  rows: number;
  seconds: number;
  perSecond: number;
  counts?: IntakeCounts;
}

const measure = (what: string, rows: number, startedMs: number, counts?: IntakeCounts): Measure => {
  const seconds = (Date.now() - startedMs) / 1000;
  return { what, rows, seconds, perSecond: rows / seconds, ...(counts ? { counts } : {}) };
};

function table(measures: Measure[], ratio: number, ledgerSeconds: number): string[] {
  const intake = measures.find((m) => m.what === NEW_LOANS)!;
  const queued = measures.find((m) => m.what === QUEUED_ONLY)!;
  return [
    '| Measure | Rows | Seconds | Rows/s |',
    '|---|---|---|---|',
    ...measures.map((m) => `| ${m.what} | ${m.rows} | ${m.seconds.toFixed(1)} | ${m.perSecond.toFixed(1)} |`),
    '',
    `Intake of new loans against raw starts: **${ratio.toFixed(2)}×** (goal ≥ ${GOAL_RATIO}×: ${ratio >= GOAL_RATIO ? 'met' : '**MISSED**'}).`,
    `Every opened case in the ledger **${ledgerSeconds.toFixed(1)} s** after the intake began (${(intake.rows / ledgerSeconds).toFixed(1)} cases/s): ` +
      'the intake answers once Temporal has accepted each case; the workers run and project them after.',
    `With no case running beside it: ${(queued.perSecond / measures[0]!.perSecond).toFixed(2)}× the raw starts ` +
      "(the gap to the figure above is the case workers' own work, on the same CPUs as the intake and the server).",
  ];
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const cleanups = new Cleanups();
  const started = Date.now();
  const log = (message: string) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
  try {
    log(`intake of ${SETTINGS.rows} rows at concurrency ${SETTINGS.concurrency}; starting a Temporal dev server and a PostgreSQL database…`);
    const [temporal, database] = await Promise.all([startTemporal(cleanups), createBenchDatabase(cleanups)]);
    const handle = createDatabase(database.url, Math.max(10, SETTINGS.concurrency + 2));
    cleanups.push('database pool', () => handle.close());
    const { db } = handle;
    const quiet = createLogger('silent');
    log('bundling the case workflows and the minimal workflow…');
    const [caseBundle, baselineBundle] = await Promise.all([
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet as never }),
      bundleWorkflowCode({ workflowsPath: BASELINE_WORKFLOW_PATH, logger: quiet as never }),
    ]);
    const dataConverter = dataConverterFrom(process.env);
    const client = new Client({ connection: temporal.env.connection, dataConverter });
    const taskQueue = `bench-intake-${randomUUID()}`;
    const baselineQueue = `bench-minimal-${randomUUID()}`;
    const caseWorkers = await createCaseWorker({
      connection: temporal.env.nativeConnection,
      namespace: 'default',
      taskQueue,
      db,
      logger: quiet,
      sweepIntervalMs: 0,
      workflowBundle: caseBundle,
      shutdownGraceTime: '5s',
      dataConverter,
    });
    const baselineActivities: BaselineActivities = { mark: async () => undefined };
    const baselineWorker = await Worker.create({
      connection: temporal.env.nativeConnection,
      namespace: 'default',
      taskQueue: baselineQueue,
      workflowBundle: baselineBundle,
      activities: baselineActivities,
      dataConverter,
    });

    let ledgerSeconds = NaN;
    const measures = await caseWorkers.runUntil(() =>
      baselineWorker.runUntil(async () => {
        const { prefix, rows: list } = overdueList(SETTINGS.rows);
        const results: Measure[] = [];
        const deps = { db, temporal: client, taskQueue, householdKey: DEVELOPMENT_HOUSEHOLD_KEY, concurrency: SETTINGS.concurrency };
        const caller = { sub: 'bench', role: 'system' as const, branch: null };
        // Uncounted: the first cases pay for the worker's cold start (bundle load, JIT, pools).
        const warmUp = overdueList(Math.min(100, Math.ceil(SETTINGS.rows / 10)));
        log(`warming up with ${warmUp.rows.length} cases…`);
        await takeIntake(deps, { runId: `bench-warm-up-${randomUUID()}`, source: 'api', file: null, caller, rows: warmUp.rows });
        await untilInLedger(db, warmUp.prefix, warmUp.rows.length, log);

        log('raw starts of the minimal workflow…');
        let startedMs = Date.now();
        const report = progress('raw starts', log, startedMs);
        let done = 0;
        await inPool(list, SETTINGS.concurrency, async (row) => {
          await client.workflow.start(minimalWorkflow, {
            taskQueue: baselineQueue,
            workflowId: `minimal-${String(row.loanId)}`,
            args: [{ timerWakes: 0, timerMs: 1 }],
          });
          report(++done, list.length);
        });
        results.push(measure('raw `client.workflow.start` (minimal workflow)', list.length, startedMs));

        // The intake's own cost: the same path for loans of their own on a task queue no worker
        // polls, so that no case runs beside it (their cases wait, and go with the dev server).
        const queued = overdueList(SETTINGS.rows);
        log('intake with no case worker running (cases left queued)…');
        startedMs = Date.now();
        const alone = await takeIntake(
          { ...deps, taskQueue: `bench-unpolled-${randomUUID()}` },
          { runId: `bench-${randomUUID()}`, source: 'api', file: null, caller, rows: queued.rows, onProgress: progress('intake, no worker', log, startedMs) },
        );
        results.push(measure(QUEUED_ONLY, queued.rows.length, startedMs, alone.counts));

        log('intake of the list (every row a new loan)…');
        startedMs = Date.now();
        const first = await takeIntake(deps, { runId: `bench-${randomUUID()}`, source: 'api', file: null, caller, rows: list, onProgress: progress('intake', log, startedMs) });
        results.push(measure(NEW_LOANS, list.length, startedMs, first.counts));
        if (first.counts.created !== list.length) throw new Error(`intake created ${first.counts.created} of ${list.length}: ${JSON.stringify(first.results.find((r) => r.outcome !== 'created'))}`);
        log('until every opened case is in the ledger…');
        await untilInLedger(db, prefix, list.length, log);
        ledgerSeconds = (Date.now() - startedMs) / 1000;
        log(`every case in the ledger ${ledgerSeconds.toFixed(1)} s after the intake began`);

        log('the same list again (every row a repeat)…');
        startedMs = Date.now();
        const second = await takeIntake(deps, { runId: `bench-${randomUUID()}`, source: 'api', file: null, caller, rows: list, onProgress: progress('repeat', log, startedMs) });
        results.push(measure('the same list again, every row a repeat', list.length, startedMs, second.counts));
        return results;
      }),
    );

    const intake = measures.find((m) => m.what === NEW_LOANS)!;
    const ratio = intake.perSecond / measures[0]!.perSecond;
    const lines = table(measures, ratio, ledgerSeconds);
    console.log('');
    for (const line of lines) console.log(line);
    const machine = [
      `- Date: ${new Date().toISOString()}`,
      `- CPUs: ${os.cpus().length}, ${os.cpus()[0]?.model ?? 'unknown'}; Node.js ${process.version}`,
      `- Temporal: ${temporal.cliVersion} (dev server, in memory); PostgreSQL ${database.version}, ${database.source}`,
      `- Rows: ${SETTINGS.rows}, concurrency ${SETTINGS.concurrency} (BENCH_INTAKE_ROWS, BENCH_INTAKE_CONCURRENCY)`,
      `- Load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(', ')} (other processes share the CPUs)`,
      ...(SETTINGS.rows < 10_000 ? [`- **Provisional**: ${SETTINGS.rows} rows, not the issue's 10,000`] : []),
    ];
    writeSection('intake', [
      '## Daily intake throughput (issue 8)',
      '',
      'Written by `npm run bench:intake` (bench/intake.ts): the intake (api/intake, as the endpoint and the schedule run it) against',
      'raw `client.workflow.start` of the minimal workflow for the same loans at the same concurrency, in the same run.',
      'Both answer once the server has accepted the workflow: an intake row does not wait for its case\'s first task nor its',
      'ledger row (its report row is kept with its chunk\'s). The ledger figure below says when the cases were all there.',
      '',
      ...machine,
      '',
      ...lines,
    ]);
    console.log(`\nWritten to ${RESULTS_PATH}`);
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
