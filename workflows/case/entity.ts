import { uuid4 } from '@temporalio/workflow';
import type { WatchLink } from '../../domain/watch';
import { DEFAULT_AMOUNT_TIERS, DEFAULT_CLASSIFICATION, amountTier, classify, type ClassificationFacts } from '../../domain/classification';
import type { ClassifyCase } from '../../domain/messages';
import { DEFAULT_ALLOCATION_ORDER, noArrears, openingArrears, payArrears, totalOf, type ArrearsComponent, type CaseOutcome } from '../../domain/arrears';
import { applyArrearsReport, arrearsReportRefusal, type ReportArrears, type ReportedFacts } from '../../domain/arrears-report';
import type {
  CaseEventRecord,
  NotificationRecord,
  PaymentRecord,
  ProjectionBatch,
  TaskRecord,
} from '../../activities/contract';
import {
  DAY_MS,
  DEFAULT_GUARANTOR_CLAIM_DAYS,
  DEFAULT_LITIGATION_STEP_DAYS,
  DEFAULT_MEASURE_RULES,
  DEFAULT_RESTRUCTURING,
  PROCEEDS_MEASURE_TYPES,
  COVERING_MEASURE_TYPES,
  SCHEDULED_REPAYMENT_TYPES,
  LAST_HAND,
  MEASURE_TRANSITIONS,
  OPEN_MEASURE_STATES,
  SCHEDULED_MEASURE_TYPES,
  caseTime,
  containsNul,
  dateToMs,
  handForLadderDays,
  isMinorUnits,
  msToDate,
  ruleFor,
  wallTime,
  type Actor,
  type AddNote,
  type AssignOfficer,
  type CaseEventType,
  type CaseOpening,
  type CaseView,
  type DecideMeasure,
  type Hand,
  type HandAction,
  type MeasureRules,
  type MeasureType,
  type MeasureView,
  type MessageMeta,
  type NextActionView,
  type PauseCase,
  type PromiseToPay,
  type ProposeMeasure,
  type RecordContact,
  type RecordPayment,
  type DecideWriteOff,
  type GuarantorClaimInput,
  type ProceedsView,
  type LitigationInput,
  type LitigationResult,
  type GuarantorClaimResult,
  type Refusal,
  type ReportMeasure,
  type RequestWriteOff,
  type ResumeCase,
} from '../../domain';
import {
  INCIDENTS_KEPT,
  SEEN_REQUEST_IDS_KEPT,
  STATE_VERSION,
  upgradeState,
  type CaseState,
  type PauseState,
  type PromiseState,
} from './state';

/** Events the case makes of its own accord (timers), not on anyone's message. */
export const WORKFLOW_ACTOR: Actor = { sub: 'workflow', role: 'system' };

/** A hand entered more than this (wall-clock) after it fell due is recorded as entered late: a
 * timer fires within milliseconds, so a second means a worker outage or a backlog. */
export const LATE_AFTER_MS = 1_000;

interface Pending {
  events: CaseEventRecord[];
  payments: PaymentRecord[];
  notifications: NotificationRecord[];
  tasks: TaskRecord[];
  reassignTasksTo?: string;
  /** Measures whose state changed. */
  measureIds: string[];
  /** What the workflow does for the case once the batch is in the ledger (child workflows). */
  effects: Effect[];
  /** The ledger row needs rewriting even without an event. */
  dirty: boolean;
  parties?: ProjectionBatch['parties'];
}

/** Every officer message, by the name it has as a signal and as an update. */
export interface Messages {
  recordContact: RecordContact;
  recordPayment: RecordPayment;
  promiseToPay: PromiseToPay;
  addNote: AddNote;
  assignOfficer: AssignOfficer;
  pause: PauseCase;
  resume: ResumeCase;
  proposeMeasure: ProposeMeasure;
  decideMeasure: DecideMeasure;
  reportMeasure: ReportMeasure;
  requestWriteOff: RequestWriteOff;
  decideWriteOff: DecideWriteOff;
  classify: ClassifyCase;
}
export type MessageName = keyof Messages;

/** Signals and updates can come from any Temporal client, not only the validating API. */
const isPositiveAmount = (amount: unknown): boolean => isMinorUnits(amount) && amount > 0;

const emptyPending = (): Pending => ({ events: [], payments: [], notifications: [], tasks: [], measureIds: [], effects: [], dirty: false });

/** Work for the workflow beyond the ledger: a guarantor claim started, told of a payment, withdrawn. */
export type Effect =
  | { kind: 'startGuarantorClaim'; input: GuarantorClaimInput }
  | { kind: 'guarantorPayment'; measureId: string; payment: { payer: string; amount: number; reference: string } }
  | { kind: 'withdrawGuarantorClaim'; measureId: string; reason: string }
  | { kind: 'startLitigation'; input: LitigationInput }
  | { kind: 'withdrawLitigation'; measureId: string; reason: string };

const refusal = (reason: Refusal['reason'], detail: Record<string, unknown> = {}, field?: string): Refusal => ({
  reason,
  ...(field ? { field } : {}),
  detail,
});

type TimeItem =
  | { kind: 'instalment'; at: number; measureId: string; index: number }
  | { kind: 'pause_end'; at: number }
  | { kind: 'promise_end'; at: number }
  | { kind: 'escalation'; at: number }
  | { kind: 'repeat'; at: number; index: number }
  | { kind: 'follow_up'; at: number };

/**
 * The case's rules, apart from Temporal's plumbing: every message and every passage of time
 * changes `state` and queues what must be projected. Time is always passed in (the workflow
 * clock), so the same inputs give the same case on replay.
 *
 * `engine` is the behaviour the run follows: 1 for what cases recorded before the quiet-case
 * engine did (kept so their histories replay), 2 since. The workflow sets it from `patched()`.
 */
export class CaseEntity {
  private pending: Pending = emptyPending();
  engine: 1 | 2 = 2;
  /** The policy proposes measures on entering a hand (set from `patched()` by the workflow). */
  planProposals = true;
  /** Legal costs join the arrears where the policy recovers them, and a settlement agreement
   * closes the case once paid (set from `patched()` by the workflow). */
  arrearsByComponent = true;
  /** Recovery likelihood and amount tier by the policy's rules (set from `patched()`). */
  classifying = true;

  private constructor(readonly state: CaseState) {}

  static open(
    opening: CaseOpening,
    caseId: string,
    episodeRunId: string,
    nowMs: number,
    behaviour: { engine: 1 | 2; planProposals: boolean; classifying: boolean },
  ): CaseEntity {
    const { loan, policy } = opening;
    const entity = new CaseEntity({
      stateVersion: STATE_VERSION,
      caseId,
      episode: opening.episode ?? null,
      episodeRunId,
      loan,
      openingRequestId: opening.requestId,
      policy,
      clock: { originMs: nowMs, dayMs: policy.dayMs },
      stage: 'collecting',
      hand: 1,
      handFloor: 1,
      officerId: loan.officerId ?? null,
      outstanding: loan.outstanding,
      overdue: loan.overdue,
      arrears: openingArrears(loan.overdue, loan.arrears),
      recovered: 0,
      creditToReturn: 0,
      outcome: null,
      settlement: null,
      reentry: null,
      classification: null,
      tier: null,
      brokenPromises: 0,
      lastContactOutcome: null,
      followUpAtCaseMs: null,
      pausedCaseMs: 0,
      pause: null,
      openPromise: null,
      recurring: [],
      seenRequestIds: [opening.requestId],
      paymentReferences: [],
      eventSeq: 0,
      version: 0,
      projectedVersion: 0,
      lastEvent: null,
      lastAdvancedMs: nowMs,
      incidents: [],
      measures: [],
      heldCaseMs: 0,
      hold: null,
      writeOff: null,
      recoveredAfterWriteOff: 0,
      officersInvolved: loan.officerId ? [loan.officerId] : [],
      paidByGuarantor: {},
      legalCosts: 0,
      collateralStatus: loan.collateral.map(() => 'held'),
      openedAt: new Date(nowMs).toISOString(),
      closedAt: null,
      continueAsNewAfterEvents: opening.continueAsNewAfterEvents ?? null,
    });
    entity.engine = behaviour.engine;
    entity.planProposals = behaviour.planProposals;
    // Openings made before intake kept the parties in PostgreSQL carry them: the ledger takes them
    // with the first batch. Newer openings carry a reference only (intake wrote the parties).
    if (loan.borrower) entity.pending.parties = { borrower: loan.borrower, guarantors: loan.guarantors as NonNullable<ProjectionBatch['parties']>['guarantors'] };
    entity.record('case_opened', opening.by, opening.requestId, nowMs, {
      loanId: loan.loanId,
      policy: { name: policy.name, version: policy.version },
      daysPastDue: entity.daysPastDue(nowMs),
      overdue: loan.overdue,
      arrears: entity.state.arrears,
      outstanding: loan.outstanding,
      currency: loan.currency,
      officerId: loan.officerId ?? null,
    });
    entity.classifying = behaviour.classifying;
    entity.enterOpeningHand(nowMs);
    entity.armFollowUps(nowMs);
    entity.reclassify(nowMs);
    return entity;
  }

  /** Personal data an opening from before intake kept the parties carried: the ledger has it since
   * the first batch, so the next run of the case does without. */
  get carriesParties(): boolean {
    return this.state.loan.borrower !== undefined;
  }

  forgetParties(): void {
    const { loan } = this.state;
    delete loan.borrower;
    loan.guarantors = loan.guarantors.map(({ guaranteedAmount }) => (guaranteedAmount === undefined ? {} : { guaranteedAmount }));
  }

  static continued(state: CaseState, nowMs: number): CaseEntity {
    return new CaseEntity(upgradeState(state, nowMs));
  }

  /** Collection has ended: recovered, or written off. */
  get closed(): boolean {
    return this.state.stage === 'recovered' || this.state.stage === 'written_off';
  }

