/**
 * `npm run bench`: the history economy of a case, measured on a real Temporal dev server and a
 * real PostgreSQL, against a minimal workflow measured in the same run. Prints a compact table
 * and writes its section of bench/RESULTS.md. Asserts no timings: the figures are event counts
 * (which do not depend on the machine's speed) and ratios against the baseline.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench   # a scratch database there
 *   npm run bench                                                          # embedded PostgreSQL
 *
 * Tunables (environment): BENCH_QUIET_DAY_MS (20), BENCH_QUIET_DAYS (365), BENCH_LADDER_DAY_MS
 * (750, also the full lifecycle's case day), BENCH_LADDER_TAIL_DAYS (15), BENCH_BASELINE_WAKES (10),
 * BENCH_BASELINE_TIMER_MS (1000).
 *
 * Scenarios, run side by side: the minimal workflow; a case opened at hand 6 left quiet for a
 * year, then officers' messages on it; the standard ladder to hand 6; and the full lifecycle
 * (bench/lifecycle.ts: six hands, a guarantor claim, litigation to judgment, write-off), whose
 * goals are those of issue 7: under 1,000 events in all, every run under 4,096.
 *
 * The ladder's case day is long on purpose: on the dev server a sub-second timer fired about a
 * second after it started in every run here, so on a faster calendar due instants two case days apart
 * (hand 4's last repeated visit on day 88, hand 5 on day 90) share one wake, and the count
 * would come out lower than a real calendar's. The run checks that every due instant had a wake
 * of its own and says so when not.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { and, eq, sql } from 'drizzle-orm';
import { addPolicyVersion } from '../db/policies';
import { createDatabase, type Database } from '../db/client';
import { caseEvents, cases } from '../db/schema';
import { STANDARD_POLICY } from '../db/seed';
import {
  MESSAGE_REFUSED,
  addNoteSignal,
  addNoteUpdate,
  caseStateQuery,
  DAY_MS,
  dateToMs,
  promiseToPayUpdate,
  type CollectionPolicy,
  type LoanIntake,
} from '../domain';
import { openCase } from '../temporal/open-case';
import { minimalWorkflow, pokeSignal, pokeUpdate, wakesQuery } from './baseline-workflow';
import { armedTimers, countByType, shortName, splitWakes, wakeShapes, type Wake } from './history';
import { LIFECYCLE, dayOf, measureLifecycle, type LifecycleResult, type LifecycleRun } from './lifecycle';
import { OFFICER, SYSTEM, daysAgo, newLoan } from '../test/support/fixtures';
import { Cleanups, createBenchDatabase, startTemporal, type BenchDatabase, type BenchTemporal } from './services';
import { RESULTS_PATH, envInt } from './common';
import { startBenchWorkers } from './workers';


const SETTINGS = {
  quietDayMs: envInt('BENCH_QUIET_DAY_MS', 20),
  quietDays: envInt('BENCH_QUIET_DAYS', 365),
  ladderDayMs: envInt('BENCH_LADDER_DAY_MS', 750),
  ladderTailDays: envInt('BENCH_LADDER_TAIL_DAYS', 15),
  baselineWakes: envInt('BENCH_BASELINE_WAKES', 10),
  baselineTimerMs: envInt('BENCH_BASELINE_TIMER_MS', 1000),
};

const GOALS = { quietYear: 0, ladderBelow: 150, refusedUpdate: 0, lifecycleBelow: 1_000, runBelow: 4_096 };
/** The standard ladder's entry days. */
const STANDARD_ENTRY_DAYS = STANDARD_POLICY.hands.map((h) => h.entersAtDay);
/** A history is settled when its length has not moved for this long, nothing pending. */
const STABLE_MS = 600;
const SETTLE_TIMEOUT_MS = 60_000;


const abort = new AbortController();
const sleep = (ms: number) => delay(ms, undefined, { signal: abort.signal });

// ---- helpers ------------------------------------------------------------------------------

function loan(overdueDaysAgo: number): LoanIntake {
  return newLoan({ loanId: `BENCH${randomUUID().slice(0, 8).toUpperCase()}`, overdueSince: daysAgo(overdueDaysAgo) });
}

/** A fresh policy: the standard ladder (entry days and actions) on a compressed calendar. */
function benchPolicy(db: Database, name: string, dayMs: number): Promise<CollectionPolicy> {
  return addPolicyVersion(db, {
    ...STANDARD_POLICY,
    name: `${name}-${randomUUID().slice(0, 8)}`,
    description: `benchmark: the standard ladder with a case day of ${dayMs} ms`,
    dayMs,
  });
}

async function ledgerHand(db: Database, caseId: string): Promise<number | undefined> {
  const [row] = await db.select({ hand: cases.hand }).from(cases).where(eq(cases.caseId, caseId));
  return row?.hand;
}

