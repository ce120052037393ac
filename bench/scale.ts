/**
 * `npm run bench:scale`: how many cases one worker carries, on a real Temporal dev server and a
 * real PostgreSQL, with workers in processes of their own (bench/scale-worker.ts):
 *
 * 1. Memory: N open cases held in one worker's cache (maxCachedWorkflows raised to hold them
 *    all): the process's RSS and V8 heap after garbage collection, before and after, per case,
 *    against N minimal workflows that each wait on one timer and one signal, in the same run.
 *    Goal: at most 2× the minimal workflow's per-workflow memory.
 * 2. Escalation: M cases whose next hand falls due at one instant, with one worker process and
 *    then with two: the time from that instant until the ledger shows every one of them in its
 *    new hand. Goals: within one minute; the second worker adds at least half again (the time
 *    with two at most 2/3 of the time with one).
 *
 * Prints a table and writes its section of bench/RESULTS.md. Asserts no timings.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:scale
 *   BENCH_SCALE_CASES=10000 BENCH_SCALE_ESCALATING=1000 npm run bench:scale   # the issue's sizes
 *
 * Tunables (environment): BENCH_SCALE_CASES (N, 2000), BENCH_SCALE_ESCALATING (M, 300),
 * BENCH_SCALE_CONCURRENCY (16 cases opened at a time), BENCH_SCALE_ALLOCATOR (the worker
 * processes' malloc: jemalloc, as the image runs them, or glibc; bench/allocator.ts).
 *
 * The escalating cases run on a policy whose case day lasts 100 ms, hand 2 entering at day
 * 5,000 and the later hands a million days on. Each case's `overdueSince` is set, from the
 * instant it is opened, so that its day 5,000 falls at the chosen instant (to within one case
 * day, 100 ms, by the date's rounding). Opening takes time: the instant lies far enough ahead
 * for all of them to be open by then, and the run says so if they were not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { createDatabase } from '../db/client';
import { latestPolicy } from '../db/policies';
import { DAY_MS, msToDate } from '../domain';
import { createLogger } from '../logger';
import { dataConverterFrom } from '../temporal/codec';
import { openCase } from '../temporal/open-case';
import { PROJECT_ROOT } from '../tools/project-paths';
import { workflowBundleOptions } from '../worker';
import { SYSTEM, daysAgo, newLoan, testPolicy } from '../test/support/fixtures';
import { minimalWorkflow, pokeUpdate } from './baseline-workflow';
import { benchAllocator } from './allocator';
import { envInt, machineLines, met, writeSection } from './common';
import { cpuBetween, sampleCpu, type CpuUse } from './cpu';
import type { MemoryReport, ScaleWorkerSettings } from './scale-worker';
import { Cleanups, createBenchDatabase, startTemporal } from './services';

const BASELINE_WORKFLOW_PATH = fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url));
const SETTINGS = {
  cases: envInt('BENCH_SCALE_CASES', 2_000),
  escalating: envInt('BENCH_SCALE_ESCALATING', 300),
  /** Cases run through the whole ladder before their memory is measured. */
  laddered: envInt('BENCH_SCALE_LADDERED', 1_000),
  concurrency: envInt('BENCH_SCALE_CONCURRENCY', 16),
  /** Both kinds of worker process alike. */
  allocator: benchAllocator(),
};
const WARM_UP = 20;

/** The escalation window's CPU: how busy the machine was, and who used it. */
function cpuCells(cpu: CpuUse | undefined): string {
  if (!cpu) return 'n/a | n/a';
  const s = (group: string) => (cpu.seconds[group] ?? 0).toFixed(1);
  return `${(cpu.busy * 100).toFixed(0)}% | ${s('Temporal server')}, ${s('PostgreSQL')}, ${s('worker processes')}`;
}
const GOALS = { memoryRatio: 2, escalationMs: 60_000, secondWorkerSpeedUp: 1.5 };
/** The escalation policy's calendar (see the header). */
const ESCALATION = { dayMs: 100, entersAtDay: 5_000, laterHandsAtDay: 1_000_000 };
/** The standard ladder's days on a compressed calendar: 120 case days in 6 s. */
const LADDER_DAY_MS = 50;

interface ScaleWorker {
  pid: number;
  ready: Promise<void>;
  measure(): Promise<MemoryReport>;
  kill(): Promise<void>;
}

