/**
 * The "full lifecycle" scenario of `npm run bench` (issue 7): one secured case with a guarantor,
 * opened at day 0 on a compressed calendar and driven through everything a case can live
 * through — the ladder to hand 4, the policy's guarantor claim approved and started (a child
 * workflow) that misses its deadline, the litigation the case then proposes (borrower and
 * guarantor), the ladder to hand 6, the suit approved and started (a child workflow) and reported
 * step by step to judgment, enforcement and closing (exhausted), the write-off requested and
 * approved with its finding, and a payment after the write-off — with officers' messages along
 * the way. Every message goes as an update with an update id, as the API sends it. Counts the
 * history events of each run of the case (following continue-as-new), of the claim and of the
 * suit. Asserts no timings.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { addPolicyVersion } from '../db/policies';
import type { Database } from '../db/client';
import { STANDARD_POLICY } from '../db/seed';
import {
  DAY_MS,
  DEFAULT_MEASURE_RULES,
  LITIGATION_STEPS,
  addNoteUpdate,
  caseStateQuery,
  dateToMs,
  decideMeasureUpdate,
  decideWriteOffUpdate,
  guarantorClaimWorkflowId,
  litigationStateQuery,
  litigationWorkflowId,
  msToDate,
  promiseToPayUpdate,
  recordContactUpdate,
  recordLegalCostUpdate,
  recordPaymentUpdate,
  reportLitigationStepUpdate,
  reportMeasureUpdate,
  requestWriteOffUpdate,
  type Actor,
  type CaseView,
  type CollectionPolicy,
  type LitigationStep,
  type LitigationView,
  type MeasureView,
  type MessageMeta,
  type MessageResult,
} from '../domain';
import { openCase } from '../temporal/open-case';
import { OFFICER, SUPERVISOR, SYSTEM, newLoan } from '../test/support/fixtures';
import { splitWakes, type Wake } from './history';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The second supervisor: four eyes on the litigation and on the write-off. */
const SUPERVISOR_2: Actor = { sub: 'supervisor-zhao', role: 'supervisor' };
const LAWYER: Actor = { sub: 'lawyer-chen', role: 'officer' };

export const LIFECYCLE = {
  /** Case days a guarantor has to pay (the default is 15): the claim misses it during hand 4,
   * between the hand-4 entry (day 60) and the first repeated visit (day 67). */
  guarantorClaimDays: 3,
  /** Case days each step of the suit may take (the defaults run to 180); every step is reported
   * well within it, so no step runs late. */
  litigationStepDays: 5,
  guaranteedAmount: 5_000_000,
  /** Promised at hand 3, and kept by a payment of the same amount. */
  promised: 300_000,
  legalCost: 150_000,
  /** Recovered after the write-off. */
  recoveredAfterWriteOff: 200_000,
  waitTimeoutMs: 60_000,
};

/** The step dates reported: case days after the case date on which the suit started. */
const STEP_DATES: Record<LitigationStep, number> = {
  assess: 0,
  file_prepared: 2,
  lawyer_assigned: 3,
  filed: 4,
  hearing: 4,
  judgment: 4,
  enforcement: 4,
  closed: 4,
};

export interface LifecycleDeps {
  client: Client;
  taskQueue: string;
  db: Database;
  dayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Waits until the workflow runs nothing and its history stops growing; answers its length. */
  settle: (handle: WorkflowHandle, what: string, ready?: () => Promise<boolean>) => Promise<number>;
  ledgerEventTypes: (db: Database, caseId: string) => Promise<[string, number][]>;
  ledgerStage: (db: Database, caseId: string) => Promise<string | undefined>;
  log: (message: string) => void;
}

export interface LifecycleRun {
  /** `case run 1`, `guarantor claim`, `litigation`. */
  label: string;
  workflowId: string;
  runId: string;
  events: HistoryEvent[];
  wakes: Wake[];
  /** How the run ended: the last event's type (or `running`). */
  ended: string;
}

export interface Milestone {
  what: string;
  /** Days past due on the case calendar when it happened. */
  day: number;
  hand: number;
  /** The case's (current run's) history length just then: events so far, not settled. */
  caseEvents: number;
}