async function ledgerStage(db: Database, caseId: string): Promise<string | undefined> {
  const [row] = await db.select({ stage: cases.stage }).from(cases).where(eq(cases.caseId, caseId));
  return row?.stage;
}

async function ledgerHasRequest(db: Database, caseId: string, requestId: string): Promise<boolean> {
  const rows = await db
    .select({ id: caseEvents.eventId })
    .from(caseEvents)
    .where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.requestId, requestId)));
  return rows.length > 0;
}

async function ledgerEventTypes(db: Database, caseId: string): Promise<[string, number][]> {
  const rows = await db
    .select({ type: caseEvents.type, n: sql<number>`count(*)::int` })
    .from(caseEvents)
    .where(eq(caseEvents.caseId, caseId))
    .groupBy(caseEvents.type);
  return rows.map((r) => [r.type, r.n] as [string, number]).sort((a, b) => b[1] - a[1]);
}

/**
 * Waits until the workflow has nothing running (no workflow task, no activity) and its history
 * length has not moved for STABLE_MS, with `ready` true; answers that length.
 */
async function settle(handle: WorkflowHandle, what: string, ready: () => Promise<boolean> = async () => true): Promise<number> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const description = await handle.describe();
    const length = description.historyLength;
    const busy = (description.raw.pendingActivities?.length ?? 0) > 0 || Boolean(description.raw.pendingWorkflowTask);
    const ok = !busy && (await ready());
    if (!ok || length !== last) stableSince = Date.now();
    else if (Date.now() - stableSince >= STABLE_MS) return length;
    last = length;
    if (Date.now() > deadline) throw new Error(`${what} did not settle within ${SETTLE_TIMEOUT_MS} ms (history at ${length})`);
    await sleep(100);
  }
}

async function historyEvents(handle: WorkflowHandle) {
  return (await handle.fetchHistory()).events ?? [];
}

const round = (n: number, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : NaN);
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '—');
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const met = (ok: boolean) => (ok ? 'met' : '**MISSED**');

function wakesOfKind(wakes: Wake[], kind: string): Wake[] {
  return wakes.filter((w) => w.trigger === kind);
}

// ---- scenarios ------------------------------------------------------------------------------

interface BaselineResult {
  timerWake: number;
  signalWake: number;
  updateWake: number;
  wakes: Wake[];
}

async function measureBaseline(client: Client, taskQueue: string): Promise<BaselineResult> {
  const wakes = SETTINGS.baselineWakes;
  const handle = await client.workflow.start(minimalWorkflow, {
    taskQueue,
    workflowId: `bench-minimal-${randomUUID()}`,
    args: [{ timerWakes: wakes, timerMs: SETTINGS.baselineTimerMs }],
  });
  try {
    await settle(handle, 'the minimal workflow', async () => (await handle.query(wakesQuery)) >= wakes);
    await handle.signal(pokeSignal);
    await settle(handle, 'the minimal workflow (signal)', async () => (await handle.query(wakesQuery)) >= wakes + 1);
    await handle.executeUpdate(pokeUpdate, { updateId: randomUUID() });
    await settle(handle, 'the minimal workflow (update)');
    const all = splitWakes(await historyEvents(handle));
    const perWake = (wakes: Wake[]) => mean(wakes.map((w) => w.events.length));
    // The steady state: a timer wake that waits on the next timer (the last one switches to
    // waiting on messages alone and starts none).
    const rearming = wakesOfKind(all, 'timer').filter((w) => w.events.includes('TimerStarted'));
    return {
      timerWake: perWake(rearming),
      signalWake: perWake(wakesOfKind(all, 'signal')),
      updateWake: perWake(wakesOfKind(all, 'update')),
      wakes: all,
    };
  } finally {
    await handle.terminate('benchmark done').catch(() => undefined);
  }
}

interface QuietResult {
  caseId: string;
  /** The opening, straight into hand 6, once settled. */
  settledEvents: number;
  openingWakes: Wake[];
  afterYearEvents: number;
  added: number;
  addedWakes: Wake[];
  handle: WorkflowHandle;
}

async function measureQuietYear(client: Client, taskQueue: string, db: Database): Promise<QuietResult> {
  const policy = await benchPolicy(db, 'bench-quiet', SETTINGS.quietDayMs);
  // Far enough past due that the ladder opens it straight into hand 6.
  const opened = await openCase(client, db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan: loan(200), policy });
  const { caseId } = opened.case;
  const handle = client.workflow.getHandle(caseId);
  const atHand6 = async () => (await handle.query(caseStateQuery)).hand === 6 && (await ledgerHand(db, caseId)) === 6;
  await settle(handle, 'the quiet case', atHand6);
  const opening = await historyEvents(handle);
  const before = opening.length;
  await sleep(SETTINGS.quietDays * SETTINGS.quietDayMs);
  // Anything the year woke must have finished before counting.
  await settle(handle, 'the quiet case after its year', atHand6);
  const events = await historyEvents(handle);
  return {
    caseId,
    settledEvents: before,
    openingWakes: splitWakes(opening),
    afterYearEvents: events.length,
    added: events.length - before,
    addedWakes: splitWakes(events.slice(before)),
    handle,
  };
}