function spawnScaleWorker(settings: ScaleWorkerSettings): ScaleWorker {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(PROJECT_ROOT, 'bench/scale-worker.ts'), JSON.stringify(settings)], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...SETTINGS.allocator.env },
  });
  const exited = once(child, 'exit');
  const waiting: ((report: MemoryReport) => void)[] = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    void exited.then(() => reject(new Error(`a ${settings.kind} worker exited before it was ready`)));
  });
  ready.catch(() => undefined);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const message = JSON.parse(line) as MemoryReport | { ready: true };
    if ('ready' in message) onReady();
    else waiting.shift()?.(message);
  });
  return {
    pid: child.pid!,
    ready,
    measure: () =>
      new Promise<MemoryReport>((resolve) => {
        waiting.push(resolve);
        child.stdin!.write('measure\n');
      }),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

async function inPool(n: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
}

/** Polls the worker until it holds `count` workflows; answers its memory then. */
async function heldBy(worker: ScaleWorker, count: number, timeoutMs: number): Promise<MemoryReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await worker.measure();
    if (report.cached >= count) return report;
    if (Date.now() > deadline) throw new Error(`the worker holds ${report.cached} workflows, not ${count}, after ${timeoutMs} ms`);
    await sleep(1_000);
  }
}

interface MemoryResult {
  kind: 'case' | 'minimal';
  before: MemoryReport;
  after: MemoryReport;
  rssPerWorkflow: number;
  heapPerWorkflow: number;
  startsPerSecond: number;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const cleanups = new Cleanups();
  const started = Date.now();
  const log = (message: string) => console.error(`[bench:scale ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
  const workers: ScaleWorker[] = [];
  try {
    log('starting a Temporal dev server and a PostgreSQL database…');
    const [temporal, database] = await Promise.all([startTemporal(cleanups), createBenchDatabase(cleanups)]);
    const handle = createDatabase(database.url, SETTINGS.concurrency + 4);
    cleanups.push('database pool', () => handle.close());
    const { db } = handle;
    cleanups.push('worker processes', () => Promise.all(workers.map((w) => w.kill())));
    log('bundling the case workflows and the minimal workflow…');
    const quiet = createLogger('silent');
    const [caseBundle, baselineBundle] = await Promise.all([
      bundleWorkflowCode({ ...workflowBundleOptions(), logger: quiet as never }),
      bundleWorkflowCode({ ...workflowBundleOptions(BASELINE_WORKFLOW_PATH), logger: quiet as never }),
    ]);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-scale-'));
    cleanups.push('bundles', () => rm(dir, { recursive: true, force: true }));
    const bundles = { case: path.join(dir, 'cases.js'), minimal: path.join(dir, 'minimal.js') };
    await writeFile(bundles.case, caseBundle.code);
    await writeFile(bundles.minimal, baselineBundle.code);
    const client = new Client({ connection: temporal.env.connection, dataConverter: dataConverterFrom(process.env) });
    const standard = (await latestPolicy(db, 'standard'))!;
    const worker = (kind: ScaleWorkerSettings['kind'], taskQueue: string, maxCachedWorkflows: number) => {
      const w = spawnScaleWorker({ kind, temporalAddress: temporal.env.address, databaseUrl: database.url, taskQueue, bundlePath: bundles[kind], maxCachedWorkflows });
      workers.push(w);
      return w;
    };

    // A case opened today waits for hand 2, fifteen real days away: it only sits in the cache.
    const openQuietCase = (taskQueue: string) =>
      openCase(client, db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan: newLoan({ overdueSince: daysAgo(1) }), policy: standard });
    // Started as the cases are, answered once its first task has run: without that back-pressure
    // 10,000 starts outrun the worker and the server drowns in the backlog.
    const startMinimal = (taskQueue: string) =>
      client.workflow.executeUpdateWithStart(pokeUpdate, {
        startWorkflowOperation: new WithStartWorkflowOperation(minimalWorkflow, {
          taskQueue,
          workflowId: `bench-scale-minimal-${randomUUID()}`,
          args: [{ timerWakes: 1, timerMs: 3_600_000 }],
          workflowIdConflictPolicy: 'FAIL',
        }),
      });

    const measureMemory = async (kind: 'case' | 'minimal'): Promise<MemoryResult> => {
      const taskQueue = `bench-scale-${kind}-${randomUUID()}`;
      const w = worker(kind, taskQueue, SETTINGS.cases + WARM_UP + 100);
      await w.ready;
      const start = kind === 'case' ? () => openQuietCase(taskQueue) : () => startMinimal(taskQueue);
      await inPool(WARM_UP, SETTINGS.concurrency, async () => void (await start()));
      const before = await heldBy(w, WARM_UP, 60_000);
      log(`${kind}: ${WARM_UP} warm-up workflows held (RSS ${(before.rss / 2 ** 20).toFixed(0)} MiB); starting ${SETTINGS.cases}…`);
      const t0 = Date.now();
      let done = 0;
      await inPool(SETTINGS.cases, SETTINGS.concurrency, async () => {
        await start();
        if (++done % Math.max(1, Math.floor(SETTINGS.cases / 5)) === 0) log(`${kind}: ${done}/${SETTINGS.cases}`);
      });
      const startsPerSecond = SETTINGS.cases / ((Date.now() - t0) / 1000);
      await heldBy(w, WARM_UP + SETTINGS.cases, Math.max(300_000, SETTINGS.cases * 60));
      await sleep(2_000); // what the last tasks left behind settles
      const settled = await w.measure();
      await w.kill();
      return {
        kind,
        before,
        after: settled,
        rssPerWorkflow: (settled.rss - before.rss) / SETTINGS.cases,
        heapPerWorkflow: (settled.heapUsed - before.heapUsed) / SETTINGS.cases,
        startsPerSecond,
      };
    };

    // The same cases later in their run: the SDK's core keeps a state machine for every command
    // of a run, with an activity's arguments (a projected batch), until the run ends. Measured
    // once the ladder's tasks and letters are done.
    const measureLadderMemory = async () => {
      const taskQueue = `bench-scale-ladder-${randomUUID()}`;
      const w = worker('case', taskQueue, SETTINGS.laddered + WARM_UP + 100);
      await w.ready;
      await inPool(WARM_UP, SETTINGS.concurrency, async () => void (await openQuietCase(taskQueue)));
      const before = await heldBy(w, WARM_UP, 60_000);
      const policy = await testPolicy(db, { dayMs: LADDER_DAY_MS, entersAtDays: [] });
      log(`ladder: opening ${SETTINGS.laddered} cases that run the standard ladder to hand 6…`);
      const caseIds: string[] = [];
      await inPool(SETTINGS.laddered, SETTINGS.concurrency, async () => {
        const opened = await openCase(client, db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan: newLoan({ overdueSince: daysAgo(0) }), policy });
        caseIds.push(opened.case.caseId);
      });
      for (;;) {
        const { rows } = await handle.pool.query<{ n: number; pending: number }>(
          `select (select count(*)::int from cases where policy_name = $1 and hand = 6) as n,
                  (select count(*)::int from notification_outbox o join cases c using (case_id) where c.policy_name = $1 and o.status = 'pending') as pending`,
          [policy.name],
        );
        if (rows[0]!.n >= SETTINGS.laddered && rows[0]!.pending === 0) break;
        await sleep(1_000);
      }
      await sleep(5_000); // the last deliveries' tasks
      const after = await w.measure();
      await w.kill();
      let events = 0;
      const sample = caseIds.slice(0, 20);
      for (const caseId of sample) events += (await client.workflow.getHandle(caseId).fetchHistory()).events?.length ?? 0;
      return { before, after, rssPerCase: (after.rss - before.rss) / SETTINGS.laddered, eventsPerCase: events / sample.length };
    };

    log(`memory: ${SETTINGS.cases} minimal workflows on one worker…`);
    const minimalMemory = await measureMemory('minimal');
    log(`memory: ${SETTINGS.cases} open cases on one worker…`);
    const caseMemory = await measureMemory('case');
    log(`memory: ${SETTINGS.laddered} cases at hand 6, their ladder in this run…`);
    const ladderMemory = await measureLadderMemory();

    const historySample: { events: number; bytes: number }[] = [];
    const escalate = async (workerCount: number) => {
      const taskQueue = `bench-scale-escalation-${workerCount}-${randomUUID()}`;
      const pool = Array.from({ length: workerCount }, () => worker('case', taskQueue, SETTINGS.escalating + 100));
      await Promise.all(pool.map((w) => w.ready));
      const policy = await testPolicy(db, {
        dayMs: ESCALATION.dayMs,
        entersAtDays: [0, ESCALATION.entersAtDay, ...[0, 1, 2, 3].map((i) => ESCALATION.laterHandsAtDay + i)],
      });
      // Far enough ahead for every case to be open by then, at the rate the memory run opened them.
      const budgetMs = Math.min((ESCALATION.entersAtDay * ESCALATION.dayMs) * 0.9, 15_000 + (2 * SETTINGS.escalating * 1000) / caseMemory.startsPerSecond);
      const dueAt = Date.now() + budgetMs;
      log(`escalation, ${workerCount} worker(s): opening ${SETTINGS.escalating} cases whose hand 2 falls due in ${(budgetMs / 1000).toFixed(0)} s…`);
      const caseIds: string[] = [];
      let lastOpened = 0;
      await inPool(SETTINGS.escalating, SETTINGS.concurrency, async () => {
        const openedAt = Date.now();
        // Day 5,000 of the case calendar at `dueAt`: case time runs DAY_MS / dayMs times as fast.
        const overdueSinceMs = openedAt + ((dueAt - openedAt) * DAY_MS) / ESCALATION.dayMs - ESCALATION.entersAtDay * DAY_MS;
        const loan = newLoan({ overdueSince: msToDate(overdueSinceMs + DAY_MS - 1) });
        const opened = await openCase(client, db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan, policy });
        if (opened.case.hand !== 1) throw new Error(`a case opened in hand ${opened.case.hand}, not 1`);
        caseIds.push(opened.case.caseId);
        lastOpened = Math.max(lastOpened, Date.now());
      });
      const openedInTime = lastOpened < dueAt - 1_000;
      log(`all open ${((dueAt - lastOpened) / 1000).toFixed(1)} s before the instant; waiting for every case to escalate…`);
      let firstMs: number | null = null;
      let allMs: number | null = null;
      const deadline = dueAt + 600_000;
      // CPU from the instant on: did the workers have cores to use?
      await sleep(Math.max(0, dueAt - 200 - Date.now()));
      const cpuGroups = { commands: { temporal: 'Temporal server', postgres: 'PostgreSQL' }, pids: { 'worker processes': pool.map((w) => w.pid) } };
      const cpuBefore = sampleCpu(cpuGroups);
      while (allMs === null && Date.now() < deadline) {
        const { rows } = await handle.pool.query<{ n: number }>('select count(*)::int as n from cases where policy_name = $1 and hand >= 2', [policy.name]);
        const n = rows[0]!.n;
        const now = Date.now();
        if (n > 0 && firstMs === null) firstMs = now - dueAt;
        if (n >= SETTINGS.escalating) allMs = now - dueAt;
        else await sleep(200);
      }
      if (allMs === null) throw new Error(`not every case escalated within ${deadline - dueAt} ms`);
      const cpu = cpuBetween(cpuBefore, sampleCpu(cpuGroups), os.availableParallelism());
      const cached = await Promise.all(pool.map((w) => w.measure()));
      if (historySample.length === 0) {
        for (const caseId of caseIds.slice(0, 20)) {
          const history = await client.workflow.getHandle(caseId).fetchHistory();
          historySample.push({ events: history.events?.length ?? 0, bytes: proto.temporal.api.history.v1.History.encode(history).finish().length });
        }
      }
      await Promise.all(pool.map((w) => w.kill()));
      log(`${workerCount} worker(s): every case escalated ${(allMs / 1000).toFixed(1)} s after the instant`);
      return { workerCount, firstMs: firstMs!, allMs, openedInTime, cachedPerWorker: cached.map((c) => c.cached), cpu };
    };

    const one = await escalate(1);
    const two = await escalate(2);

    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    const kib = (bytes: number) => (bytes / 1024).toFixed(1);
    const memoryRatio = caseMemory.rssPerWorkflow / minimalMemory.rssPerWorkflow;
    const heapRatio = caseMemory.heapPerWorkflow / minimalMemory.heapPerWorkflow;
    const speedUp = one.allMs / two.allMs;
    const events = historySample.reduce((a, h) => a + h.events, 0);
    const bytes = historySample.reduce((a, h) => a + h.bytes, 0);
    const table = [
      `| Memory, ${SETTINGS.cases.toLocaleString('en')} held in one worker's cache | RSS before → after (MiB) | Heap before → after (MiB) | RSS per workflow (KiB) | Heap per workflow (KiB) | Started per second |`,
      '|---|---|---|---|---|---|',
      ...[minimalMemory, caseMemory].map(
        (m) =>
          `| ${m.kind === 'case' ? 'Open cases (hand 1, standard policy)' : 'Minimal workflow (one timer, one signal)'} | ${mib(m.before.rss)} → ${mib(m.after.rss)} | ${mib(m.before.heapUsed)} → ${mib(m.after.heapUsed)} | ${kib(m.rssPerWorkflow)} | ${kib(m.heapPerWorkflow)} | ${m.startsPerSecond.toFixed(1)} |`,
      ),
      '',
      `Case against minimal workflow, per workflow: RSS **${memoryRatio.toFixed(2)}×** (goal ≤ ${GOALS.memoryRatio}×: ${met(memoryRatio <= GOALS.memoryRatio)}), heap ${heapRatio.toFixed(2)}×.`,
      '',
      `Later in a run: ${SETTINGS.laddered.toLocaleString('en')} cases taken through the standard ladder to hand 6 on a ${LADDER_DAY_MS} ms case day, all in one run ` +
        `(${ladderMemory.eventsPerCase.toFixed(0)} history events each, a sample of 20), held in one worker's cache: **${kib(ladderMemory.rssPerCase)} KiB RSS per case** ` +
        `(${mib(ladderMemory.before.rss)} → ${mib(ladderMemory.after.rss)} MiB), against ${kib(caseMemory.rssPerWorkflow)} KiB just opened. RSS may also keep what the ` +
        'allocator took for the ladder\'s burst of tasks (glibc\'s malloc keeps more of it than jemalloc).',
      '',
      `| Escalation of ${SETTINGS.escalating.toLocaleString('en')} cases due at one instant | First in the ledger (s after) | All in the ledger (s after) | Goal ≤ 60 s | Cases held per worker | Machine busy (${os.availableParallelism()} cores) | CPU s: Temporal server, PostgreSQL, workers |`,
      '|---|---|---|---|---|---|---|',
      ...[one, two].map(
        (r) =>
          `| ${r.workerCount} worker process${r.workerCount > 1 ? 'es' : ''}${r.openedInTime ? '' : ' (**some cases opened after the instant**)'} | ${(r.firstMs / 1000).toFixed(1)} | ${(r.allMs / 1000).toFixed(1)} | ${met(r.allMs <= GOALS.escalationMs)} | ${r.cachedPerWorker.join(', ')} | ${cpuCells(r.cpu)} |`,
      ),
      '',
      `Second worker: **${speedUp.toFixed(2)}×** as fast (goal ≥ ${GOALS.secondWorkerSpeedUp}×: ${met(speedUp >= GOALS.secondWorkerSpeedUp)}).`,
      '',
      `History size, ${historySample.length} escalated cases (opened in hand 1, entered hand 2; payloads encrypted): ${(events / historySample.length).toFixed(1)} events, ${kib(bytes / historySample.length)} KiB each, **${(bytes / events).toFixed(0)} bytes per event** (the History protobuf's encoded size).`,
    ];
    console.log('');
    for (const line of table) console.log(line);
    writeSection('scale', [
      '## Scale (issue 10 §4)',
      '',
      'Written by `npm run bench:scale` (bench/scale.ts), workers in processes of their own (bench/scale-worker.ts, run with',
      "`--expose-gc`). Memory: the worker process's RSS and V8 heap after two garbage collections, once it holds the",
      `${WARM_UP} warm-up workflows and once it holds ${SETTINGS.cases.toLocaleString('en')} more (\`maxCachedWorkflows\` raised to hold them all; \`Worker.getStatus()\``,
      'counts them), per workflow; the minimal workflow waits on one timer and one signal. The cases are opened with',
      "the standard policy (real calendar), so after opening each only waits. Escalation: cases on a 100 ms case day whose",
      "hand 2 falls due at one instant (each case's `overdueSince` chosen for it when it opens), timed from that instant",
      'until the ledger shows them all in hand 2 (polled every 200 ms), with one worker process and then two.',
      '',
      ...machineLines([
        `- Temporal: ${temporal.cliVersion} (dev server, in memory); PostgreSQL ${database.version}, ${database.source}`,
        `- N = ${SETTINGS.cases}, M = ${SETTINGS.escalating}, ${SETTINGS.concurrency} opened at a time (BENCH_SCALE_CASES, BENCH_SCALE_ESCALATING, BENCH_SCALE_CONCURRENCY)`,
        `- Worker processes' malloc: ${SETTINGS.allocator.description} (BENCH_SCALE_ALLOCATOR)`,
        ...(SETTINGS.cases < 10_000 || SETTINGS.escalating < 1_000 ? ["- **Smaller than the issue's 10,000 open cases and 1,000 escalating** (BENCH_SCALE_CASES=10000 BENCH_SCALE_ESCALATING=1000 for those)"] : []),
      ]),
      '',
      ...table,
    ]);
    console.log('\nWritten to bench/RESULTS.md');
  } finally {
    log('stopping the workers and the servers…');
    await cleanups.runAll();
    log('done');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof AggregateError ? err.errors.map(String).join('\n') : err);
  process.exitCode = 1;
});