export interface LifecycleResult {
  caseId: string;
  policy: { name: string; version: number };
  caseRuns: LifecycleRun[];
  claim: LifecycleRun;
  suit: LifecycleRun;
  total: number;
  milestones: Milestone[];
  ledger: [string, number][];
  /** What time alone made the case do (each due instant should have had a timer wake). */
  dueInstants: number;
  lateHands: number;
  /** Steps of the suit that ran late (overdue tasks raised). */
  suitOverdue: number;
  final: Pick<CaseView, 'stage' | 'hand' | 'recovered' | 'recoveredAfterWriteOff' | 'legalCosts' | 'outstanding'> & {
    measures: { type: MeasureView['type']; state: MeasureView['state']; parties: string[] }[];
    writeOff: string | null;
  };
  wallMs: number;
  /** For placing a wall-clock instant on the case calendar: `dayOf(ms)` in days past due. */
  clock: { originMs: number; overdueSinceMs: number; dayMs: number };
}

/** Days past due on the case calendar at a wall-clock instant. */
export function dayOf(clock: LifecycleResult['clock'], wallMs: number): number {
  return (clock.originMs - clock.overdueSinceMs + ((wallMs - clock.originMs) * DAY_MS) / clock.dayMs) / DAY_MS;
}

/** The bench's policy: the standard ladder's actions and entry days, a compressed calendar,
 * the default auto-proposals, a short guarantor claim and short litigation steps. */
function lifecyclePolicy(db: Database, dayMs: number): Promise<CollectionPolicy> {
  return addPolicyVersion(db, {
    ...STANDARD_POLICY,
    name: `bench-lifecycle-${randomUUID().slice(0, 8)}`,
    description: `benchmark: the full lifecycle on the standard ladder with a case day of ${dayMs} ms`,
    dayMs,
    measureRules: {
      ...DEFAULT_MEASURE_RULES,
      guarantorClaimDays: LIFECYCLE.guarantorClaimDays,
      litigationStepDays: Object.fromEntries(LITIGATION_STEPS.map((s) => [s, LIFECYCLE.litigationStepDays])),
    },
  });
}