interface MessageMeasure {
  name: string;
  events: number;
  goal?: string;
  ok?: boolean;
  wakes: Wake[];
  note?: string;
}

/** One message at a time on the settled quiet case: the events each adds. */
async function measureMessages(handle: WorkflowHandle, db: Database, caseId: string): Promise<MessageMeasure[]> {
  const results: MessageMeasure[] = [];
  const measure = async (name: string, send: () => Promise<string | undefined>, ready?: () => Promise<boolean>) => {
    const before = (await historyEvents(handle)).length;
    const note = await send();
    await settle(handle, `the case after "${name}"`, ready);
    const events = await historyEvents(handle);
    const result: MessageMeasure = { name, events: events.length - before, wakes: splitWakes(events.slice(before)) };
    if (note) result.note = note;
    results.push(result);
    return result;
  };

  const noteId = randomUUID();
  const note = { requestId: noteId, by: OFFICER, summary: 'Borrower reached; says salary comes on the 10th' };
  await measure('accepted update (addNote)', async () => {
    const answer = await handle.executeUpdate(addNoteUpdate, { args: [note], updateId: noteId });
    if (!answer.applied) throw new Error('the note update was not applied');
    return undefined;
  });
  await measure('retried update (same updateId)', async () => {
    await handle.executeUpdate(addNoteUpdate, { args: [note], updateId: noteId });
    return undefined;
  });
  const refused = await measure('refused update (promise dated in the past)', async () => {
    const promiseId = randomUUID();
    try {
      await handle.executeUpdate(promiseToPayUpdate, {
        args: [{ requestId: promiseId, by: OFFICER, amount: 100_000, dueDate: '2000-01-01' }],
        updateId: promiseId,
      });
    } catch (err) {
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === MESSAGE_REFUSED) return cause.message;
      throw err;
    }
    throw new Error('a promise dated in the past was accepted');
  });
  refused.goal = `= ${GOALS.refusedUpdate}`;
  refused.ok = refused.events === GOALS.refusedUpdate;
  const signalId = randomUUID();
  await measure(
    'signal (addNote)',
    async () => {
      await handle.signal(addNoteSignal, { requestId: signalId, by: OFFICER, summary: 'Visited; nobody home' });
      return undefined;
    },
    () => ledgerHasRequest(db, caseId, signalId),
  );
  return results;
}

interface LadderResult {
  caseId: string;
  events: number;
  wakes: Wake[];
  /** Ladder day (days past due, case calendar) of each wake, by wake index. */
  ladderDays: Map<number, number>;
  perHand: { hand: number; wakes: number; events: number }[];
  /** What time alone made the case do (business events the workflow recorded by itself after
   * opening): each should have had a wake of its own, as on a real calendar. */
  dueInstants: number;
  lateHands: number;
  armedTimersAtHand6: number;
  tailAdded: number;
  tailWakes: Wake[];
  ledger: [string, number][];
}

async function measureLadder(client: Client, taskQueue: string, db: Database): Promise<LadderResult> {
  const policy = await benchPolicy(db, 'bench-ladder', SETTINGS.ladderDayMs);
  const facts = loan(0);
  const opened = await openCase(client, db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan: facts, policy });
  const { caseId } = opened.case;
  const handle = client.workflow.getHandle(caseId);
  const atHand6 = async () => (await handle.query(caseStateQuery)).hand === 6 && (await ledgerHand(db, caseId)) === 6;
  await sleep(STANDARD_ENTRY_DAYS.at(-1)! * SETTINGS.ladderDayMs);
  await settle(handle, 'the ladder case', atHand6);
  const events = await historyEvents(handle);
  const wakes = splitWakes(events);
  const originMs = Date.parse(opened.case.openedAt);
  const overdueSinceMs = dateToMs(facts.overdueSince);
  const ladderDay = (wallMs: number) => (originMs - overdueSinceMs + ((wallMs - originMs) * DAY_MS) / SETTINGS.ladderDayMs) / DAY_MS;
  const perHand = [1, 2, 3, 4, 5, 6].map((hand) => {
    const of = wakes.filter((w) => (w.hand ?? 1) === hand);
    return { hand, wakes: of.length, events: of.reduce((n, w) => n + w.events.length, 0) };
  });
  const ledger = await ledgerEventTypes(db, caseId);
  const count = (type: string) => ledger.find(([t]) => t === type)?.[1] ?? 0;
  // A case that climbed to hand 6 stays as quiet as one opened there.
  const armedTimersAtHand6 = armedTimers(events);
  await sleep(SETTINGS.ladderTailDays * SETTINGS.ladderDayMs);
  await settle(handle, 'the ladder case at hand 6', atHand6);
  const after = await historyEvents(handle);
  return {
    caseId,
    events: events.length,
    wakes,
    ladderDays: new Map(wakes.map((w) => [w.index, ladderDay(w.atMs)])),
    perHand,
    dueInstants: count('hand_entered') - 1 + count('hand_entered_late') + count('task_repeated'),
    lateHands: count('hand_entered_late'),
    armedTimersAtHand6,
    tailAdded: after.length - events.length,
    tailWakes: splitWakes(after.slice(events.length)),
    ledger,
  };
}