  /** Collection ends (recovered, or written off): nothing more falls due, and measures still
   * open are cancelled, their child workflows withdrawn. */
  private endCollection(outcome: CaseOutcome, at: string, why: string): void {
    const { state } = this;
    for (const measure of state.measures.filter((x) => OPEN_MEASURE_STATES.includes(x.state))) {
      if (measure.state === 'in_progress' && measure.type === 'guarantor_claim') {
        this.pending.effects.push({ kind: 'withdrawGuarantorClaim', measureId: measure.measureId, reason: why });
      }
      if (measure.state === 'in_progress' && measure.type === 'litigation') {
        this.pending.effects.push({ kind: 'withdrawLitigation', measureId: measure.measureId, reason: why });
      }
      measure.state = 'cancelled';
      measure.endedAt = at;
      measure.lastNote = why;
      this.pending.measureIds.push(measure.measureId);
    }
    state.stage = outcome === 'written_off' ? 'written_off' : 'recovered';
    state.outcome = outcome;
    state.pause = null;
    state.openPromise = null;
    state.hold = null;
    state.recurring = [];
    state.followUpAtCaseMs = null;
    state.closedAt = at;
  }

  /** The run ends: recovered, or written off and nothing left to recover. Until then a
   * written-off case waits, quietly, for recoveries of written-off debt. */
  get finished(): boolean {
    return this.state.stage === 'recovered' || (this.state.stage === 'written_off' && this.state.outstanding === 0);
  }

  hasPending(): boolean {
    return this.hasProjectable() || this.pending.effects.length > 0;
  }

  /** Something for the ledger: the next batch. */
  private hasProjectable(): boolean {
    const p = this.pending;
    return p.dirty || p.events.length > 0 || p.tasks.length > 0 || p.notifications.length > 0 || p.measureIds.length > 0;
  }

  // ---- the case calendar -------------------------------------------------------------

  private caseNow(nowMs: number): number {
    return caseTime(this.state.clock, nowMs);
  }

  private pausedCaseMs(nowMs: number): number {
    const { pause, pausedCaseMs } = this.state;
    return pausedCaseMs + (pause ? this.caseNow(nowMs) - pause.sinceCaseMs : 0);
  }

  /** Case time the ladder waited for measures with schedules of their own, the running one included. */
  private heldCaseMs(nowMs: number): number {
    const { hold, heldCaseMs } = this.state;
    return heldCaseMs + (hold ? this.caseNow(nowMs) - hold.sinceCaseMs : 0);
  }

  /** Days past due less paused and held days, in ms of case time: what the ladder runs on. */
  private ladderMs(nowMs: number): number {
    return this.caseNow(nowMs) - dateToMs(this.state.loan.overdueSince) - this.pausedCaseMs(nowMs) - this.heldCaseMs(nowMs);
  }

  daysPastDue(nowMs: number): number {
    return Math.max(0, Math.floor((this.caseNow(nowMs) - dateToMs(this.state.loan.overdueSince)) / DAY_MS));
  }

  private caseToday(nowMs: number): string {
    return msToDate(this.caseNow(nowMs));
  }

  /** The open promise as of `nowMs`: one whose due date has ended is judged, not open. */
  private promiseAt(nowMs: number): PromiseState | null {
    const promise = this.state.openPromise;
    return promise && this.caseNow(nowMs) < promise.dueAtCaseMs ? promise : null;
  }

  /** The pause as of `nowMs`: one whose end date has come is over. */
  private pauseAt(nowMs: number): PauseState | null {
    const pause = this.state.pause;
    return pause && !(pause.untilCaseMs !== null && this.caseNow(nowMs) >= pause.untilCaseMs) ? pause : null;
  }

  /** When the hand above the current one falls due by days, or null while it cannot (paused,
   * held by a promise, last hand, closed). */
  private nextEscalationMs(): number | null {
    const { state } = this;
    if (this.closed || state.pause || state.openPromise || state.hold || state.hand >= LAST_HAND) return null;
    return this.escalationAfter(state.hand);
  }

  nextAction(): NextActionView | null {
    const { state } = this;
    const candidates: NextActionView[] = [];
    const escalation = this.nextEscalationMs();
    if (escalation !== null) {
      candidates.push({ type: 'escalate', at: new Date(escalation).toISOString(), hand: (state.hand + 1) as Hand });
    }
    if (state.openPromise) {
      const at = wallTime(state.clock, state.openPromise.dueAtCaseMs);
      candidates.push({ type: 'promise_due', at: new Date(at).toISOString(), hand: null });
    }
    if (state.pause?.untilCaseMs != null) {
      const at = wallTime(state.clock, state.pause.untilCaseMs);
      candidates.push({ type: 'resume', at: new Date(at).toISOString(), hand: null });
    }
    const nextInstalment = this.restructuring?.schedule?.find((x) => x.status === 'due');
    if (nextInstalment) {
      candidates.push({ type: 'instalment_due', at: new Date(this.instalmentDeadline(nextInstalment.dueDate)).toISOString(), hand: null });
    }
    if (this.closed || candidates.length === 0) return null;
    return candidates.reduce((a, b) => (Date.parse(b.at) < Date.parse(a.at) ? b : a));
  }

  /** The next instant time alone changes the case: an escalation, a promise's end, a pause's
   * end or a repeated task. Nothing else wakes a case (engine 1 also woke daily). */
  nextWakeMs(nowMs: number): number | null {
    if (this.closed) return null;
    const times = [this.nextAction()?.at].filter((t): t is string => t !== undefined).map(Date.parse);
    if (!this.state.pause) for (const r of this.state.recurring) times.push(wallTime(this.state.clock, r.nextAtCaseMs));
    if (!this.state.pause && this.state.followUpAtCaseMs !== null) times.push(wallTime(this.state.clock, this.state.followUpAtCaseMs));
    if (this.engine === 1) {
      const dayStart = Math.floor(this.caseNow(nowMs) / DAY_MS) * DAY_MS;
      times.push(Math.max(wallTime(this.state.clock, dayStart + DAY_MS), nowMs + 60_000));
    }
    return times.length === 0 ? null : Math.min(...times);
  }

  // ---- time passing --------------------------------------------------------------------

  /**
   * Applies everything that fell due by `nowMs`, each at its own instant and in the order it
   * fell due: a pause's end, a promise's end, each hand in turn, repeated tasks. A case woken
   * late (a worker outage) enters every hand it passed, records the delay, and runs the
   * actions of the hand it stays in; those of hands it passed through are recorded as superseded.
   */
  advance(nowMs: number): void {
    if (this.engine === 1) return;
    const { state } = this;
    let cursor = state.lastAdvancedMs;
    for (let item = this.nextDue(cursor, nowMs); item; item = this.nextDue(cursor, nowMs)) {
      const at = Math.max(item.at, cursor);
      cursor = at;
      if (item.kind === 'pause_end') this.endPause(WORKFLOW_ACTOR, null, at, nowMs, true);
      else if (item.kind === 'promise_end') this.breakPromise(nowMs);
      else if (item.kind === 'repeat') this.repeatTask(item.index, at, nowMs);
      else if (item.kind === 'instalment') this.instalmentFellDue(item.measureId, item.index, nowMs);
      else if (item.kind === 'follow_up') this.raiseFollowUp(at, nowMs);
      else this.escalate(at, nowMs);
    }
    state.lastAdvancedMs = Math.max(state.lastAdvancedMs, nowMs);
  }

  private nextDue(cursor: number, nowMs: number): TimeItem | null {
    const { state } = this;
    if (this.closed) return null;
    const items: TimeItem[] = [];
    if (state.pause?.untilCaseMs != null) items.push({ kind: 'pause_end', at: wallTime(state.clock, state.pause.untilCaseMs) });
    if (state.openPromise) items.push({ kind: 'promise_end', at: wallTime(state.clock, state.openPromise.dueAtCaseMs) });
    if (!state.pause && !state.openPromise && !state.hold) {
      if (state.handFloor > state.hand) items.push({ kind: 'escalation', at: cursor });
      else {
        const escalation = this.nextEscalationMs();
        if (escalation !== null) items.push({ kind: 'escalation', at: escalation });
      }
    }
    if (!state.pause) state.recurring.forEach((r, index) => items.push({ kind: 'repeat', at: wallTime(state.clock, r.nextAtCaseMs), index }));
    if (!state.pause && state.followUpAtCaseMs !== null) items.push({ kind: 'follow_up', at: wallTime(state.clock, state.followUpAtCaseMs) });
    const watched = this.restructuring;
    watched?.schedule?.forEach((instalment, index) => {
      if (instalment.status === 'due') items.push({ kind: 'instalment', at: this.instalmentDeadline(instalment.dueDate), measureId: watched.measureId, index });
    });
    // Ties keep this order: a pause ends, a promise is judged, the case escalates, a task repeats.
    const due = items.filter((item) => item.at <= nowMs);
    return due.length === 0 ? null : due.reduce((a, b) => (b.at < a.at ? b : a));
  }

  private breakPromise(nowMs: number): void {
    const { state } = this;
    const promise = state.openPromise!;
    state.openPromise = null;
    this.record('promise_broken', WORKFLOW_ACTOR, null, nowMs, {
      amount: promise.amount,
      dueDate: promise.dueDate,
      paidSoFar: promise.paidSoFar,
      promisedBy: promise.by,
      rule: { policy: state.policy.name, version: state.policy.version, rule: 'promise_broken_escalates' },
    });
    state.brokenPromises += 1;
    this.reclassify(nowMs);
    // A broken promise escalates at once; while paused it takes effect on resume.
    state.handFloor = Math.min(LAST_HAND, Math.max(state.handFloor, state.hand + 1)) as Hand;
  }

  /** The policy's follow-ups start once the case reaches their hand, and keep their rhythm. */
  private armFollowUps(nowMs: number): void {
    const { state } = this;
    const rule = state.policy.followUps;
    if (!rule || state.followUpAtCaseMs !== null || state.hand < rule.fromHand) return;
    state.followUpAtCaseMs = this.caseNow(nowMs) + rule.everyDays * DAY_MS;
  }

  /** A supervisors' phone follow-up (定期电话回访) on the officer's work: a task for the branch's
   * supervisors (no officer of its own), naming the officer to ask about. */
  private raiseFollowUp(atMs: number, nowMs: number): void {
    const { state } = this;
    const rule = state.policy.followUps!;
    const eventId = this.record('follow_up_raised', WORKFLOW_ACTOR, null, nowMs, {
      task: 'phone_follow_up',
      hand: state.hand,
      officerId: state.officerId,
      dueAt: new Date(atMs).toISOString(),
      rule: { policy: state.policy.name, version: state.policy.version, rule: 'followUps', everyDays: rule.everyDays },
    });
    this.pending.tasks.push({
      id: `${eventId}:0`,
      type: 'phone_follow_up',
      hand: state.hand,
      officerId: null,
      dueAt: new Date(wallTime(state.clock, this.caseNow(nowMs) + DAY_MS)).toISOString(),
    });
    const every = rule.everyDays * DAY_MS;
    const caseNow = Math.max(this.caseNow(atMs), this.caseNow(nowMs));
    state.followUpAtCaseMs! += Math.max(1, Math.ceil((caseNow - state.followUpAtCaseMs! + 1) / every)) * every;
  }

