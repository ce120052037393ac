/**
 * `npm run bench:intake`: the daily intake's throughput on a real Temporal dev
 * server and a real PostgreSQL, against opening the same loans with raw `client.workflow.start`
 * of a minimal workflow at the same concurrency, measured in the same run. Prints a table and
 * writes its section of bench/RESULTS.md. Goal: intake at 0.9× the raw starts or better.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:intake
 *   BENCH_INTAKE_ROWS=500 npm run bench:intake     # a quick try
 *
 * Tunables (environment): BENCH_INTAKE_ROWS (10000), BENCH_INTAKE_CONCURRENCY (32),
 * BENCH_INTAKE_SINGLE (1000 loans opened one per `POST /v1/cases`).
 *
 * The intake runs as the endpoint and the schedule run it (api/intake/take.ts: every row checked;
 * per chunk of rows the ledger read, the policies and officers looked up, the parties written and
 * the report kept; each case started, answered once Temporal has accepted it). The baselines ask
 * the server to start the case workflow itself (for other loans, their parties stored beforehand)
 * and a minimal workflow, answered just the same. `POST /v1/cases`, one loan per request, is
 * measured against the same minimal baseline. So that nobody reads the first
 * figure as more than it is, the bench also times how long until every opened case is in the
 * ledger (its first workflow task run and projected). A second pass of the same list, once the
 * ledger holds it (every row a repeat), is measured too.
 *
 * On a machine whose CPUs the API, the workers, the dev server and PostgreSQL all share, a rate
 * is bounded by the CPU each row costs them together: the raw minimal starts and `POST /v1/cases`
 * are measured with the CPU time of each process group (/proc, Linux), from the first call until
 * their work has settled, divided by the rows.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { sql } from 'drizzle-orm';
import { buildApp } from '../api/app';
import { signToken } from '../api/auth/tokens';
import { takeIntake } from '../api/intake/take';
import { DEVELOPMENT_HOUSEHOLD_KEY, loadConfig } from '../config';
import { createDatabase, type Database } from '../db/client';
import { storeCasesParties } from '../db/parties';
import { latestPolicy } from '../db/policies';
import { cases } from '../db/schema';
import { workflowIdForLoan, type CaseIntake, type LoanIntake } from '../domain';
import { createLogger } from '../logger';
import { startCase } from '../temporal/open-case';
import type { IntakeCounts } from '../api/schemas/intake';
import { minimalWorkflow } from './baseline-workflow';
import { cpuBetween, sampleCpu, type CpuGroups } from './cpu';
import { Cleanups, createBenchDatabase, startTemporal } from './services';
import { startBenchWorkers } from './workers';
import { RESULTS_PATH, envInt, writeSection } from './common';
import { daysAgo, newLoan } from '../test/support/fixtures';

const GOAL_RATIO = 0.9;
const RAW_MINIMAL = 'raw `client.workflow.start` (minimal workflow)';
const RAW_CASES = 'raw `client.workflow.start` of the case workflow (other new loans, parties stored beforehand)';
const NEW_LOANS = 'intake, every row a new loan (answered once Temporal accepted the case)';
const QUEUED_ONLY = 'intake of other new loans, no case worker running (the cases left queued)';
const SINGLE = '`POST /v1/cases`, one loan per request (answered with the case in the ledger)';


const SETTINGS = {
  rows: envInt('BENCH_INTAKE_ROWS', 10_000),
  concurrency: envInt('BENCH_INTAKE_CONCURRENCY', 32),
  /** Loans opened one per `POST /v1/cases` (each answers only once its case is in the ledger). */
  single: envInt('BENCH_INTAKE_SINGLE', 1_000),
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

const SETTLE_TAIL_MS = 3_000;

/** Waits until the cases opened so far have done their opening work (their letters sent), so
 * that the next measure starts on a quiet worker and server. */
async function settle(db: Database, log: (m: string) => void): Promise<void> {
  for (;;) {
    const { rows } = await db.execute<{ n: number }>(sql`select count(*)::int as n from notification_outbox where status = 'pending'`);
    if (rows[0]!.n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_TAIL_MS));
  log('settled');
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
  /** CPU milliseconds per row, by process group, from the measure's start until its work settled. */
  cpuPerRow?: Record<string, number>;
}

/** This process (API, intake, workers, activities), the dev server, and PostgreSQL's backends. */
const CPU_GROUPS: CpuGroups = { pids: { node: [process.pid] }, commands: { temporal: 'temporal', postgres: 'postgres' } };
const CPU_COLUMNS = ['node', 'temporal', 'postgres'] as const;