// ---- report ---------------------------------------------------------------------------------

interface Report {
  machine: string[];
  baseline: BaselineResult;
  quiet: QuietResult;
  messages: MessageMeasure[];
  ladder: LadderResult;
  lifecycle: LifecycleResult;
}

function table(header: string[], rows: (string | number)[][]): string[] {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)];
}

const wakeEvents = (w: Wake) => w.labels.join(' ');

function shapeLines(wakes: Wake[]): string[] {
  return wakeShapes(wakes).map((s) => `- ${s.count} × ${s.trigger} wake, ${s.events.length} events: ${s.events.join(' ')}`);
}

const byType = (wakes: Wake[]) =>
  countByType(wakes.flatMap((w) => w.events))
    .map(([t, n]) => `${shortName(t)} ${n}`)
    .join(', ');

/** Warnings about the run itself: a measure the compressed calendar may have distorted. */
function caveats(r: Report): string[] {
  const { ladder } = r;
  const timerWakes = wakesOfKind(ladder.wakes, 'timer').length;
  const lines: string[] = [];
  if (timerWakes < ladder.dueInstants) {
    lines.push(
      `WARNING: the ladder had ${ladder.dueInstants} due instants but ${timerWakes} timer wakes: some shared a wake on this ` +
        `compressed calendar (the dev server fires sub-second timers about a second late), so its count is lower than a real calendar's. ` +
        `Raise BENCH_LADDER_DAY_MS (now ${SETTINGS.ladderDayMs}).`,
    );
  }
  if (ladder.lateHands > 0) lines.push(`WARNING: ${ladder.lateHands} hands were entered late (hand_entered_late): the worker fell behind the calendar.`);
  return lines;
}

function summary(r: Report): string[] {
  const { baseline, quiet, ladder, messages } = r;
  const nonStart = ladder.wakes.filter((w) => w.trigger !== 'start');
  const perWake = mean(nonStart.map((w) => w.events.length));
  const timerWakes = wakesOfKind(ladder.wakes, 'timer');
  const activityWakes = wakesOfKind(ladder.wakes, 'activity');
  const msg = (name: string) => messages.find((m) => m.name.startsWith(name));
  const update = msg('accepted update');
  const signal = msg('signal');
  const refused = msg('refused update');
  const retried = msg('retried update');
  const ladderOk = ladder.events < GOALS.ladderBelow;
  const quietOk = quiet.added === GOALS.quietYear;

  const lines: string[] = [];
  lines.push(
    ...table(
      ['Measure', 'Events', 'Goal', ''],
      [
        [`Case opened straight into hand 6, settled: whole history`, quiet.settledEvents, '', ''],
        [`Quiet year at hand 6 (${SETTINGS.quietDays} case days × ${SETTINGS.quietDayMs} ms): events added`, quiet.added, `= ${GOALS.quietYear}`, met(quietOk)],
        [`Standard ladder to hand 6, no messages (case day ${SETTINGS.ladderDayMs} ms): whole history`, ladder.events, `< ${GOALS.ladderBelow}`, met(ladderOk)],
        [`… then ${SETTINGS.ladderTailDays} more case days at hand 6: events added (timers left armed: ${ladder.armedTimersAtHand6})`, ladder.tailAdded, '= 0', met(ladder.tailAdded === 0 && ladder.armedTimersAtHand6 === 0)],
        ['Accepted update (addNote, waits for the ledger)', update?.events ?? '—', '', ''],
        ['Retried update (same updateId)', retried?.events ?? '—', '', ''],
        ['Refused update (promise dated in the past; validator)', refused?.events ?? '—', `= ${GOALS.refusedUpdate}`, met(refused?.ok === true)],
        ['Signal (addNote)', signal?.events ?? '—', '', ''],
      ],
    ),
  );
  lines.push('');
  lines.push(`Events per wake against the minimal workflow (one timer, one signal, one local-activity marker per wake), same run:`);
  lines.push('');
  lines.push(
    ...table(
      ['Wake', 'Case', 'Minimal', 'Ratio'],
      [
        [`Ladder, every wake but the opening (${nonStart.length} wakes)`, round(perWake, 2), round(baseline.timerWake, 2), ratio(perWake, baseline.timerWake)],
        [`Ladder, timer wakes (${timerWakes.length} for ${ladder.dueInstants} due instants: escalations, repeated visits)`, round(mean(timerWakes.map((w) => w.events.length)), 2), round(baseline.timerWake, 2), ratio(mean(timerWakes.map((w) => w.events.length)), baseline.timerWake)],
        [`Ladder, activity results (${activityWakes.length} wakes: the projection's)`, round(mean(activityWakes.map((w) => w.events.length)), 2), '—', '—'],
        ['Accepted update', update?.events ?? '—', round(baseline.updateWake, 2), ratio(update?.events ?? NaN, baseline.updateWake)],
        ['Signal', signal?.events ?? '—', round(baseline.signalWake, 2), ratio(signal?.events ?? NaN, baseline.signalWake)],
      ],
    ),
  );
  lines.push('');
  lines.push('Ladder events per hand (a wake counts for the hand the case is in after it):');
  lines.push('');
  lines.push(...table(['Hand', 'Wakes', 'Events'], ladder.perHand.map((h) => [h.hand, h.wakes, h.events])));
  const warnings = caveats(r);
  if (warnings.length) lines.push('', ...warnings);
  return lines;
}