  private repeatTask(index: number, atMs: number, nowMs: number): void {
    const r = this.state.recurring[index]!;
    const caseAt = this.caseNow(atMs);
    const eventId = this.record('task_repeated', WORKFLOW_ACTOR, null, nowMs, {
      task: r.task,
      hand: r.hand,
      dueAt: new Date(atMs).toISOString(),
    });
    this.queueTask(eventId, 0, r.task, r.hand, this.caseNow(nowMs) + DAY_MS);
    // One task however long the worker was away; the next one keeps the rhythm, and always
    // moves ahead (on a compressed calendar a case millisecond is below the clock's precision).
    const every = r.everyDays * DAY_MS;
    const caseNow = Math.max(caseAt, this.caseNow(nowMs));
    r.nextAtCaseMs += Math.max(1, Math.ceil((caseNow - r.nextAtCaseMs + 1) / every)) * every;
  }

  /** Enters the hand above the current one at `atMs`, the instant it fell due. */
  private escalate(atMs: number, nowMs: number): void {
    const { state } = this;
    const hand = (state.hand + 1) as Hand;
    // The floor (a broken promise) lifted the case before its days would have.
    const byPromise = state.handFloor > state.hand && this.escalationAfter(state.hand) > atMs;
    const delayMs = nowMs - atMs;
    const late = delayMs > LATE_AFTER_MS;
    // Passed through on the way to a higher hand that is already due: its actions are stale.
    const supersededAt = hand < LAST_HAND && (state.handFloor > hand || this.escalationAfter(hand) <= nowMs);
    const from = state.hand;
    const rule = ruleFor(state.policy, hand);
    state.hand = hand;
    state.handFloor = Math.max(state.handFloor, hand) as Hand;
    const reentry = byPromise && state.reentry !== null && hand <= state.reentry.hand ? state.reentry : null;
    if (state.reentry && hand >= state.reentry.hand) state.reentry = null;
    const payload: Record<string, unknown> = {
      hand,
      from,
      approach: rule.approach,
      reason: reentry ? 'reentry' : byPromise ? 'broken_promise' : 'days',
      ...(reentry
        ? { after: { measureId: reentry.measureId, rule: { policy: state.policy.name, version: state.policy.version, rule: 'measureRules.reentryHand', hand: reentry.hand } } }
        : {}),
      ladderDays: Math.floor(this.ladderMs(atMs) / DAY_MS + 1e-9),
      skipped: [],
      actions: supersededAt ? rule.actions.map((a) => ({ ...a, status: 'superseded' })) : rule.actions,
      rule: { policy: state.policy.name, version: state.policy.version, hand, entersAtDay: rule.entersAtDay },
      ...(late ? { dueAt: new Date(atMs).toISOString(), delayMs: Math.round(delayMs) } : {}),
    };
    const eventId = this.record(late ? 'hand_entered_late' : 'hand_entered', WORKFLOW_ACTOR, null, nowMs, payload);
    state.recurring = [];
    this.armFollowUps(nowMs);
    this.reclassify(nowMs);
    if (supersededAt) return;
    this.runActions(eventId, rule.actions, hand, atMs, nowMs);
    this.proposeByPolicy(hand, nowMs);
  }

  /** When the hand above `hand` would fall due, the pause time so far counted. */
  private escalationAfter(hand: Hand): number {
    const { state } = this;
    const next = ruleFor(state.policy, (hand + 1) as Hand);
    return wallTime(state.clock, dateToMs(state.loan.overdueSince) + state.pausedCaseMs + state.heldCaseMs + next.entersAtDay * DAY_MS);
  }

  private runActions(eventId: string, actions: HandAction[], hand: Hand, atMs: number, nowMs: number): void {
    const { state } = this;
    const caseAt = this.caseNow(Math.max(atMs, nowMs));
    actions.forEach((action, i) => {
      if (action.kind === 'notify') {
        this.pending.notifications.push({
          id: `${eventId}:${i}`,
          channel: action.channel,
          template: action.template,
          recipient: action.recipient,
          payload: {
            caseId: state.caseId,
            loanId: state.loan.loanId,
            hand,
            currency: state.loan.currency,
            overdue: state.overdue,
            daysPastDue: this.daysPastDue(nowMs),
          },
        });
      } else {
        this.queueTask(eventId, i, action.task, hand, caseAt + action.dueInDays * DAY_MS);
        if (action.repeatEveryDays) {
          state.recurring.push({
            task: action.task,
            hand,
            everyDays: action.repeatEveryDays,
            nextAtCaseMs: this.caseNow(atMs) + action.repeatEveryDays * DAY_MS,
          });
        }
      }
    });
  }

  /** The hand a new case's days dictate, entered at once; the hands below it are recorded as
   * skipped at intake, not as missed. */
  private enterOpeningHand(nowMs: number): void {
    const { state } = this;
    const hand = handForLadderDays(state.policy, this.ladderMs(nowMs) / DAY_MS);
    const ladderDays = Math.floor(this.ladderMs(nowMs) / DAY_MS);
    const rule = ruleFor(state.policy, hand);
    state.hand = hand;
    state.handFloor = hand;
    const eventId = this.record('hand_entered', WORKFLOW_ACTOR, null, nowMs, {
      hand,
      from: null,
      approach: rule.approach,
      reason: 'opening',
      ladderDays,
      skipped: state.policy.hands
        .filter((r) => r.hand < hand)
        .map((r) => ({
          hand: r.hand,
          entersAtDay: r.entersAtDay,
          reason: `case opened at ${ladderDays} days past due, beyond this hand's entry at day ${r.entersAtDay}`,
        })),
      actions: rule.actions,
      ...(this.engine === 2 ? { rule: { policy: state.policy.name, version: state.policy.version, hand, entersAtDay: rule.entersAtDay } } : {}),
    });
    state.recurring = [];
    this.runActions(eventId, rule.actions, hand, nowMs, nowMs);
    this.proposeByPolicy(hand, nowMs);
  }

  private queueTask(eventId: string, index: number, task: TaskRecord['type'], hand: Hand, dueAtCaseMs: number): void {
    this.pending.tasks.push({
      id: `${eventId}:${index}`,
      type: task,
      hand,
      officerId: this.state.officerId,
      dueAt: new Date(wallTime(this.state.clock, dueAtCaseMs)).toISOString(),
    });
  }

  // ---- officers' messages --------------------------------------------------------------

  /** True when the case has already taken this request id (a retry, or a replayed signal). */
  seen(msg: MessageMeta): boolean {
    return this.state.seenRequestIds.includes(msg.requestId);
  }

  private remember(msg: MessageMeta): void {
    const seen = this.state.seenRequestIds;
    seen.push(msg.requestId);
    if (seen.length > SEEN_REQUEST_IDS_KEPT) seen.splice(0, seen.length - SEEN_REQUEST_IDS_KEPT);
  }

  /**
   * Why the case, as of `nowMs`, would refuse the message; null when it would take it. Pure:
   * update validators call it, and they may not change the case.
   */
  refusalOf<N extends MessageName>(name: N, msg: Messages[N], nowMs: number): Refusal | null {
    const { state } = this;
    const recoveryAfterWriteOff = state.stage === 'written_off' && name === 'recordPayment';
    if (this.closed && !recoveryAfterWriteOff) return refusal('case_closed', { stage: state.stage });
    const nul = containsNul(msg);
    if (nul !== null) return refusal('invalid_text', { expected: 'text without NUL (\\u0000) characters' }, nul);
    const today = this.caseToday(nowMs);
    switch (name) {
      case 'recordPayment': {
        const m = msg as RecordPayment;
        if (!isPositiveAmount(m.amount)) {
          return refusal('invalid_amount', { expected: 'a positive integer of minor units: 12.50 CNY is 1250' }, 'amount');
        }
        if (state.paymentReferences.includes(m.reference)) {
          return refusal('duplicate_reference', { reference: m.reference }, 'reference');
        }
        const paidAtMs = Date.parse(m.paidAt);
        if (Number.isNaN(paidAtMs)) return refusal('paid_at_in_future', { expected: 'RFC 3339 date-time with zone' }, 'paidAt');
        if (paidAtMs > nowMs) return refusal('paid_at_in_future', { paidAt: m.paidAt, now: new Date(nowMs).toISOString() }, 'paidAt');
        return this.payerRefusal(m.payer);
      }
      case 'promiseToPay': {
        const m = msg as PromiseToPay;
        if (!isPositiveAmount(m.amount)) {
          return refusal('invalid_amount', { expected: 'a positive integer of minor units: 12.50 CNY is 1250' }, 'amount');
        }
        const open = this.promiseAt(nowMs);
        if (open) return refusal('promise_already_open', { dueDate: open.dueDate, amount: open.amount });
        const latest = msToDate(dateToMs(today) + state.policy.maxPromiseDays * DAY_MS);
        const window = { caseDate: today, earliestDueDate: today, latestDueDate: latest, format: 'YYYY-MM-DD' };
        if (typeof m.dueDate !== 'string' || m.dueDate < today) return refusal('promise_date_not_ahead', window, 'dueDate');
        if (m.dueDate > latest) return refusal('promise_date_too_far', { ...window, maxPromiseDays: state.policy.maxPromiseDays }, 'dueDate');
        return null;
      }
      case 'assignOfficer': {
        const m = msg as AssignOfficer;
        return state.officerId === m.officerId ? refusal('same_officer', { officerId: m.officerId }, 'officerId') : null;
      }
      case 'pause': {
        const m = msg as PauseCase;
        const pause = this.pauseAt(nowMs);
        if (pause) return refusal('already_paused', { since: pause.since, until: pause.until });
        if (m.until !== undefined && !(m.until > today)) {
          return refusal('pause_end_not_ahead', { caseDate: today, earliestUntil: msToDate(dateToMs(today) + DAY_MS), format: 'YYYY-MM-DD' }, 'until');
        }
        return null;
      }
      case 'resume':
        return this.pauseAt(nowMs) ? null : refusal('not_paused', { stage: state.stage });
      case 'proposeMeasure':
        return this.proposalRefusal(msg as ProposeMeasure);
      case 'decideMeasure':
        return this.decisionRefusal(msg as DecideMeasure, nowMs);
      case 'reportMeasure':
        return this.reportRefusal(msg as ReportMeasure);
      case 'requestWriteOff':
        return this.writeOffRequestRefusal(msg as RequestWriteOff);
      case 'decideWriteOff':
        return this.writeOffDecisionRefusal(msg as DecideWriteOff);
      case 'classify':
        return this.classificationRefusal(msg as ClassifyCase);
      default:
        return null;
    }
  }