async function runsOf(client: Client, workflowId: string, firstRunId: string, label: (i: number) => string): Promise<LifecycleRun[]> {
  const runs: LifecycleRun[] = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const events: HistoryEvent[] = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const last: HistoryEvent | undefined = events.at(-1);
    runs.push({ label: label(runs.length + 1), workflowId, runId, events, wakes: splitWakes(events), ended: endedAs(last) });
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

function endedAs(last: HistoryEvent | undefined): string {
  if (last?.workflowExecutionCompletedEventAttributes) return 'completed';
  if (last?.workflowExecutionContinuedAsNewEventAttributes) return 'continued as new';
  if (last?.workflowExecutionTerminatedEventAttributes) return 'terminated';
  if (last?.workflowExecutionFailedEventAttributes) return 'failed';
  return 'running';
}

export async function measureLifecycle(deps: LifecycleDeps): Promise<LifecycleResult> {
  const { client, taskQueue, db, dayMs, sleep, log } = deps;
  const startedMs = Date.now();
  const policy = await lifecyclePolicy(db, dayMs);
  const facts = newLoan({
    loanId: `BENCHLC${randomUUID().slice(0, 6).toUpperCase()}`,
    secured: true,
    guarantors: [{ name: 'Li Na', idNumber: `1101011988${randomInt(10 ** 7, 10 ** 8)}`, phone: '+8613900139000', guaranteedAmount: LIFECYCLE.guaranteedAmount }],
  });
  const opened = await openCase(client, db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan: facts, policy });
  const { caseId } = opened.case;
  const handle = client.workflow.getHandle(caseId);
  const firstRunId = (await handle.describe()).runId;
  const children: string[] = [];
  try {
    const originMs = Date.parse(opened.case.openedAt);
    const overdueSinceMs = dateToMs(facts.overdueSince);
    const clock = { originMs, overdueSinceMs, dayMs };
    const caseDay = (wallMs: number) => dayOf(clock, wallMs);
    const milestones: Milestone[] = [];
    const milestone = async (what: string, view?: CaseView) => {
      const now = Date.now();
      const [description, state] = await Promise.all([handle.describe(), view ? Promise.resolve(view) : handle.query(caseStateQuery)]);
      milestones.push({ what, day: caseDay(now), hand: state.hand, caseEvents: description.historyLength });
    };
    await milestone('opened at day 0 (hand 1)', opened.case);

    /** Polls the case (its query) until `check` answers something. */
    const waitFor = async <T>(what: string, check: (view: CaseView) => T | undefined): Promise<T> => {
      const deadline = Date.now() + Math.max(LIFECYCLE.waitTimeoutMs, 130 * dayMs);
      for (;;) {
        const found = check(await handle.query(caseStateQuery));
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`full lifecycle: ${what} did not happen in time`);
        await sleep(100);
      }
    };
    const atHand = (hand: number) => waitFor(`hand ${hand}`, (v) => (v.hand >= hand ? v : undefined));
    const measureOf = (type: MeasureView['type'], state: MeasureView['state']) => (v: CaseView) =>
      v.measures.find((m) => m.type === type && m.state === state);
    /** An officer's or supervisor's message, as the API sends it: an update whose id is the request id under its name. */
    const send = async <M extends MessageMeta>(update: UpdateDefinition<MessageResult, [M]>, message: Omit<M, 'requestId'>): Promise<CaseView> => {
      const msg = { ...message, requestId: randomUUID() } as M;
      const result = await handle.executeUpdate(update, { args: [msg], updateId: `${update.name}:${msg.requestId}` });
      if (!result.applied) throw new Error(`full lifecycle: ${update.name} was not applied`);
      return result.case;
    };
    const plusDays = (date: string, days: number) => msToDate(dateToMs(date) + days * DAY_MS);

    // Hand 2: the officer reaches the borrower.
    await atHand(2);
    await milestone(
      'contact recorded (phone, answered)',
      await send(recordContactUpdate, { by: OFFICER, channel: 'phone', outcome: 'answered', note: 'Borrower says a payment is coming' }),
    );

    // Hand 3: a promise to pay, kept by a payment of the promised amount.
    const hand3 = await atHand(3);
    await send(promiseToPayUpdate, { by: OFFICER, amount: LIFECYCLE.promised, dueDate: plusDays(hand3.caseDate, 5) });
    const kept = await send(recordPaymentUpdate, {
      by: OFFICER,
      amount: LIFECYCLE.promised,
      paidAt: new Date().toISOString(),
      reference: `BENCH-${caseId}-1`,
    });
    if (kept.openPromise !== null) throw new Error('full lifecycle: the promise was not kept by the payment');
    await milestone('promise made, kept by a payment', kept);

    // Hand 4: the policy proposes a guarantor claim; a supervisor approves it, the officer starts it.
    const claim = await waitFor('the guarantor claim proposal', measureOf('guarantor_claim', 'proposed'));
    if (claim.proposedBy.sub !== 'workflow') throw new Error(`full lifecycle: the guarantor claim was proposed by ${claim.proposedBy.sub}`);
    await milestone('guarantor claim proposed by the policy');
    await send(decideMeasureUpdate, { by: SUPERVISOR, measureId: claim.measureId, decision: 'approve', reason: 'Guarantor is solvent' });
    const claimId = guarantorClaimWorkflowId(caseId, claim.measureId);
    children.push(claimId);
    await milestone(
      'guarantor claim approved and started',
      await send(reportMeasureUpdate, { by: OFFICER, measureId: claim.measureId, status: 'in_progress', note: 'Demand letter sent to the guarantor' }),
    );

    // The claim misses its deadline: the case proposes litigation including the guarantor.
    const suitMeasure = await waitFor('the litigation proposal after the failed claim', measureOf('litigation', 'proposed'));
    if (!suitMeasure.parties?.includes('guarantor:1')) throw new Error(`full lifecycle: the litigation names ${suitMeasure.parties?.join(', ')}, not the guarantor`);
    await milestone('claim missed its deadline; litigation proposed (borrower, guarantor)');
    await milestone(
      'note added',
      await send(addNoteUpdate, { by: OFFICER, summary: 'Guarantor refuses to pay', problems: 'Claim deadline passed', nextSteps: 'Litigation at hand 6' }),
    );

    // Hand 6: the litigation is approved and started; the suit runs as a child workflow.
    await atHand(6);
    await milestone('hand 6 reached');
    await send(decideMeasureUpdate, { by: SUPERVISOR_2, measureId: suitMeasure.measureId, decision: 'approve', reason: 'Collateral and guarantee support the claim' });
    const started = await send(reportMeasureUpdate, { by: OFFICER, measureId: suitMeasure.measureId, status: 'in_progress', note: 'File handed to the legal department' });
    await milestone('litigation approved and started', started);
    const suitId = litigationWorkflowId(caseId, suitMeasure.measureId);
    children.push(suitId);
    const suit = client.workflow.getHandle(suitId);
    await waitForSuit(suit, sleep);
    const report = (step: LitigationStep, extra: { note?: string; closing?: 'exhausted' } = {}) => {
      const msg = {
        requestId: randomUUID(),
        by: LAWYER,
        step,
        date: plusDays(started.caseDate, STEP_DATES[step]),
        documents: [`(2025)京0105民初${step}号`],
        ...extra,
      };
      return suit.executeUpdate(reportLitigationStepUpdate, { args: [msg], updateId: `${reportLitigationStepUpdate.name}:${msg.requestId}` });
    };
    for (const step of LITIGATION_STEPS) {
      if (step === 'closed') break;
      await report(step, step === 'judgment' ? { note: 'Judgment for the bank in full' } : {});
      if (step === 'filed') {
        const cost = { requestId: randomUUID(), by: OFFICER, amount: LIFECYCLE.legalCost, description: 'Court filing fee' };
        await suit.executeUpdate(recordLegalCostUpdate, { args: [cost], updateId: `${recordLegalCostUpdate.name}:${cost.requestId}` });
      }
    }
    const closed: LitigationView = await report('closed', { closing: 'exhausted', note: 'Enforcement found nothing to seize' });
    if (closed.outcome !== 'exhausted') throw new Error(`full lifecycle: the suit closed as ${closed.outcome}`);
    await waitFor('the failed litigation measure', measureOf('litigation', 'failed'));
    await milestone('suit reported to judgment, enforcement exhausted; measure failed');

    // Write-off: requested by one supervisor, approved with the finding by another.
    const beforeWriteOff = await handle.query(caseStateQuery);
    await send(requestWriteOffUpdate, { by: SUPERVISOR, reason: 'Litigation and enforcement exhausted', amount: beforeWriteOff.outstanding });
    const writtenOff = await send(decideWriteOffUpdate, {
      by: SUPERVISOR_2,
      decision: 'approve',
      reason: 'Every measure was tried',
      finding: { conclusion: 'no_fault', reasoning: 'Procedures followed at origination and in collection', riskFlags: ['guarantor_unwilling'] },
    });
    if (writtenOff.stage !== 'written_off') throw new Error(`full lifecycle: the case is ${writtenOff.stage} after the write-off`);
    await milestone('write-off requested and approved (finding)', writtenOff);

    // Money recovered afterwards is still credited.
    const after = await send(recordPaymentUpdate, {
      by: OFFICER,
      amount: LIFECYCLE.recoveredAfterWriteOff,
      paidAt: new Date().toISOString(),
      reference: `BENCH-${caseId}-2`,
    });
    await milestone('payment after the write-off', after);

    // Everything finished before counting: both children ended, the case settled with the ledger.
    await Promise.all(children.map((id) => client.workflow.getHandle(id).result()));
    await deps.settle(handle, 'the full-lifecycle case', async () => (await deps.ledgerStage(db, caseId)) === 'written_off');
    const final = await handle.query(caseStateQuery);
    const suitView = await suit.query(litigationStateQuery);

    const caseRuns = await runsOf(client, caseId, firstRunId, (i) => `case run ${i}`);
    const [claimRun] = await runsOf(client, claimId, (await client.workflow.getHandle(claimId).describe()).runId, () => 'guarantor claim');
    const [suitRun] = await runsOf(client, suitId, (await suit.describe()).runId, () => 'litigation');
    const ledger = await deps.ledgerEventTypes(db, caseId);
    const count = (type: string) => ledger.find(([t]) => t === type)?.[1] ?? 0;
    const all = [...caseRuns, claimRun!, suitRun!];
    log(`full lifecycle measured (${caseRuns.length} case run(s))`);
    return {
      caseId,
      policy: { name: policy.name, version: policy.version },
      caseRuns,
      claim: claimRun!,
      suit: suitRun!,
      total: all.reduce((n, r) => n + r.events.length, 0),
      milestones,
      ledger,
      dueInstants: count('hand_entered') - 1 + count('hand_entered_late') + count('task_repeated') + count('promise_broken'),
      lateHands: count('hand_entered_late'),
      suitOverdue: suitView.overdue.length,
      final: {
        stage: final.stage,
        hand: final.hand,
        recovered: final.recovered,
        recoveredAfterWriteOff: final.recoveredAfterWriteOff,
        legalCosts: final.legalCosts,
        outstanding: final.outstanding,
        measures: final.measures.map((m) => ({ type: m.type, state: m.state, parties: m.parties ?? [] })),
        writeOff: final.writeOff?.state ?? null,
      },
      wallMs: Date.now() - startedMs,
      clock,
    };
  } finally {
    // The written-off case waits for recoveries for ever: end it (and any child a failure left running).
    for (const id of [caseId, ...children]) {
      const h = client.workflow.getHandle(id);
      const status = await h.describe().then((d) => d.status.name, () => undefined);
      if (status === 'RUNNING') await h.terminate('benchmark done').catch(() => undefined);
    }
  }
}

/** Waits until the server has started the suit's child workflow and it answers. */
async function waitForSuit(suit: WorkflowHandle, sleep: (ms: number) => Promise<void>): Promise<void> {
  const deadline = Date.now() + LIFECYCLE.waitTimeoutMs;
  for (;;) {
    try {
      await suit.query(litigationStateQuery);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(100);
  }
}