function breakdown(r: Report, full: boolean): string[] {
  const { quiet, ladder, messages, baseline } = r;
  const lines: string[] = [];
  lines.push(`Ladder wakes by shape (${ladder.wakes.length} wakes, ${ladder.events} events):`);
  lines.push(...shapeLines(ladder.wakes));
  lines.push('');
  lines.push(`Ladder events by type: ${byType(ladder.wakes)}`);
  lines.push(`Ladder business trail (case_events): ${ladder.ledger.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  lines.push('');
  lines.push(`Opening straight into hand 6 (${quiet.settledEvents} events):`);
  lines.push(...shapeLines(quiet.openingWakes));
  if (quiet.added > 0) {
    lines.push('');
    lines.push(`Quiet year: ${quiet.added} events added, by type: ${byType(quiet.addedWakes)}; by wake:`);
    lines.push(...shapeLines(quiet.addedWakes));
  }
  if (ladder.tailAdded > 0) {
    lines.push('');
    lines.push(`Ladder case at hand 6: ${ladder.tailAdded} events added afterwards, by type: ${byType(ladder.tailWakes)}; by wake:`);
    lines.push(...shapeLines(ladder.tailWakes));
  }
  lines.push('');
  lines.push('Officer messages on the quiet case at hand 6:');
  for (const m of messages) {
    lines.push(`- ${m.name}: ${m.events} events${m.wakes.length ? ` (${m.wakes.map(wakeEvents).join(' / ')})` : ''}${m.note ? ` — ${m.note}` : ''}`);
  }
  lines.push('');
  lines.push('Minimal workflow wakes by shape:');
  lines.push(...shapeLines(baseline.wakes));
  if (full) {
    lines.push('');
    lines.push('Every wake of the ladder case:');
    lines.push('');
    lines.push(
      ...table(
        ['#', 'Ladder day', 'Woken by', 'Hand after', 'Events', 'What it wrote'],
        ladder.wakes.map((w) => [w.index, (ladder.ladderDays.get(w.index) ?? NaN).toFixed(1), w.trigger, w.hand ?? '—', w.events.length, wakeEvents(w)]),
      ),
    );
  }
  return lines;
}

// ---- the full lifecycle's report ------------------------------------------------------------

const thousands = (n: number) => n.toLocaleString('en-US');

/** What woke the case, with the message's name: `update decideMeasure`, `signal guarantorClaimEnded`, `timer`… */
function wakeKind(w: Wake): string {
  const named = (prefix: string) =>
    [...new Set(w.labels.filter((l) => l.startsWith(`${prefix}(`)).map((l) => l.slice(prefix.length + 1, -1)))].join('+');
  if (w.trigger === 'start+update') return 'opening (start + openCase update)';
  if (w.trigger === 'update') return `update ${named('UpdateAccepted') || '?'}`;
  if (w.trigger === 'signal') return `signal ${named('Signaled') || '?'}`;
  if (w.trigger === 'timer') return 'timer (ladder: escalation, repeated visit)';
  if (w.trigger === 'activity') return "activity (the projection's result)";
  return w.trigger;
}

function lifecycleRuns(l: LifecycleResult): LifecycleRun[] {
  return [...l.caseRuns, l.claim, l.suit];
}

function lifecycleCaveats(l: LifecycleResult): string[] {
  const timerWakes = l.caseRuns.flatMap((r) => wakesOfKind(r.wakes, 'timer')).length;
  const lines: string[] = [];
  if (timerWakes < l.dueInstants) {
    lines.push(
      `WARNING: the lifecycle case had ${l.dueInstants} due instants but ${timerWakes} timer wakes: some shared a wake on this ` +
        `compressed calendar, so its count is lower than a real calendar's. Raise BENCH_LADDER_DAY_MS (now ${SETTINGS.ladderDayMs}).`,
    );
  }
  if (l.lateHands > 0) lines.push(`WARNING: the lifecycle case entered ${l.lateHands} hands late (hand_entered_late): the worker fell behind the calendar.`);
  if (l.suitOverdue > 0) lines.push(`WARNING: ${l.suitOverdue} steps of the suit ran late (overdue tasks raised): the bench reported them slower than ${LIFECYCLE.litigationStepDays} case days.`);
  return lines;
}