  // ---- payers -------------------------------------------------------------------------------

  /** `guarantor:<n>` names the n-th guarantor (from 1); anything else but `borrower` is unknown. */
  private guarantorOf(payer: string | undefined): { key: string; cap: number | null } | null {
    const match = /^guarantor:(\d+)$/.exec(payer ?? '');
    const guarantor = match ? this.state.loan.guarantors[Number(match[1]) - 1] : undefined;
    return guarantor ? { key: payer!, cap: guarantor.guaranteedAmount ?? null } : null;
  }

  private payerRefusal(payer: string | undefined): Refusal | null {
    // `measure:<id>`: a share of a measure's proceeds (a collateral sale covering this case).
    if (payer === undefined || payer === 'borrower' || /^measure:[0-9a-f-]{36}$/.test(payer)) return null;
    const guarantor = this.guarantorOf(payer);
    if (!guarantor) {
      const known = ['borrower', ...this.state.loan.guarantors.map((_, i) => `guarantor:${i + 1}`)];
      return refusal('unknown_payer', { payer, known }, 'payer');
    }
    if (guarantor.cap !== null && (this.state.paidByGuarantor[guarantor.key] ?? 0) >= guarantor.cap) {
      return refusal('guarantee_exhausted', { payer, guaranteed: guarantor.cap });
    }
    return null;
  }

  // ---- write-off and accountability (呆账核销, 责任认定) ---------------------------------------

  /** Litigation and enforcement are exhausted: a litigation measure ran and failed. */
  private get litigationExhausted(): boolean {
    return this.state.measures.some((m) => m.type === 'litigation' && m.state === 'failed');
  }

  private writeOffRequestRefusal(m: RequestWriteOff): Refusal | null {
    const { state } = this;
    if (state.writeOff?.state === 'requested') return refusal('write_off_pending', { requestedBy: state.writeOff.requestedBy, requestedAt: state.writeOff.requestedAt });
    if (!isPositiveAmount(m.amount) || m.amount > state.outstanding) {
      return refusal('invalid_amount', { expected: 'a whole number of minor units, more than 0 and at most the outstanding', outstanding: state.outstanding }, 'amount');
    }
    const overridden = m.overrideReason !== undefined && (m.by.role === 'supervisor' || m.by.role === 'admin');
    if (!this.litigationExhausted && !overridden) {
      const litigation = state.measures.filter((x) => x.type === 'litigation').map((x) => ({ measureId: x.measureId, state: x.state }));
      return refusal('write_off_not_exhausted', { litigation, override: 'a supervisor\'s overrideReason' });
    }
    return null;
  }

  private writeOffDecisionRefusal(m: DecideWriteOff): Refusal | null {
    const request = this.state.writeOff;
    if (request?.state !== 'requested') return refusal('no_write_off_request', { writeOff: request?.state ?? null });
    if (m.by.sub === request.requestedBy.sub) return refusal('four_eyes', { proposedBy: request.requestedBy });
    if (m.decision === 'approve' && !m.finding) {
      return refusal('finding_required', { expected: 'finding: { conclusion, reasoning, riskFlags }' }, 'finding');
    }
    return null;
  }

  private requestWriteOff(m: RequestWriteOff, nowMs: number): void {
    this.state.writeOff = {
      state: 'requested',
      reason: m.reason,
      amount: m.amount,
      overrideReason: m.overrideReason ?? null,
      requestedBy: m.by,
      requestedAt: new Date(nowMs).toISOString(),
      decision: null,
      finding: null,
    };
    this.record('write_off_requested', m.by, m.requestId, nowMs, {
      reason: m.reason,
      amount: m.amount,
      currency: this.state.loan.currency,
      overrideReason: m.overrideReason ?? null,
      litigationExhausted: this.litigationExhausted,
    });
  }

  /** Approval charges the loss off (the accounting step, once) and ends collection (the
   * write-off); the finding names who was involved. Rejection leaves the case collecting. */
  private decideWriteOff(m: DecideWriteOff, nowMs: number): void {
    const { state } = this;
    const request = state.writeOff!;
    const at = new Date(nowMs).toISOString();
    request.decision = { decision: m.decision, by: m.by, at, reason: m.reason };
    if (m.decision === 'reject') {
      request.state = 'rejected';
      this.record('write_off_rejected', m.by, m.requestId, nowMs, { reason: m.reason, requestedBy: request.requestedBy });
      return;
    }
    const approvers = [
      ...new Set([
        ...state.measures.flatMap((x) => (x.decision ? [x.decision.by.sub] : [])),
        request.requestedBy.sub,
        m.by.sub,
      ]),
    ];
    request.state = 'approved';
    const origination = state.loan.origination ?? null;
    request.finding = {
      ...m.finding!,
      // The risk flags known at origination stand beside those the finding names.
      riskFlags: [...new Set([...(origination?.riskFlags ?? []), ...m.finding!.riskFlags])],
      involved: { officers: [...state.officersInvolved], approvers, origination },
    };
    this.record('charged_off', m.by, m.requestId, nowMs, { amount: request.amount, currency: state.loan.currency, outstanding: state.outstanding });
    this.endCollection('written_off', at, 'cancelled by the write-off');
    this.record('case_written_off', m.by, m.requestId, nowMs, {
      reason: request.reason,
      amount: request.amount,
      requestedBy: request.requestedBy,
      finding: request.finding,
      hand: state.hand,
    });
  }

  // ---- the plan (一户一策) ------------------------------------------------------------------

  private get measureRules(): MeasureRules {
    return this.state.policy.measureRules ?? DEFAULT_MEASURE_RULES;
  }

  private measure(measureId: string): MeasureView | undefined {
    return this.state.measures.find((m) => m.measureId === measureId);
  }

  private openMeasureOf(type: MeasureType): MeasureView | undefined {
    return this.state.measures.find((m) => m.type === type && OPEN_MEASURE_STATES.includes(m.state));
  }

  private proposalRefusal(m: ProposeMeasure): Refusal | null {
    const { state } = this;
    const rules = this.measureRules;
    if (this.measure(m.measureId)) return refusal('duplicate_measure', { measureId: m.measureId }, 'measureId');
    if (!isMinorUnits(m.expectedRecovery)) {
      return refusal('invalid_amount', { expected: 'a whole number of minor units: 12.50 CNY is 1250' }, 'expectedRecovery');
    }
    if (m.type === 'public_notice' && !rules.compliance.publicNotice) {
      return refusal('compliance_flag_off', { flag: 'compliance.publicNotice', policy: state.policy.name, version: state.policy.version }, 'type');
    }
    if (m.covers !== undefined && (!COVERING_MEASURE_TYPES.includes(m.type) || m.covers.includes(state.caseId) || new Set(m.covers).size !== m.covers.length)) {
      return refusal('covers_invalid', { expected: `other cases of the household, for ${COVERING_MEASURE_TYPES.join(' or ')}` }, 'covers');
    }
    const scheduleProblem = this.scheduleProblem(m);
    if (scheduleProblem) return refusal('schedule_invalid', { problem: scheduleProblem, overdue: state.overdue, caseDate: msToDate(this.caseNow(state.lastAdvancedMs)) }, 'schedule');
    const minHand = rules.minHand[m.type] ?? 1;
    if (state.hand < minHand) return refusal('measure_not_allowed_at_hand', { type: m.type, minHand, hand: state.hand }, 'type');
    const open = this.openMeasureOf(m.type);
    if (open) return refusal('measure_already_open', { measureId: open.measureId, state: open.state });
    return null;
  }

  private decisionRefusal(m: DecideMeasure, nowMs: number): Refusal | null {
    const measure = this.measure(m.measureId);
    if (!measure) return refusal('unknown_measure', { measureId: m.measureId }, 'measureId');
    if (measure.state !== 'proposed') {
      return refusal('measure_already_decided', { measureId: m.measureId, state: measure.state, decision: measure.decision });
    }
    const pause = this.pauseAt(nowMs);
    if (pause) return refusal('case_paused', { since: pause.since, until: pause.until });
    if (m.by.sub === measure.proposedBy.sub) return refusal('four_eyes', { proposedBy: measure.proposedBy });
    return null;
  }

  private reportRefusal(m: ReportMeasure): Refusal | null {
    const measure = this.measure(m.measureId);
    if (!measure) return refusal('unknown_measure', { measureId: m.measureId }, 'measureId');
    const allowed = MEASURE_TRANSITIONS[measure.state] ?? [];
    if (!allowed.includes(m.status)) return refusal('measure_transition_not_allowed', { state: measure.state, allowed }, 'status');
    if (m.proceeds) {
      const p = m.proceeds;
      const problem = !PROCEEDS_MEASURE_TYPES.includes(measure.type)
        ? `are recorded only for ${PROCEEDS_MEASURE_TYPES.join(' and ')}`
        : measure.state !== 'in_progress' && !(measure.state === 'approved' && m.status === 'in_progress')
          ? 'are recorded while the measure is in progress'
          : !isMinorUnits(p.gross) || !isMinorUnits(p.costs) || p.costs > p.gross
            ? 'gross and costs must be whole minor units, costs at most gross'
            : (measure.proceeds ?? []).some((x) => x.reference === p.reference)
              ? `${p.reference} is already recorded`
              : p.allocated.some((a) => !measure.covers?.includes(a.caseId) || !isPositiveAmount(a.amount)) ||
                  p.allocated.reduce((sum, a) => sum + a.amount, 0) > p.gross - p.costs
                ? 'are allocated only to the cases the measure covers, never beyond the net'
                : null;
      if (problem) return refusal('proceeds_invalid', { problem, covers: measure.covers ?? [] }, 'proceeds');
    }
    if (m.collateral && !(m.collateral.index >= 0 && m.collateral.index < this.state.loan.collateral.length)) {
      return refusal('unknown_collateral', { collateral: this.state.loan.collateral.length }, 'collateral.index');
    }
    return null;
  }