/** CPU milliseconds per row spent since `before`, by group; undefined off Linux. */
function cpuPerRow(before: ReturnType<typeof sampleCpu>, rows: number): Record<string, number> | undefined {
  const use = cpuBetween(before, sampleCpu(CPU_GROUPS), os.availableParallelism());
  return use && Object.fromEntries(CPU_COLUMNS.map((group) => [group, ((use.seconds[group] ?? 0) * 1000) / rows]));
}

const measure = (what: string, rows: number, startedMs: number, counts?: IntakeCounts): Measure => {
  const seconds = (Date.now() - startedMs) / 1000;
  return { what, rows, seconds, perSecond: rows / seconds, ...(counts ? { counts } : {}) };
};

function table(measures: Measure[], ledgerSeconds: number): string[] {
  const of = (what: string) => measures.find((m) => m.what === what)!;
  const [minimal, rawCases, intake, queued, single] = [of(RAW_MINIMAL), of(RAW_CASES), of(NEW_LOANS), of(QUEUED_ONLY), of(SINGLE)];
  const against = (m: Measure, base: Measure) => m.perSecond / base.perSecond;
  const verdict = (ratio: number) => `**${ratio.toFixed(2)}×** (goal ≥ ${GOAL_RATIO}×: ${ratio >= GOAL_RATIO ? 'met' : '**MISSED**'})`;
  const cpuCells = (m: Measure) => CPU_COLUMNS.map((group) => (m.cpuPerRow ? m.cpuPerRow[group]!.toFixed(1) : '')).join(' | ');
  const cpuTotal = (m: Measure) => CPU_COLUMNS.reduce((sum, group) => sum + m.cpuPerRow![group]!, 0);
  return [
    '| Measure | Rows | Seconds | Rows/s | CPU ms per row: Node | Temporal | PostgreSQL |',
    '|---|---|---|---|---|---|---|',
    ...measures.map((m) => `| ${m.what} | ${m.rows} | ${m.seconds.toFixed(1)} | ${m.perSecond.toFixed(1)} | ${cpuCells(m)} |`),
    '',
    ...(single.cpuPerRow && minimal.cpuPerRow
      ? [
          `CPU per case opened, from the first request until its opening work was done (letters sent): \`POST /v1/cases\` ${cpuTotal(single).toFixed(1)} ms ` +
            `against ${cpuTotal(minimal).toFixed(1)} ms for a raw start of the minimal workflow and its one workflow task (${(cpuTotal(single) / cpuTotal(minimal)).toFixed(1)}×). ` +
            `On ${os.availableParallelism()} CPUs that all three processes share, that ratio, not the calls' latency, bounds the rate.`,
          '',
        ]
      : []),
    `Intake of new loans against raw starts of the same case workflow (issue 8): ${verdict(against(intake, rawCases))}.`,
    `Intake of new loans against raw starts of the minimal workflow (issue 10 §1): ${verdict(against(intake, minimal))}.`,
    `\`POST /v1/cases\` against raw starts of the minimal workflow (issue 10 §1): ${verdict(against(single, minimal))}.`,
    `Every case the intake opened in the ledger **${ledgerSeconds.toFixed(1)} s** after the intake began (${(intake.rows / ledgerSeconds).toFixed(1)} cases/s): ` +
      'the intake answers once Temporal has accepted each case; the workers run and project them after.',
    `With no case running beside it: ${against(queued, minimal).toFixed(2)}× the minimal workflow's raw starts ` +
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
    const { client, taskQueue, baselineQueue, runWhile } = await startBenchWorkers(temporal, db, 'intake', log);

    const config = loadConfig({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '100000000' });
    const app = await buildApp({ config: { ...config, TEMPORAL_TASK_QUEUE: taskQueue }, db, temporal: client, logger: quiet });
    cleanups.push('app', () => app.close());
    const authorization = `Bearer ${signToken(config.JWT_SECRET, { role: 'system', sub: 'core-banking' }, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE })}`;

    let ledgerSeconds = NaN;
    const measures = await runWhile(async () => {
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
      let cpuBefore = sampleCpu(CPU_GROUPS);
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
      const minimalMeasure = measure(RAW_MINIMAL, list.length, startedMs);
      // As `settle` ends: the minimal workflows' first tasks run within this.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_TAIL_MS));
      results.push({ ...minimalMeasure, cpuPerRow: cpuPerRow(cpuBefore, list.length) });

      // The same case workflow the intake opens, started raw: the cases' work after the start
      // weighs on this baseline as on the intake.
      const raw = overdueList(SETTINGS.rows);
      const policy = (await latestPolicy(db, 'standard'))!;
      const intakes = raw.rows.map((row): CaseIntake => {
        const { overdueAmount, ...facts } = row as Record<string, unknown> & { overdueAmount: number };
        return { requestId: randomUUID(), by: { sub: 'bench', role: 'system' }, loan: { ...(facts as unknown as LoanIntake), overdue: overdueAmount, officerId: 'officer-bench' }, policy, episode: 1 };
      });
      for (let i = 0; i < intakes.length; i += 500) {
        await storeCasesParties(db, intakes.slice(i, i + 500).map((c) => ({ caseId: workflowIdForLoan(c.loan.loanId), parties: { borrower: c.loan.borrower, guarantors: c.loan.guarantors } })));
      }
      log('raw starts of the case workflow…');
      startedMs = Date.now();
      const reportCases = progress('raw case starts', log, startedMs);
      done = 0;
      await inPool(intakes, SETTINGS.concurrency, async (intake) => {
        if ((await startCase(client, taskQueue, intake)) !== 'started') throw new Error(`${intake.loan.loanId} was running already`);
        reportCases(++done, intakes.length);
      });
      results.push(measure(RAW_CASES, intakes.length, startedMs));
      log('until those cases are all in the ledger (so that the intake starts on a quiet worker)…');
      await untilInLedger(db, raw.prefix, intakes.length, log);
      await settle(db, log);

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

      await settle(db, log);
      log('the same list again (every row a repeat)…');
      startedMs = Date.now();
      const second = await takeIntake(deps, { runId: `bench-${randomUUID()}`, source: 'api', file: null, caller, rows: list, onProgress: progress('repeat', log, startedMs) });
      results.push(measure('the same list again, every row a repeat', list.length, startedMs, second.counts));

      // An officer (or the core system) opening one case at a time, each request answered with
      // the case in the ledger (update-with-start, the first batch written by the API).
      const singles = overdueList(SETTINGS.single);
      log(`${singles.rows.length} loans through \`POST /v1/cases\`…`);
      cpuBefore = sampleCpu(CPU_GROUPS);
      startedMs = Date.now();
      const reportSingle = progress('POST /v1/cases', log, startedMs);
      done = 0;
      await inPool(singles.rows, SETTINGS.concurrency, async (row) => {
        const { overdueAmount, ...facts } = row as Record<string, unknown> & { overdueAmount: number };
        const res = await app.inject({ method: 'POST', url: '/v1/cases', headers: { authorization, 'idempotency-key': randomUUID() }, payload: { ...facts, overdue: overdueAmount } });
        if (res.statusCode !== 201) throw new Error(`POST /v1/cases answered ${res.statusCode}: ${res.body}`);
        reportSingle(++done, singles.rows.length);
      });
      const singleMeasure = measure(SINGLE, singles.rows.length, startedMs);
      await settle(db, log);
      results.push({ ...singleMeasure, cpuPerRow: cpuPerRow(cpuBefore, singles.rows.length) });
      return results;
    });

    const lines = table(measures, ledgerSeconds);
    console.log('');
    for (const line of lines) console.log(line);
    const machine = [
      `- Date: ${new Date().toISOString()}`,
      `- CPUs: ${os.cpus().length}, ${os.cpus()[0]?.model ?? 'unknown'}; Node.js ${process.version}`,
      `- Temporal: ${temporal.cliVersion} (dev server, in memory); PostgreSQL ${database.version}, ${database.source}`,
      `- Rows: ${SETTINGS.rows}, concurrency ${SETTINGS.concurrency}; ${SETTINGS.single} through \`POST /v1/cases\` (BENCH_INTAKE_ROWS, BENCH_INTAKE_CONCURRENCY, BENCH_INTAKE_SINGLE)`,
      `- Load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(', ')} (other processes share the CPUs)`,
      ...(SETTINGS.rows < 10_000 ? [`- **Provisional**: ${SETTINGS.rows} rows, not the issue's 10,000`] : []),
    ];
    writeSection('intake', [
      '## Daily intake throughput (issue 8)',
      '',
      'Written by `npm run bench:intake` (bench/intake.ts): the intake (api/intake, as the endpoint and the schedule run it) against',
      'raw `client.workflow.start` at the same concurrency, in the same run: of the case workflow itself for other new loans',
      '(issue 8\'s baseline: the cases\' work after their start weighs on both), and of the minimal workflow (issue 10\'s).',
      'All answer once the server has accepted the workflow: an intake row does not wait for its case\'s first task nor its',
      'ledger row (its report row is kept with its chunk\'s). The ledger figure below says when the cases were all there.',
      '`POST /v1/cases` answers each loan with its case in the ledger (BENCH_INTAKE_SINGLE loans). The CPU columns are the',
      'CPU time of this process (API, intake and workers), the dev server and PostgreSQL\'s backends, per row, from the first',
      'call until the rows\' work had settled (the minimal workflows\' first tasks; the cases\' letters sent).',
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