function lifecycleSummary(l: LifecycleResult): string[] {
  const runs = lifecycleRuns(l);
  const lines: string[] = [];
  lines.push(
    `One secured case with a guarantor (guaranteeing ${thousands(LIFECYCLE.guaranteedAmount)} minor units), opened at day 0 on the standard ladder ` +
      `(case day ${l.clock.dayMs} ms; guarantor claim ${LIFECYCLE.guarantorClaimDays} case days; each litigation step ${LIFECYCLE.litigationStepDays} case days; ` +
      `default auto-proposals), driven to the end in ${(l.wallMs / 1000).toFixed(0)} s: ${l.caseId}, policy ${l.policy.name} v${l.policy.version}.`,
  );
  lines.push('');
  lines.push(
    ...table(
      ['Run', 'Workflow id', 'Ended', 'Events', 'Goal', ''],
      [
        ...runs.map((r) => [r.label, r.workflowId, r.ended, r.events.length, `< ${thousands(GOALS.runBelow)}`, met(r.events.length < GOALS.runBelow)]),
        ['**Total**', `${runs.length} runs`, '', l.total, `< ${thousands(GOALS.lifecycleBelow)}`, met(l.total < GOALS.lifecycleBelow)],
      ],
    ),
  );
  lines.push('');
  lines.push(
    `At the end: stage ${l.final.stage}, hand ${l.final.hand}; measures ${l.final.measures.map((m) => `${m.type} ${m.state}${m.parties.length ? ` (${m.parties.join(', ')})` : ''}`).join(', ')}; ` +
      `write-off ${l.final.writeOff ?? '—'}; recovered ${thousands(l.final.recovered)} of which after the write-off ${thousands(l.final.recoveredAfterWriteOff)}; ` +
      `legal costs ${thousands(l.final.legalCosts)}; outstanding ${thousands(l.final.outstanding)}. The case, still waiting for recoveries, was terminated after counting.`,
  );
  lines.push('');
  for (const run of l.caseRuns) {
    lines.push(`${l.caseRuns.length > 1 ? `Case run ${run.label}` : 'Case run'} events by type (${run.events.length}):`);
    lines.push('');
    lines.push(...table(['Event type', 'Events'], countByType(run.wakes.flatMap((w) => w.events)).map(([t, n]) => [shortName(t), n])));
    lines.push('');
  }
  const caseWakes = l.caseRuns.flatMap((r) => r.wakes);
  lines.push('Case wakes by what woke it:');
  lines.push('');
  const kinds = new Map<string, { wakes: number; events: number }>();
  for (const w of caseWakes) {
    const k = kinds.get(wakeKind(w)) ?? { wakes: 0, events: 0 };
    k.wakes++;
    k.events += w.events.length;
    kinds.set(wakeKind(w), k);
  }
  lines.push(
    ...table(
      ['Woken by', 'Wakes', 'Events', 'Per wake'],
      [...kinds].sort((a, b) => b[1].events - a[1].events).map(([k, v]) => [k, v.wakes, v.events, round(v.events / v.wakes, 2)]),
    ),
  );
  lines.push('');
  lines.push('Case events per hand (a wake counts for the hand the case is in after it):');
  lines.push('');
  lines.push(
    ...table(
      ['Hand', 'Wakes', 'Events'],
      [1, 2, 3, 4, 5, 6].map((hand) => {
        const of = caseWakes.filter((w) => (w.hand ?? 1) === hand);
        return [hand, of.length, of.reduce((n, w) => n + w.events.length, 0)];
      }),
    ),
  );
  const warnings = lifecycleCaveats(l);
  if (warnings.length) lines.push('', ...warnings);
  return lines;
}