  /** Proceeds of a sale or of rent: recorded on the measure, this case's share credited at once
   * (the sender credits the other covered cases theirs). */
  private recordProceeds(measure: MeasureView, m: ReportMeasure, nowMs: number): void {
    const { state } = this;
    const p = m.proceeds!;
    const view: ProceedsView = { ...p, net: p.gross - p.costs, at: new Date(nowMs).toISOString() };
    (measure.proceeds ??= []).push(view);
    this.record('measure_proceeds', m.by, m.requestId, nowMs, { measureId: measure.measureId, type: measure.type, ...view, currency: state.loan.currency });
    const own = p.allocated.find((a) => a.caseId === state.caseId);
    if (own && own.amount > 0) {
      this.recordPayment(
        { requestId: m.requestId, by: m.by, amount: Math.min(own.amount, state.outstanding), paidAt: view.at, reference: `${p.reference}@${measure.measureId}`, payer: `measure:${measure.measureId}` },
        nowMs,
      );
    }
  }

  private proposeMeasure(m: ProposeMeasure, nowMs: number, rule: MeasureView['rule'] = null, parties: string[] = []): void {
    const measure: MeasureView = {
      measureId: m.measureId,
      type: m.type,
      state: 'proposed',
      rationale: m.rationale,
      expectedRecovery: m.expectedRecovery,
      proposedBy: m.by,
      proposedAt: new Date(nowMs).toISOString(),
      rule,
      decision: null,
      startedAt: null,
      endedAt: null,
      lastNote: null,
      parties,
      ...(m.schedule ? { schedule: m.schedule.map((x) => ({ dueDate: x.dueDate, amount: x.amount, paid: 0, status: 'due' as const })) } : {}),
      ...(PROCEEDS_MEASURE_TYPES.includes(m.type)
        ? { covers: [this.state.caseId, ...(m.covers ?? [])], allocation: m.allocation ?? 'pro_rata', proceeds: [] }
        : m.covers
          ? { covers: [this.state.caseId, ...m.covers], allocation: m.allocation ?? 'pro_rata' }
          : {}),
    };
    this.state.measures.push(measure);
    this.pending.measureIds.push(measure.measureId);
    this.record('measure_proposed', m.by, m.requestId, nowMs, {
      measureId: m.measureId,
      type: m.type,
      rationale: m.rationale,
      expectedRecovery: m.expectedRecovery,
      rule,
      parties,
      ...(m.schedule ? { schedule: m.schedule } : {}),
    });
  }

  private decideMeasure(m: DecideMeasure, nowMs: number): void {
    const measure = this.measure(m.measureId)!;
    const at = new Date(nowMs).toISOString();
    measure.state = m.decision === 'approve' ? 'approved' : 'rejected';
    measure.decision = { decision: m.decision, by: m.by, at, reason: m.reason };
    if (measure.state === 'rejected') measure.endedAt = at;
    this.pending.measureIds.push(measure.measureId);
    this.record(m.decision === 'approve' ? 'measure_approved' : 'measure_rejected', m.by, m.requestId, nowMs, {
      measureId: m.measureId,
      type: measure.type,
      reason: m.reason,
      proposedBy: measure.proposedBy,
    });
  }

  private reportMeasure(m: ReportMeasure, nowMs: number): void {
    const { state } = this;
    const measure = this.measure(m.measureId)!;
    if (m.collateral && state.collateralStatus[m.collateral.index] !== m.collateral.status) {
      const from = state.collateralStatus[m.collateral.index];
      state.collateralStatus[m.collateral.index] = m.collateral.status;
      this.record('collateral_status_changed', m.by, m.requestId, nowMs, { measureId: m.measureId, index: m.collateral.index, from, to: m.collateral.status });
    }
    if (m.proceeds) this.recordProceeds(measure, m, nowMs);
    const at = new Date(nowMs).toISOString();
    const starting = measure.state === 'approved' && m.status === 'in_progress';
    measure.state = m.status;
    measure.lastNote = m.note;
    if (starting) measure.startedAt = at;
    const ended = m.status !== 'in_progress';
    if (ended) measure.endedAt = at;
    // While a measure with a schedule of its own runs, the ladder waits; when it ends, the
    // ladder goes on from the hand the case left.
    if (starting && SCHEDULED_MEASURE_TYPES.includes(measure.type) && !state.hold) {
      state.hold = { measureId: measure.measureId, sinceCaseMs: this.caseNow(nowMs) };
    }
    if (ended) this.releaseHold(measure, nowMs);
    this.settleStage();
    if (measure.type === 'litigation') {
      if (starting) {
        const parties = measure.parties?.length ? measure.parties : ['borrower'];
        measure.parties = parties;
        this.pending.effects.push({
          kind: 'startLitigation',
          input: {
            caseId: state.caseId,
            measureId: measure.measureId,
            currency: state.loan.currency,
            parties,
            stepDays: { ...DEFAULT_LITIGATION_STEP_DAYS, ...this.measureRules.litigationStepDays },
            dayMs: state.clock.dayMs,
          },
        });
      } else if (ended) this.pending.effects.push({ kind: 'withdrawLitigation', measureId: measure.measureId, reason: m.note });
    }
    if (measure.type === 'guarantor_claim') {
      if (starting) this.startGuarantorClaim(measure, nowMs);
      else if (ended) this.pending.effects.push({ kind: 'withdrawGuarantorClaim', measureId: measure.measureId, reason: m.note });
      if (m.status === 'failed') this.proposeLitigationAfter(measure, nowMs);
    }
    this.pending.measureIds.push(measure.measureId);
    const type: CaseEventType = starting
      ? 'measure_started'
      : m.status === 'in_progress'
        ? 'measure_progress'
        : (`measure_${m.status}` as const);
    this.record(type, m.by, m.requestId, nowMs, { measureId: m.measureId, type: measure.type, note: m.note });
  }

  // ---- restructuring and extension: a schedule watched instalment by instalment -----------

  /** The restructuring or extension in progress, whose schedule the case watches. */
  private get restructuring(): MeasureView | undefined {
    return this.state.measures.find((x) => SCHEDULED_REPAYMENT_TYPES.includes(x.type) && x.state === 'in_progress' && x.schedule);
  }

  private get restructuringRules() {
    return this.measureRules.restructuring ?? DEFAULT_RESTRUCTURING;
  }

  /** An instalment is missed at the end of its date plus the grace days. */
  private instalmentDeadline(dueDate: string): number {
    return wallTime(this.state.clock, dateToMs(dueDate) + (1 + this.restructuringRules.graceDays) * DAY_MS);
  }

  /** What is wrong with a proposal's schedule, or null; only restructuring and extension carry one. */
  private scheduleProblem(m: ProposeMeasure): string | null {
    const needs = SCHEDULED_REPAYMENT_TYPES.includes(m.type);
    if (!needs) return m.schedule === undefined ? null : `is only for ${SCHEDULED_REPAYMENT_TYPES.join(' and ')}`;
    const schedule = m.schedule ?? [];
    if (schedule.length === 0) return 'must list at least one instalment';
    const today = msToDate(this.caseNow(this.state.lastAdvancedMs));
    let previous = '';
    let total = 0;
    for (const [i, x] of schedule.entries()) {
      if (!isPositiveAmount(x.amount)) return `[${i}].amount must be a positive whole number of minor units`;
      if (typeof x.dueDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(x.dueDate) || x.dueDate <= previous) {
        return `[${i}].dueDate must be a YYYY-MM-DD date after the one before`;
      }
      if (x.dueDate < today) return `[${i}].dueDate must not be before the case's date ${today}`;
      previous = x.dueDate;
      total += x.amount;
    }
    if (total !== this.state.overdue) return `must sum to the arrears it restructures (${this.state.overdue}); it sums to ${total}`;
    return null;
  }

  /** An instalment's date (plus grace) has passed: paid in full, or missed. Too many misses and
   * the measure fails; the ladder goes on from the hand the case left. */
  private instalmentFellDue(measureId: string, index: number, nowMs: number): void {
    const measure = this.measure(measureId)!;
    const instalment = measure.schedule![index]!;
    instalment.status = instalment.paid >= instalment.amount ? 'paid' : 'missed';
    this.pending.measureIds.push(measureId);
    if (instalment.status === 'paid') return;
    const misses = measure.schedule!.filter((x) => x.status === 'missed').length;
    this.record('instalment_missed', WORKFLOW_ACTOR, null, nowMs, { measureId, ...instalment, misses, maxMisses: this.restructuringRules.maxMisses });
    if (misses < this.restructuringRules.maxMisses) return;
    measure.state = 'failed';
    measure.endedAt = new Date(nowMs).toISOString();
    measure.lastNote = `${misses} instalments missed`;
    this.releaseHold(measure, nowMs);
    this.settleStage();
    this.record('measure_failed', WORKFLOW_ACTOR, null, nowMs, { measureId, type: measure.type, note: measure.lastNote, rule: 'restructuring.maxMisses' });
  }

  /** A payment goes to the schedule's instalments, oldest unpaid first. */
  private payInstalments(amount: number, msg: RecordPayment, nowMs: number): void {
    const measure = this.restructuring;
    if (!measure) return;
    let left = amount;
    for (const instalment of measure.schedule!) {
      if (left === 0) break;
      if (instalment.status === 'paid' || instalment.paid >= instalment.amount) continue;
      const paid = Math.min(left, instalment.amount - instalment.paid);
      instalment.paid += paid;
      left -= paid;
      if (instalment.paid >= instalment.amount && instalment.status === 'due') instalment.status = 'paid';
      if (instalment.paid >= instalment.amount) {
        this.record('instalment_paid', msg.by, msg.requestId, nowMs, { measureId: measure.measureId, dueDate: instalment.dueDate, amount: instalment.amount });
      }
    }
    this.pending.measureIds.push(measure.measureId);
    if (measure.schedule!.every((x) => x.paid >= x.amount)) {
      measure.state = 'succeeded';
      measure.endedAt = new Date(nowMs).toISOString();
      measure.lastNote = 'every instalment paid';
      this.releaseHold(measure, nowMs);
      this.record('measure_succeeded', WORKFLOW_ACTOR, null, nowMs, { measureId: measure.measureId, type: measure.type, note: measure.lastNote });
    }
  }

  private releaseHold(measure: MeasureView, nowMs: number): void {
    const { state } = this;
    if (state.hold?.measureId !== measure.measureId) return;
    state.heldCaseMs += this.caseNow(nowMs) - state.hold.sinceCaseMs;
    state.hold = null;
    // A failed measure hands the case back to the ladder: at the hand it left, or higher where
    // the policy says escalation resumes.
    const reentryHand = this.measureRules.reentryHand;
    if (measure.state === 'failed' && reentryHand !== undefined && reentryHand > state.handFloor) {
      state.handFloor = reentryHand;
      state.reentry = { hand: reentryHand, measureId: measure.measureId };
    }
  }

  /** Collecting, or restructured while a schedule is watched (a pause or a close outranks both). */
  private settleStage(): void {
    const { state } = this;
    if (this.closed || state.pause) return;
    state.stage = this.restructuring ? 'restructured' : 'collecting';
  }

  /** Demands of each guarantor at most what they guaranteed (the outstanding, where the loan
   * does not say), by a deadline the policy sets; the claim runs as a child workflow. */
  private startGuarantorClaim(measure: MeasureView, nowMs: number): void {
    const { state } = this;
    const demands = state.loan.guarantors.map((g, i) => ({ payer: `guarantor:${i + 1}`, cap: g.guaranteedAmount ?? state.outstanding }));
    const days = this.measureRules.guarantorClaimDays ?? DEFAULT_GUARANTOR_CLAIM_DAYS;
    const deadlineAt = new Date(wallTime(state.clock, this.caseNow(nowMs) + days * DAY_MS)).toISOString();
    measure.parties = demands.map((d) => d.payer);
    this.pending.effects.push({
      kind: 'startGuarantorClaim',
      input: { caseId: state.caseId, measureId: measure.measureId, currency: state.loan.currency, demands, deadlineAt },
    });
    this.pending.notifications.push({
      id: `${measure.measureId}:demand`,
      channel: 'letter',
      template: 'guarantor_demand',
      recipient: 'guarantors',
      payload: { caseId: state.caseId, loanId: state.loan.loanId, currency: state.loan.currency, demands, deadlineAt },
    });
  }

  /** The claim ended by itself: every guarantor paid, or the deadline passed. */
  claimEnded(result: GuarantorClaimResult, nowMs: number): void {
    const measure = this.measure(result.measureId);
    if (!measure || measure.state !== 'in_progress' || result.outcome === 'withdrawn') return;
    const at = new Date(nowMs).toISOString();
    measure.state = result.outcome === 'paid' ? 'succeeded' : 'failed';
    measure.endedAt = at;
    measure.lastNote = result.outcome === 'paid' ? 'every guarantor paid what they guaranteed' : 'the deadline passed with demands unpaid';
    this.pending.measureIds.push(measure.measureId);
    this.record(result.outcome === 'paid' ? 'measure_succeeded' : 'measure_failed', WORKFLOW_ACTOR, null, nowMs, {
      measureId: measure.measureId,
      type: measure.type,
      note: measure.lastNote,
      paid: result.paid,
    });
    if (measure.state === 'failed') this.proposeLitigationAfter(measure, nowMs);
  }

  /** The suit ended by itself: recovered through enforcement or settled (succeeded), or
   * enforcement exhausted (failed, which opens the way to a write-off). */
  litigationEnded(result: LitigationResult, nowMs: number): void {
    const measure = this.measure(result.measureId);
    if (!measure || measure.state !== 'in_progress' || result.outcome === 'withdrawn') return;
    measure.state = result.outcome === 'exhausted' ? 'failed' : 'succeeded';
    measure.endedAt = new Date(nowMs).toISOString();
    measure.lastNote = `suit ${result.outcome}`;
    this.releaseHold(measure, nowMs);
    this.pending.measureIds.push(measure.measureId);
    this.record(measure.state === 'failed' ? 'measure_failed' : 'measure_succeeded', WORKFLOW_ACTOR, null, nowMs, {
      measureId: measure.measureId,
      type: measure.type,
      note: measure.lastNote,
      outcome: result.outcome,
      legalCosts: result.legalCosts,
    });
    if (result.outcome === 'settled' && result.settlement && this.arrearsByComponent && !this.closed) {
      this.state.settlement = { measureId: measure.measureId, amount: result.settlement.amount, paid: 0, agreedAt: measure.endedAt! };
      this.record('settlement_agreed', WORKFLOW_ACTOR, null, nowMs, {
        measureId: measure.measureId,
        amount: result.settlement.amount,
        currency: this.state.loan.currency,
        overdue: this.state.overdue,
      });
    }
  }

  /** A legal cost the suit recorded: the case keeps the total. */
  legalCost(cost: { measureId: string; amount: number; description: string }, nowMs: number): void {
    if (!isPositiveAmount(cost.amount) || !this.measure(cost.measureId)) return;
    const { state } = this;
    state.legalCosts += cost.amount;
    // Charged to the borrower only where the policy recovers legal costs, and only while collecting.
    const charged = this.arrearsByComponent && !this.closed && this.allocationOrder.includes('legalCosts');
    if (charged) {
      state.arrears.legalCosts += cost.amount;
      state.overdue += cost.amount;
      state.outstanding += cost.amount;
    }
    this.record('legal_cost_recorded', WORKFLOW_ACTOR, null, nowMs, {
      ...cost,
      currency: state.loan.currency,
      legalCostsAfter: state.legalCosts,
      chargedToBorrower: charged,
      ...(charged ? { overdueAfter: state.overdue, outstandingAfter: state.outstanding } : {}),
    });
  }

  /** The loan's risk watch handed over to this case: the watch's id and the shape of its history
   * join the case's trail, where supervisors follow the loan from watch to collection. */
  linkWatch(link: WatchLink, nowMs: number): void {
    this.record('watch_linked', WORKFLOW_ACTOR, null, nowMs, { ...link });
  }

  /** A failed guarantor claim proposes litigation that includes the guarantors. */
  private proposeLitigationAfter(claim: MeasureView, nowMs: number): void {
    const { state } = this;
    if (this.closed || this.openMeasureOf('litigation')) return;
    this.proposeMeasure(
      {
        requestId: `${claim.measureId}:litigation`,
        by: WORKFLOW_ACTOR,
        measureId: uuid4(),
        type: 'litigation',
        rationale: `Guarantor claim ${claim.measureId} failed: sue the borrower and the guarantors`,
        expectedRecovery: 0,
      },
      nowMs,
      { policy: state.policy.name, version: state.policy.version, rule: 'litigation_after_failed_guarantor_claim' },
      ['borrower', ...(claim.parties ?? [])],
    );
  }

  /** What the workflow must do now for the case beyond the ledger. */
  takeEffects(): Effect[] {
    const effects = this.pending.effects;
    this.pending.effects = [];
    return effects;
  }

  /** The policy's own proposals on entering a hand; each names its rule and still needs approval. */
  private proposeByPolicy(hand: Hand, nowMs: number): void {
    if (!this.planProposals) return;
    const { state } = this;
    const { loan, policy } = state;
    for (const rule of this.measureRules.autoPropose) {
      if (rule.atHand !== hand || this.openMeasureOf(rule.type)) continue;
      if (rule.when === 'has_guarantors' && loan.guarantors.length === 0) continue;
      if (rule.when === 'secured' && !loan.secured) continue;
      this.proposeMeasure(
        { requestId: `${state.caseId}:${state.eventSeq + 1}`, by: WORKFLOW_ACTOR, measureId: uuid4(), type: rule.type, rationale: rule.rationale, expectedRecovery: 0 },
        nowMs,
        { policy: policy.name, version: policy.version, rule: rule.rule },
      );
    }
  }

  /**
   * A message that needs no answer (a signal): applied as of its own time, after what fell due
   * before it; refused ones are recorded as `message_rejected`. A repeated request id is
   * dropped without a trace.
   */
  receive<N extends MessageName>(name: N, msg: Messages[N], nowMs: number): void {
    if (this.seen(msg)) return;
    const at = this.engine === 1 ? nowMs : this.messageTime(msg, nowMs);
    this.advance(at);
    this.remember(msg);
    const refused = this.refusalOf(name, msg, at);
    if (refused) {
      this.record('message_rejected', msg.by, msg.requestId, at, { signal: name, reason: refused.reason, ...refused.detail });
      return;
    }
    this.apply(name, msg, at);
  }

  /**
   * A message that awaits its answer (an update, already validated): applied as of its own
   * time (an update a worker outage held back is still applied as of when it was sent), after
   * what fell due before it. 'duplicate' when the request id was applied in an earlier run.
   */
  accept<N extends MessageName>(name: N, msg: Messages[N], nowMs: number): Refusal | 'duplicate' | null {
    const at = this.messageTime(msg, nowMs);
    this.advance(at);
    if (this.seen(msg)) return 'duplicate';
    const refused = this.refusalOf(name, msg, at);
    if (refused) return refused;
    this.remember(msg);
    this.apply(name, msg, at);
    return null;
  }

  /** What an update validator judges: the message as of its own time. */
  validate<N extends MessageName>(name: N, msg: Messages[N], nowMs: number): Refusal | null {
    return this.seen(msg) ? null : this.refusalOf(name, msg, this.messageTime(msg, nowMs));
  }

  /** The version of the batch that will carry what is pending now. */
  get nextVersion(): number {
    return this.state.version + 1;
  }

  /** A message's own time: when it was sent, but never before what the case has already
   * applied, nor after now. */
  private messageTime(msg: MessageMeta, nowMs: number): number {
    const sent = msg.sentAt === undefined ? Number.NaN : Date.parse(msg.sentAt);
    return Number.isNaN(sent) ? nowMs : Math.min(nowMs, Math.max(this.state.lastAdvancedMs, sent));
  }