function lifecycleBreakdown(l: LifecycleResult, full: boolean): string[] {
  const lines: string[] = [];
  lines.push('Timeline (case history length when the bench saw each step, not settled):');
  lines.push('');
  lines.push(...table(['Case day', 'Hand', 'What', 'Case events'], l.milestones.map((m) => [m.day.toFixed(1), m.hand, m.what, m.caseEvents])));
  lines.push('');
  lines.push(`Business trail (case_events): ${l.ledger.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  for (const child of [l.claim, l.suit]) {
    lines.push('');
    lines.push(`${child.label[0]!.toUpperCase()}${child.label.slice(1)} (${child.events.length} events) by type: ${byType(child.wakes)}; by wake:`);
    lines.push(...shapeLines(child.wakes));
  }
  if (full) {
    for (const run of l.caseRuns) {
      lines.push('');
      lines.push(`Every wake of the lifecycle case (${run.label}, ${run.events.length} events):`);
      lines.push('');
      lines.push(
        ...table(
          ['#', 'Case day', 'Woken by', 'Hand after', 'Events', 'What it wrote'],
          run.wakes.map((w) => [w.index, dayOf(l.clock, w.atMs).toFixed(1), wakeKind(w), w.hand ?? '—', w.events.length, wakeEvents(w)]),
        ),
      );
    }
  } else {
    lines.push('');
    lines.push(`Lifecycle case wakes by shape (${l.caseRuns.map((r) => r.wakes.length).reduce((a, b) => a + b, 0)} wakes):`);
    lines.push(...shapeLines(l.caseRuns.flatMap((r) => r.wakes)));
  }
  return lines;
}

function machineDescription(temporal: BenchTemporal, database: BenchDatabase): string[] {
  const cpus = os.cpus();
  return [
    `- Date: ${new Date().toISOString()}`,
    `- CPUs: ${os.availableParallelism()} (nproc), ${cpus[0]?.model.trim() ?? 'unknown model'}`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node.js: ${process.version}`,
    `- Temporal CLI: ${temporal.cliVersion}; server ${temporal.serverVersion} (dev server, in memory)`,
    `- PostgreSQL: ${database.version}, ${database.source}`,
  ];
}

const SECTION_START = '<!-- bench:history-economy:start -->';
const SECTION_END = '<!-- bench:history-economy:end -->';
const LIFECYCLE_START = '<!-- bench:full-lifecycle:start -->';
const LIFECYCLE_END = '<!-- bench:full-lifecycle:end -->';

/** Replaces the marked section (markers included) in `current`, or appends it; nothing else changes. */
function withSection(current: string, start: string, end: string, body: string): string {
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  return from >= 0 && to > from
    ? `${current.slice(0, from)}${body}${current.slice(to + end.length)}`
    : `${current.trimEnd()}\n\n${body}\n`;
}

function writeResults(r: Report): void {
  const body = [
    SECTION_START,
    '## History economy (issue 6 §1, issue 10 §5)',
    '',
    'Written by `npm run bench` (bench/run.ts); the figures are Temporal history events counted with',
    '`handle.fetchHistory()` on a real dev server and PostgreSQL. Ratios are against a minimal',
    'workflow (bench/baseline-workflow.ts) measured in the same run. No timings are asserted.',
    `The ladder runs on a ${SETTINGS.ladderDayMs} ms case day so that every due instant gets a wake of its own, as on a`,
    'real calendar: the dev server fired sub-second timers about a second after they started, and on a faster',
    "calendar hand 4's last repeated visit (day 88) and hand 5 (day 90) would share one wake.",
    '',
    'Machine:',
    '',
    ...r.machine,
    '',
    ...summary(r),
    '',
    '### Breakdown',
    '',
    ...breakdown(r, true),
    SECTION_END,
  ].join('\n');
  const lifecycle = [
    LIFECYCLE_START,
    '## Full lifecycle (issue 7)',
    '',
    'Written by `npm run bench` (bench/run.ts, bench/lifecycle.ts) in the same run and on the same machine as the',
    'section above. Goals: the history events of a full lifecycle (six hands, a guarantor claim, litigation to judgment)',
    'stay under 1,000 in all, every run under 4,096. The bench drives the case as the API would: every officer\'s',
    'and supervisor\'s message is an update with an update id (`<update>:<requestId>`), the suit\'s steps are updates of',
    'its own workflow. The case ladder: hand 2 a contact; hand 3 a promise kept by a payment; hand 4 the policy\'s',
    'guarantor claim (proposed by `workflow`, approved by supervisor-wang, started by the officer), which misses its',
    'deadline; the case proposes litigation against the borrower and the guarantor; a note; hand 6 the litigation',
    'approved (supervisor-zhao) and started; the suit reported step by step (assess … judgment, enforcement, with a',
    'court fee after filing) and closed as exhausted; the write-off requested (supervisor-wang) and approved with its',
    'finding (supervisor-zhao); a payment after the write-off. Counted once everything settled: every run of the case',
    '(following continue-as-new), the claim and the suit. No timings are asserted.',
    '',
    ...lifecycleSummary(r.lifecycle),
    '',
    '### Breakdown',
    '',
    ...lifecycleBreakdown(r.lifecycle, true),
    LIFECYCLE_END,
  ].join('\n');
  const current = existsSync(RESULTS_PATH) ? readFileSync(RESULTS_PATH, 'utf8') : '# Benchmark results\n\n';
  writeFileSync(RESULTS_PATH, withSection(withSection(current, SECTION_START, SECTION_END, body), LIFECYCLE_START, LIFECYCLE_END, lifecycle));
}