  private apply<N extends MessageName>(name: N, msg: Messages[N], nowMs: number): void {
    switch (name) {
      case 'recordContact':
        return this.recordContact(msg as RecordContact, nowMs);
      case 'recordPayment':
        return this.recordPayment(msg as RecordPayment, nowMs);
      case 'promiseToPay':
        return this.promiseToPay(msg as PromiseToPay, nowMs);
      case 'addNote':
        return this.addNote(msg as AddNote, nowMs);
      case 'classify':
        return this.classifyCase(msg as ClassifyCase, nowMs);
      case 'assignOfficer':
        return this.assignOfficer(msg as AssignOfficer, nowMs);
      case 'pause':
        return this.pause(msg as PauseCase, nowMs);
      case 'resume':
        return this.endPause(msg.by, msg.requestId, nowMs, nowMs, false, (msg as ResumeCase).note);
      case 'proposeMeasure':
        return this.proposeMeasure(msg as ProposeMeasure, nowMs);
      case 'decideMeasure':
        return this.decideMeasure(msg as DecideMeasure, nowMs);
      case 'reportMeasure':
        return this.reportMeasure(msg as ReportMeasure, nowMs);
      case 'requestWriteOff':
        return this.requestWriteOff(msg as RequestWriteOff, nowMs);
      case 'decideWriteOff':
        return this.decideWriteOff(msg as DecideWriteOff, nowMs);
    }
  }

  private recordContact(msg: RecordContact, nowMs: number): void {
    this.record('contact_recorded', msg.by, msg.requestId, nowMs, {
      channel: msg.channel,
      outcome: msg.outcome,
      note: msg.note ?? null,
    });
    this.state.lastContactOutcome = msg.outcome;
    this.reclassify(nowMs);
  }

  private recordPayment(msg: RecordPayment, nowMs: number): void {
    const { state } = this;
    // A guarantor pays at most what they guaranteed; what exceeds it is not credited.
    const guarantor = this.guarantorOf(msg.payer);
    const capLeft = guarantor?.cap != null ? guarantor.cap - (state.paidByGuarantor[guarantor.key] ?? 0) : Infinity;
    const amount = Math.min(msg.amount, capLeft);
    if (guarantor) {
      state.paidByGuarantor[guarantor.key] = (state.paidByGuarantor[guarantor.key] ?? 0) + amount;
      const claim = state.measures.find((x) => x.type === 'guarantor_claim' && x.state === 'in_progress');
      if (claim) this.pending.effects.push({ kind: 'guarantorPayment', measureId: claim.measureId, payment: { payer: guarantor.key, amount, reference: msg.reference } });
    }
    const afterWriteOff = state.stage === 'written_off';
    state.paymentReferences.push(msg.reference);
    const allocation = payArrears(state.arrears, amount, state.outstanding - state.overdue, this.allocationOrder);
    const credited = amount - allocation.creditToReturn;
    state.overdue = totalOf(state.arrears);
    state.outstanding -= credited;
    state.recovered += credited;
    state.creditToReturn += allocation.creditToReturn;
    if (afterWriteOff) state.recoveredAfterWriteOff += credited;
    const receivedAt = new Date(nowMs).toISOString();
    const eventId = this.record('payment_recorded', msg.by, msg.requestId, nowMs, {
      amount,
      currency: state.loan.currency,
      allocation,
      reference: msg.reference,
      payer: msg.payer ?? 'borrower',
      ...(amount < msg.amount ? { paid: msg.amount, aboveGuarantee: msg.amount - amount } : {}),
      ...(afterWriteOff ? { afterWriteOff: true } : {}),
      paidAt: msg.paidAt,
      receivedAt,
      overdueAfter: state.overdue,
      outstandingAfter: state.outstanding,
      recoveredAfter: state.recovered,
      hand: state.hand,
    });
    this.pending.payments.push({
      reference: msg.reference,
      amount,
      paidAt: msg.paidAt,
      receivedAt,
      eventId,
      recordedBy: msg.by.sub,
      payer: msg.payer ?? 'borrower',
      allocation,
    });
    const promise = state.openPromise;
    if (promise) {
      promise.paidSoFar += msg.amount;
      if (promise.paidSoFar >= promise.amount) {
        state.openPromise = null;
        this.record('promise_kept', msg.by, msg.requestId, nowMs, {
          amount: promise.amount,
          dueDate: promise.dueDate,
          paidSoFar: promise.paidSoFar,
        });
      }
    }
    if (!afterWriteOff) this.payInstalments(amount, msg, nowMs);
    if (afterWriteOff) return;
    if (state.overdue === 0) {
      this.endCollection(state.outstanding === 0 ? 'repaid' : 'cured', this.outcomeTime(msg, nowMs), 'the arrears were recovered');
      this.record('case_recovered', msg.by, msg.requestId, nowMs, {
        outcome: state.outcome,
        asOf: state.closedAt,
        recovered: state.recovered,
        outstanding: state.outstanding,
        hand: state.hand,
      });
      return;
    }
    const settlement = state.settlement;
    if (settlement && this.arrearsByComponent) {
      settlement.paid += credited;
      if (settlement.paid >= settlement.amount) return this.honourSettlement(msg, nowMs);
    }
    this.reclassify(nowMs);
  }

  // ---- classification (回收可能性) and amount tiers -----------------------------------------

  private classificationFacts(nowMs: number): ClassificationFacts {
    const { state } = this;
    const cover = state.loan.collateral.reduce((sum, c, i) => sum + (state.collateralStatus[i] === 'sold' ? 0 : c.value), 0);
    return {
      collateralCoveragePct: state.outstanding > 0 ? Math.floor((cover * 100) / state.outstanding) : 100,
      daysPastDue: this.daysPastDue(nowMs),
      brokenPromises: state.brokenPromises,
      hasGuarantors: state.loan.guarantors.length > 0,
      lastContactOutcome: state.lastContactOutcome,
    };
  }

  /** The policy's rules applied to what the case knows now; a change is recorded with the rule
   * and the policy version that made it (an officer's override still outranks it). */
  private reclassify(nowMs: number): void {
    const { state } = this;
    if (!this.classifying || this.closed) return;
    const { policy } = state;
    const facts = this.classificationFacts(nowMs);
    const computed = { ...classify(policy.classification ?? DEFAULT_CLASSIFICATION, facts), policy: { name: policy.name, version: policy.version } };
    const tier = amountTier(policy.amountTiers ?? DEFAULT_AMOUNT_TIERS, state.outstanding);
    const before = state.classification;
    if (before && before.computed.likelihood === computed.likelihood && before.computed.rule === computed.rule && state.tier === tier) return;
    const override = before?.override ?? null;
    state.classification = { likelihood: override?.likelihood ?? computed.likelihood, computed, override };
    state.tier = tier;
    this.record('case_classified', WORKFLOW_ACTOR, null, nowMs, {
      likelihood: state.classification.likelihood,
      computed,
      overridden: override !== null,
      tier,
      previous: before ? { likelihood: before.likelihood, rule: before.computed.rule } : null,
      facts,
    });
  }

  private classificationRefusal(m: ClassifyCase): Refusal | null {
    const current = this.state.classification;
    if (!current) return refusal('classification_unchanged', { classification: null, expected: 'a classified case' });
    if (m.likelihood === null ? current.override === null : current.override?.likelihood === m.likelihood) {
      return refusal('classification_unchanged', { likelihood: current.likelihood, override: current.override }, 'likelihood');
    }
    return null;
  }

  private classifyCase(m: ClassifyCase, nowMs: number): void {
    const current = this.state.classification!;
    const at = new Date(nowMs).toISOString();
    current.override = m.likelihood === null ? null : { likelihood: m.likelihood, reason: m.reason, by: m.by, at };
    const previous = current.likelihood;
    current.likelihood = current.override?.likelihood ?? current.computed.likelihood;
    this.record('classification_overridden', m.by, m.requestId, nowMs, {
      likelihood: current.likelihood,
      previous,
      reason: m.reason,
      withdrawn: m.likelihood === null,
      computed: current.computed,
    });
  }

  private get allocationOrder(): readonly ArrearsComponent[] {
    return this.state.policy.allocationOrder ?? DEFAULT_ALLOCATION_ORDER;
  }

  /** A payment dated in the past ends collection as of its date (never before the case began):
   * the ledger's days past due are those of that day. */
  private outcomeTime(msg: RecordPayment, nowMs: number): string {
    const paidAtMs = Date.parse(msg.paidAt);
    return new Date(Math.min(nowMs, Math.max(paidAtMs, this.state.clock.originMs))).toISOString();
  }

  /** The agreement is paid: what remains of the arrears is waived and the case ends settled.
   * The balance not yet due stays the loan's (the loan is current again). */
  private honourSettlement(msg: RecordPayment, nowMs: number): void {
    const { state } = this;
    const settlement = state.settlement!;
    const waived = { ...state.arrears };
    state.outstanding -= state.overdue;
    state.arrears = noArrears();
    state.overdue = 0;
    this.record('arrears_waived', msg.by, msg.requestId, nowMs, {
      measureId: settlement.measureId,
      settlement: settlement.amount,
      paid: settlement.paid,
      waived,
      total: totalOf(waived),
      currency: state.loan.currency,
      overdueAfter: state.overdue,
      outstandingAfter: state.outstanding,
    });
    this.endCollection('settled', this.outcomeTime(msg, nowMs), 'the settlement agreement was honoured');
    this.record('case_recovered', msg.by, msg.requestId, nowMs, {
      outcome: state.outcome,
      asOf: state.closedAt,
      recovered: state.recovered,
      outstanding: state.outstanding,
      hand: state.hand,
    });
  }

  private promiseToPay(msg: PromiseToPay, nowMs: number): void {
    this.state.openPromise = {
      amount: msg.amount,
      dueDate: msg.dueDate,
      dueAtCaseMs: dateToMs(msg.dueDate) + DAY_MS,
      promisedAt: new Date(nowMs).toISOString(),
      paidSoFar: 0,
      by: msg.by,
      requestId: msg.requestId,
    };
    this.record('promise_made', msg.by, msg.requestId, nowMs, { amount: msg.amount, dueDate: msg.dueDate });
  }

  private addNote(msg: AddNote, nowMs: number): void {
    this.record('note_added', msg.by, msg.requestId, nowMs, {
      summary: msg.summary,
      problems: msg.problems ?? null,
      nextSteps: msg.nextSteps ?? null,
    });
  }

  private assignOfficer(msg: AssignOfficer, nowMs: number): void {
    const { state } = this;
    const from = state.officerId;
    state.officerId = msg.officerId;
    if (!state.officersInvolved.includes(msg.officerId)) state.officersInvolved.push(msg.officerId);
    this.pending.reassignTasksTo = msg.officerId;
    this.record('officer_assigned', msg.by, msg.requestId, nowMs, { from, to: msg.officerId });
  }