// ---- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const cleanups = new Cleanups();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130);
    console.error(`\n${signal}: stopping the benchmark and the servers it started…`);
    abort.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  const log = (message: string) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

  try {
    log('starting a Temporal dev server and a PostgreSQL database…');
    const [temporalResult, databaseResult] = await Promise.allSettled([startTemporal(cleanups), createBenchDatabase(cleanups)]);
    if (temporalResult.status === 'rejected') throw temporalResult.reason;
    if (databaseResult.status === 'rejected') throw databaseResult.reason;
    const temporal = temporalResult.value;
    const database = databaseResult.value;
    const machine = machineDescription(temporal, database);
    const handle = createDatabase(database.url, 5);
    cleanups.push('database pool', () => handle.close());
    const { db } = handle;

    const { client, taskQueue, baselineQueue, runWhile } = await startBenchWorkers(temporal, db, 'cases', log);

    const report = await runWhile(async (): Promise<Report> => {
      const seconds = (ms: number) => `~${(ms / 1000).toFixed(0)} s`;
      log(
        `side by side: the standard ladder (${seconds((STANDARD_ENTRY_DAYS.at(-1)! + SETTINGS.ladderTailDays) * SETTINGS.ladderDayMs)}), ` +
          `a quiet year at hand 6 (${seconds(SETTINGS.quietDays * SETTINGS.quietDayMs)}) then officer messages, ` +
          `the minimal workflow (${SETTINGS.baselineWakes} timer wakes, a signal, an update), ` +
          `the full lifecycle (${seconds(120 * SETTINGS.ladderDayMs)} to hand 6, then the suit and the write-off)…`,
      );
      // Event counts do not depend on what else runs; running them together keeps the run short.
      const [baseline, quietAndMessages, ladder, lifecycle] = await Promise.all([
        measureBaseline(client, baselineQueue).then((result) => {
          log('minimal workflow measured');
          return result;
        }),
        measureQuietYear(client, taskQueue, db).then(async (quiet) => {
          log('quiet year done; officer messages on the quiet case…');
          const messages = await measureMessages(quiet.handle, db, quiet.caseId);
          log('officer messages measured');
          return { quiet, messages };
        }),
        measureLadder(client, taskQueue, db).then((result) => {
          log('ladder measured');
          return result;
        }),
        measureLifecycle({ client, taskQueue, db, dayMs: SETTINGS.ladderDayMs, sleep, settle, ledgerEventTypes, ledgerStage, log }),
      ]);
      return { machine, baseline, ladder, lifecycle, ...quietAndMessages };
    });

    console.log('');
    console.log(`History economy of a case (${machine.slice(1, 3).map((l) => l.slice(2)).join('; ')})`);
    console.log('');
    for (const line of summary(report)) console.log(line);
    console.log('');
    for (const line of breakdown(report, false)) console.log(line);
    console.log('');
    console.log('Full lifecycle (issue 7): six hands, a guarantor claim, litigation to judgment, write-off');
    console.log('');
    for (const line of lifecycleSummary(report.lifecycle)) console.log(line);
    console.log('');
    for (const line of lifecycleBreakdown(report.lifecycle, false)) console.log(line);
    writeResults(report);
    console.log('');
    console.log(`Written to ${RESULTS_PATH}`);
  } finally {
    // A failed measure leaves the others sleeping: wake them so the workers can stop.
    abort.abort(new Error('the benchmark is over'));
    log('stopping the servers…');
    await cleanups.runAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    log('done');
  }
}

main().catch((err: unknown) => {
  if (abort.signal.aborted && (err as Error)?.name === 'AbortError') {
    console.error(String((abort.signal.reason as Error)?.message ?? 'interrupted'));
    process.exitCode = 130;
    return;
  }
  console.error(err instanceof AggregateError ? err.errors.map(String).join('\n') : err);
  process.exitCode = 1;
});