  private pause(msg: PauseCase, nowMs: number): void {
    const { state } = this;
    state.pause = {
      reason: msg.reason,
      sinceCaseMs: this.caseNow(nowMs),
      since: new Date(nowMs).toISOString(),
      untilCaseMs: msg.until === undefined ? null : dateToMs(msg.until),
      until: msg.until ?? null,
      by: msg.by,
    };
    state.stage = 'paused';
    this.record('case_paused', msg.by, msg.requestId, nowMs, {
      reason: msg.reason,
      until: msg.until ?? null,
      note: msg.note ?? null,
      hand: state.hand,
    });
  }

  /** Ends the pause as of `endMs` (its end date, or the resume message), recorded at `nowMs`. */
  private endPause(by: Actor, requestId: string | null, endMs: number, nowMs: number, automatic: boolean, note?: string): void {
    const { state } = this;
    const pause = state.pause!;
    const pausedCaseMs = this.caseNow(endMs) - pause.sinceCaseMs;
    state.pausedCaseMs += pausedCaseMs;
    state.pause = null;
    for (const r of state.recurring) r.nextAtCaseMs += pausedCaseMs;
    state.stage = 'collecting';
    this.settleStage();
    this.record('case_resumed', by, requestId, nowMs, {
      reason: pause.reason,
      automatic,
      pausedDays: Math.floor(pausedCaseMs / DAY_MS),
      note: note ?? null,
    });
  }

  // ---- engine 1 -------------------------------------------------------------------------

  /** Engine 1's time step, kept verbatim for the histories of cases it ran: it rewrote the
   * ledger on every wake and jumped straight to the hand the days dictated. */
  advanceEngine1(nowMs: number, refreshDue: boolean): void {
    const { state } = this;
    if (this.closed) return;
    if (refreshDue) this.pending.dirty = true;
    if (state.pause?.untilCaseMs != null && this.caseNow(nowMs) >= state.pause.untilCaseMs) {
      this.endPause(WORKFLOW_ACTOR, null, nowMs, nowMs, true);
    }
    const promise = state.openPromise;
    if (promise && this.caseNow(nowMs) >= promise.dueAtCaseMs) this.breakPromise(nowMs);
    const caseNow = this.caseNow(nowMs);
    for (const r of state.pause ? [] : state.recurring) {
      if (caseNow < r.nextAtCaseMs) continue;
      const eventId = this.record('task_repeated', WORKFLOW_ACTOR, null, nowMs, { task: r.task, hand: r.hand });
      this.queueTask(eventId, 0, r.task, r.hand, caseNow + DAY_MS);
      const every = r.everyDays * DAY_MS;
      r.nextAtCaseMs += Math.ceil((caseNow - r.nextAtCaseMs + 1) / every) * every;
    }
    if (!state.pause && !state.openPromise) {
      const byDays = handForLadderDays(state.policy, this.ladderMs(nowMs) / DAY_MS);
      const target = Math.max(byDays, state.handFloor) as Hand;
      if (target > state.hand) this.jumpToHandEngine1(target, nowMs, target > byDays ? 'broken_promise' : 'days');
    }
    state.lastAdvancedMs = Math.max(state.lastAdvancedMs, nowMs);
  }

  private jumpToHandEngine1(hand: Hand, nowMs: number, reason: 'days' | 'broken_promise'): void {
    const { state } = this;
    const ladderDays = Math.floor(this.ladderMs(nowMs) / DAY_MS);
    const from = state.hand;
    const rule = ruleFor(state.policy, hand);
    state.hand = hand;
    state.handFloor = Math.max(state.handFloor, hand) as Hand;
    const eventId = this.record('hand_entered', WORKFLOW_ACTOR, null, nowMs, {
      hand,
      from,
      approach: rule.approach,
      reason,
      ladderDays,
      skipped: state.policy.hands
        .filter((r) => r.hand > from && r.hand < hand)
        .map((r) => ({ hand: r.hand, entersAtDay: r.entersAtDay, reason: `${ladderDays} ladder days already beyond this hand's entry at day ${r.entersAtDay}` })),
      actions: rule.actions,
    });
    state.recurring = [];
    this.runActions(eventId, rule.actions, hand, nowMs, nowMs);
  }

  // ---- the daily overdue list's reports (还款资金落实) ---------------------------------------

  private reportedFacts(): ReportedFacts {
    const { state } = this;
    return { currency: state.loan.currency, overdue: state.overdue, arrears: state.arrears, overdueSince: state.loan.overdueSince, outstanding: state.outstanding };
  }

  private arrearsReportProblem(msg: ReportArrears, nowMs: number): Refusal | null {
    if (this.closed) return refusal('case_closed', { stage: this.state.stage });
    return arrearsReportRefusal(this.reportedFacts(), msg, this.caseToday(this.messageTime(msg, nowMs)));
  }

  /** What the `reportArrears` validator judges: the report as of its own time. A repeat of what
   * the case holds is refused too, so that the daily list costs a quiet case no history. */
  arrearsReportRefusal(msg: ReportArrears, nowMs: number): Refusal | null {
    if (this.seen(msg)) return null;
    const problem = this.arrearsReportProblem(msg, nowMs);
    if (problem) return problem;
    return applyArrearsReport(this.reportedFacts(), msg).changed ? null : refusal('arrears_unchanged', { overdue: this.state.overdue });
  }

  /**
   * Takes the list's arrears and overdue date, after what fell due before the report. True when
   * the case changed; false for a repeat of what it holds, which leaves no trace.
   */
  acceptArrearsReport(msg: ReportArrears, nowMs: number): Refusal | boolean {
    const at = this.messageTime(msg, nowMs);
    this.advance(at);
    if (this.seen(msg)) return false;
    const refused = this.arrearsReportProblem(msg, at);
    if (refused) return refused;
    this.remember(msg);
    const before = this.reportedFacts();
    const { changed, after } = applyArrearsReport(before, msg);
    if (!changed) return false;
    const { state } = this;
    state.arrears = after.arrears;
    state.overdue = after.overdue;
    state.outstanding = after.outstanding;
    state.loan.overdueSince = after.overdueSince;
    this.record('arrears_reported', msg.by, msg.requestId, at, {
      source: msg.source,
      currency: state.loan.currency,
      before: { overdue: before.overdue, arrears: before.arrears, overdueSince: before.overdueSince, outstanding: before.outstanding },
      after,
    });
    return true;
  }

  // ---- views and projection ------------------------------------------------------------

  private record(
    type: CaseEventType,
    actor: Actor,
    requestId: string | null,
    nowMs: number,
    payload: Record<string, unknown>,
  ): string {
    const eventId = uuid4();
    const occurredAt = new Date(nowMs).toISOString();
    this.pending.events.push({ eventId, seq: ++this.state.eventSeq, type, actor, requestId, occurredAt, payload });
    this.state.lastEvent = { type, at: occurredAt };
    return eventId;
  }

  view(nowMs: number): CaseView {
    const { state } = this;
    const { loan } = state;
    return {
      caseId: state.caseId,
      loanId: loan.loanId,
      householdId: loan.householdId ?? null,
      stage: state.stage,
      hand: state.hand,
      caseDate: this.caseToday(nowMs),
      daysPastDue: this.daysPastDue(nowMs),
      pausedDays: Math.floor(this.pausedCaseMs(nowMs) / DAY_MS),
      overdueSince: loan.overdueSince,
      currency: loan.currency,
      principal: loan.principal,
      overdue: state.overdue,
      arrears: state.arrears,
      outstanding: state.outstanding,
      recovered: state.recovered,
      creditToReturn: state.creditToReturn,
      outcome: state.outcome,
      settlement: state.settlement,
      classification: state.classification,
      tier: state.tier,
      branch: loan.branch,
      product: loan.product,
      secured: loan.secured,
      officerId: state.officerId,
      policy: { name: state.policy.name, version: state.policy.version },
      openPromise: state.openPromise && {
        amount: state.openPromise.amount,
        dueDate: state.openPromise.dueDate,
        promisedAt: state.openPromise.promisedAt,
        paidSoFar: state.openPromise.paidSoFar,
      },
      pause: state.pause && { reason: state.pause.reason, since: state.pause.since, until: state.pause.until },
      nextAction: this.nextAction(),
      measures: state.measures,
      writeOff: state.writeOff,
      recoveredAfterWriteOff: state.recoveredAfterWriteOff,
      legalCosts: state.legalCosts,
      collateralStatus: state.collateralStatus,
      incidents: state.incidents,
      openedAt: state.openedAt,
      closedAt: state.closedAt,
    };
  }

  /** Takes what is queued as one batch for the projection activity, or null when nothing is. */
  takeBatch(runId: string, nowMs: number): ProjectionBatch | null {
    if (!this.hasProjectable() && this.pending.parties === undefined) return null;
    const p = this.pending;
    this.pending = { ...emptyPending(), effects: p.effects };
    const { state } = this;
    return {
      caseId: state.caseId,
      episode: state.episode,
      episodeRunId: state.episodeRunId,
      runId,
      version: ++state.version,
      view: this.view(nowMs),
      clock: state.clock,
      pausedCaseMs: state.pausedCaseMs,
      pauseSinceCaseMs: state.pause?.sinceCaseMs ?? null,
      lastEvent: state.lastEvent,
      collateral: state.loan.collateral,
      ...(p.parties ? { parties: p.parties } : {}),
      events: p.events,
      payments: p.payments,
      notifications: p.notifications,
      tasks: p.tasks,
      measures: state.measures.filter((m) => p.measureIds.includes(m.measureId)),
      ...(p.reassignTasksTo ? { reassignTasksTo: p.reassignTasksTo } : {}),
    };
  }

  markProjected(version: number): void {
    this.state.projectedVersion = Math.max(this.state.projectedVersion, version);
  }

  /** The ledger refused a batch for its data: the case keeps going, the batch is set aside as
   * an incident, and the next batch (queued at once) rewrites the ledger row. */
  recordIncident(batch: ProjectionBatch, error: string, nowMs: number, rewriteRow: boolean): void {
    const { incidents } = this.state;
    incidents.push({ version: batch.version, at: new Date(nowMs).toISOString(), error, eventTypes: batch.events.map((e) => e.type) });
    if (incidents.length > INCIDENTS_KEPT) incidents.splice(0, incidents.length - INCIDENTS_KEPT);
    this.markProjected(batch.version);
    if (rewriteRow) this.pending.dirty = true;
  }
}
