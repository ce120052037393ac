import { uuid4 } from '@temporalio/workflow';
import type {
  CaseEventRecord,
  NotificationRecord,
  PaymentRecord,
  ProjectionBatch,
  TaskRecord,
} from '../../activities/contract';
import {
  DAY_MS,
  LAST_HAND,
  caseTime,
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
  type Hand,
  type MessageMeta,
  type NextActionView,
  type PauseCase,
  type PromiseToPay,
  type RecordContact,
  type RecordPayment,
  type RejectionReason,
  type ResumeCase,
} from '../../domain';
import { SEEN_REQUEST_IDS_KEPT, type CaseState } from './state';

/** Events the case makes of its own accord (timers), not on anyone's message. */
export const WORKFLOW_ACTOR: Actor = { sub: 'workflow', role: 'system' };

interface Pending {
  events: CaseEventRecord[];
  payments: PaymentRecord[];
  notifications: NotificationRecord[];
  tasks: TaskRecord[];
  reassignTasksTo?: string;
  /** The ledger row needs rewriting even without an event (days past due moved on). */
  dirty: boolean;
  parties?: ProjectionBatch['parties'];
}

/** Signals can come from any Temporal client, not only the validating API: money is checked here too. */
const isPositiveAmount = (amount: unknown): boolean => isMinorUnits(amount) && amount > 0;

const emptyPending = (): Pending => ({ events: [], payments: [], notifications: [], tasks: [], dirty: false });

/**
 * The case's rules, apart from Temporal's plumbing: every message and every passage of time
 * changes `state` and queues what must be projected. Time is always passed in (the workflow
 * clock), so the same inputs give the same case on replay.
 */
export class CaseEntity {
  private pending: Pending = emptyPending();

  private constructor(readonly state: CaseState) {}

  static open(opening: CaseOpening, caseId: string, episodeRunId: string, nowMs: number): CaseEntity {
    const { loan, policy } = opening;
    const entity = new CaseEntity({
      caseId,
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
      recovered: 0,
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
      openedAt: new Date(nowMs).toISOString(),
      closedAt: null,
      continueAsNewAfterEvents: opening.continueAsNewAfterEvents ?? null,
    });
    entity.pending.parties = { borrower: loan.borrower, guarantors: loan.guarantors };
    const daysPastDue = entity.daysPastDue(nowMs);
    entity.record('case_opened', opening.by, opening.requestId, nowMs, {
      loanId: loan.loanId,
      policy: { name: policy.name, version: policy.version },
      daysPastDue,
      overdue: loan.overdue,
      outstanding: loan.outstanding,
      currency: loan.currency,
      officerId: loan.officerId ?? null,
    });
    entity.enterHand(handForLadderDays(policy, entity.ladderMs(nowMs) / DAY_MS), nowMs, 'opening');
    return entity;
  }

  static continued(state: CaseState): CaseEntity {
    return new CaseEntity(state);
  }

  get closed(): boolean {
    return this.state.stage === 'recovered';
  }

  hasPending(): boolean {
    const p = this.pending;
    return p.dirty || p.events.length > 0 || p.tasks.length > 0 || p.notifications.length > 0;
  }

  // ---- the case calendar -------------------------------------------------------------

  private caseNow(nowMs: number): number {
    return caseTime(this.state.clock, nowMs);
  }

  private pausedCaseMs(nowMs: number): number {
    const { pause, pausedCaseMs } = this.state;
    return pausedCaseMs + (pause ? this.caseNow(nowMs) - pause.sinceCaseMs : 0);
  }

  /** Days past due less paused days, in ms of case time: what the ladder runs on. */
  private ladderMs(nowMs: number): number {
    return this.caseNow(nowMs) - dateToMs(this.state.loan.overdueSince) - this.pausedCaseMs(nowMs);
  }

  daysPastDue(nowMs: number): number {
    return Math.max(0, Math.floor((this.caseNow(nowMs) - dateToMs(this.state.loan.overdueSince)) / DAY_MS));
  }

  private caseToday(nowMs: number): string {
    return msToDate(this.caseNow(nowMs));
  }

  /** When the case next escalates by days, or null while it cannot (paused, held by a
   * promise, last hand, closed). */
  private nextEscalationMs(): number | null {
    const { state } = this;
    if (this.closed || state.pause || state.openPromise || state.hand >= LAST_HAND) return null;
    const next = ruleFor(state.policy, (state.hand + 1) as Hand);
    const atCaseMs = dateToMs(state.loan.overdueSince) + state.pausedCaseMs + next.entersAtDay * DAY_MS;
    return wallTime(state.clock, atCaseMs);
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
    if (this.closed || candidates.length === 0) return null;
    return candidates.reduce((a, b) => (Date.parse(b.at) < Date.parse(a.at) ? b : a));
  }

  /** The next instant time alone changes the case: a decision, a repeated task, or the daily
   * refresh of days past due. */
  nextWakeMs(nowMs: number): number | null {
    if (this.closed) return null;
    const times = [this.nextAction()?.at].filter((t): t is string => t !== undefined).map(Date.parse);
    if (!this.state.pause) for (const r of this.state.recurring) times.push(wallTime(this.state.clock, r.nextAtCaseMs));
    // Keep days past due (ledger and search attribute) current; never more than once a minute.
    const dayStart = Math.floor(this.caseNow(nowMs) / DAY_MS) * DAY_MS;
    times.push(Math.max(wallTime(this.state.clock, dayStart + DAY_MS), nowMs + 60_000));
    return Math.min(...times);
  }

  // ---- time passing --------------------------------------------------------------------

  /** Applies everything that is due by `nowMs`. */
  advance(nowMs: number, refreshDue: boolean): void {
    const { state } = this;
    if (this.closed) return;
    if (refreshDue) this.pending.dirty = true;
    if (state.pause?.untilCaseMs != null && this.caseNow(nowMs) >= state.pause.untilCaseMs) {
      this.endPause(WORKFLOW_ACTOR, null, nowMs, true);
    }
    const promise = state.openPromise;
    if (promise && this.caseNow(nowMs) >= promise.dueAtCaseMs) {
      state.openPromise = null;
      this.record('promise_broken', WORKFLOW_ACTOR, null, nowMs, {
        amount: promise.amount,
        dueDate: promise.dueDate,
        paidSoFar: promise.paidSoFar,
        promisedBy: promise.by,
      });
      // A broken promise escalates at once; while paused it takes effect on resume.
      state.handFloor = Math.min(LAST_HAND, Math.max(state.handFloor, state.hand + 1)) as Hand;
    }
    const caseNow = this.caseNow(nowMs);
    for (const r of state.pause ? [] : state.recurring) {
      if (caseNow < r.nextAtCaseMs) continue;
      // One task however long the worker was away; the next one keeps the rhythm.
      const eventId = this.record('task_repeated', WORKFLOW_ACTOR, null, nowMs, { task: r.task, hand: r.hand });
      this.queueTask(eventId, 0, r.task, r.hand, caseNow + DAY_MS);
      const every = r.everyDays * DAY_MS;
      r.nextAtCaseMs += Math.ceil((caseNow - r.nextAtCaseMs + 1) / every) * every;
    }
    if (!state.pause && !state.openPromise) {
      const byDays = handForLadderDays(state.policy, this.ladderMs(nowMs) / DAY_MS);
      const target = Math.max(byDays, state.handFloor) as Hand;
      if (target > state.hand) this.enterHand(target, nowMs, target > byDays ? 'broken_promise' : 'days');
    }
  }

  private enterHand(hand: Hand, nowMs: number, reason: 'opening' | 'days' | 'broken_promise'): void {
    const { state } = this;
    const ladderDays = Math.floor(this.ladderMs(nowMs) / DAY_MS);
    const from = reason === 'opening' ? 0 : state.hand;
    const skipped = state.policy.hands
      .filter((r) => r.hand > from && r.hand < hand)
      .map((r) => ({
        hand: r.hand,
        entersAtDay: r.entersAtDay,
        reason:
          reason === 'opening'
            ? `case opened at ${ladderDays} days past due, beyond this hand's entry at day ${r.entersAtDay}`
            : `${ladderDays} ladder days already beyond this hand's entry at day ${r.entersAtDay}`,
      }));
    const rule = ruleFor(state.policy, hand);
    state.hand = hand;
    state.handFloor = Math.max(state.handFloor, hand) as Hand;
    const eventId = this.record('hand_entered', WORKFLOW_ACTOR, null, nowMs, {
      hand,
      from: reason === 'opening' ? null : from,
      approach: rule.approach,
      reason,
      ladderDays,
      skipped,
      actions: rule.actions,
    });
    const caseNow = this.caseNow(nowMs);
    state.recurring = [];
    rule.actions.forEach((action, i) => {
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
        this.queueTask(eventId, i, action.task, hand, caseNow + action.dueInDays * DAY_MS);
        if (action.repeatEveryDays) {
          state.recurring.push({
            task: action.task,
            hand,
            everyDays: action.repeatEveryDays,
            nextAtCaseMs: caseNow + action.repeatEveryDays * DAY_MS,
          });
        }
      }
    });
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

  /** True when the message is new; a repeated request id is dropped without a trace. */
  private firstSight(msg: MessageMeta): boolean {
    const seen = this.state.seenRequestIds;
    if (seen.includes(msg.requestId)) return false;
    seen.push(msg.requestId);
    if (seen.length > SEEN_REQUEST_IDS_KEPT) seen.splice(0, seen.length - SEEN_REQUEST_IDS_KEPT);
    return true;
  }

  private reject(signal: string, msg: MessageMeta, nowMs: number, reason: RejectionReason, detail?: object): void {
    this.record('message_rejected', msg.by, msg.requestId, nowMs, { signal, reason, ...detail });
  }

  /** Shared gate for every message: duplicates vanish, messages to a closed case are refused. */
  private admit(signal: string, msg: MessageMeta, nowMs: number): boolean {
    if (!this.firstSight(msg)) return false;
    if (this.closed) {
      this.reject(signal, msg, nowMs, 'case_closed', { stage: this.state.stage });
      return false;
    }
    return true;
  }

  recordContact(msg: RecordContact, nowMs: number): void {
    if (!this.admit('recordContact', msg, nowMs)) return;
    this.record('contact_recorded', msg.by, msg.requestId, nowMs, {
      channel: msg.channel,
      outcome: msg.outcome,
      note: msg.note ?? null,
    });
  }

  recordPayment(msg: RecordPayment, nowMs: number): void {
    if (!this.admit('recordPayment', msg, nowMs)) return;
    const { state } = this;
    if (!isPositiveAmount(msg.amount)) return this.reject('recordPayment', msg, nowMs, 'invalid_amount');
    if (state.paymentReferences.includes(msg.reference)) {
      return this.reject('recordPayment', msg, nowMs, 'duplicate_reference', { reference: msg.reference });
    }
    if (Date.parse(msg.paidAt) > nowMs) {
      return this.reject('recordPayment', msg, nowMs, 'paid_at_in_future', { paidAt: msg.paidAt });
    }
    state.paymentReferences.push(msg.reference);
    const toArrears = Math.min(msg.amount, state.overdue);
    state.overdue -= toArrears;
    state.outstanding -= Math.min(msg.amount, state.outstanding);
    state.recovered += msg.amount;
    const receivedAt = new Date(nowMs).toISOString();
    const eventId = this.record('payment_recorded', msg.by, msg.requestId, nowMs, {
      amount: msg.amount,
      currency: state.loan.currency,
      reference: msg.reference,
      paidAt: msg.paidAt,
      receivedAt,
      overdueAfter: state.overdue,
      outstandingAfter: state.outstanding,
      recoveredAfter: state.recovered,
      hand: state.hand,
    });
    this.pending.payments.push({
      reference: msg.reference,
      amount: msg.amount,
      paidAt: msg.paidAt,
      receivedAt,
      eventId,
      recordedBy: msg.by.sub,
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
    if (state.overdue === 0) {
      state.stage = 'recovered';
      state.pause = null;
      state.openPromise = null;
      state.recurring = [];
      state.closedAt = receivedAt;
      this.record('case_recovered', msg.by, msg.requestId, nowMs, {
        recovered: state.recovered,
        outstanding: state.outstanding,
        hand: state.hand,
      });
    }
  }

  promiseToPay(msg: PromiseToPay, nowMs: number): void {
    if (!this.admit('promiseToPay', msg, nowMs)) return;
    const { state } = this;
    if (!isPositiveAmount(msg.amount)) return this.reject('promiseToPay', msg, nowMs, 'invalid_amount');
    if (state.openPromise) {
      return this.reject('promiseToPay', msg, nowMs, 'promise_already_open', { dueDate: state.openPromise.dueDate });
    }
    const today = this.caseToday(nowMs);
    if (msg.dueDate < today) {
      return this.reject('promiseToPay', msg, nowMs, 'promise_date_not_ahead', { caseDate: today });
    }
    const aheadDays = (dateToMs(msg.dueDate) - dateToMs(today)) / DAY_MS;
    if (aheadDays > state.policy.maxPromiseDays) {
      return this.reject('promiseToPay', msg, nowMs, 'promise_date_too_far', {
        caseDate: today,
        maxPromiseDays: state.policy.maxPromiseDays,
      });
    }
    state.openPromise = {
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

  addNote(msg: AddNote, nowMs: number): void {
    if (!this.admit('addNote', msg, nowMs)) return;
    this.record('note_added', msg.by, msg.requestId, nowMs, {
      summary: msg.summary,
      problems: msg.problems ?? null,
      nextSteps: msg.nextSteps ?? null,
    });
  }

  assignOfficer(msg: AssignOfficer, nowMs: number): void {
    if (!this.admit('assignOfficer', msg, nowMs)) return;
    const { state } = this;
    if (state.officerId === msg.officerId) {
      return this.reject('assignOfficer', msg, nowMs, 'same_officer', { officerId: msg.officerId });
    }
    const from = state.officerId;
    state.officerId = msg.officerId;
    this.pending.reassignTasksTo = msg.officerId;
    this.record('officer_assigned', msg.by, msg.requestId, nowMs, { from, to: msg.officerId });
  }

  pause(msg: PauseCase, nowMs: number): void {
    if (!this.admit('pause', msg, nowMs)) return;
    const { state } = this;
    if (state.pause) return this.reject('pause', msg, nowMs, 'already_paused', { since: state.pause.since });
    const today = this.caseToday(nowMs);
    if (msg.until !== undefined && msg.until <= today) {
      return this.reject('pause', msg, nowMs, 'pause_end_not_ahead', { caseDate: today });
    }
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

  resume(msg: ResumeCase, nowMs: number): void {
    if (!this.admit('resume', msg, nowMs)) return;
    if (!this.state.pause) return this.reject('resume', msg, nowMs, 'not_paused');
    this.endPause(msg.by, msg.requestId, nowMs, false, msg.note);
  }

  private endPause(by: Actor, requestId: string | null, nowMs: number, automatic: boolean, note?: string): void {
    const { state } = this;
    const pause = state.pause!;
    const pausedCaseMs = this.caseNow(nowMs) - pause.sinceCaseMs;
    state.pausedCaseMs += pausedCaseMs;
    state.pause = null;
    for (const r of state.recurring) r.nextAtCaseMs += pausedCaseMs;
    state.stage = 'collecting';
    this.record('case_resumed', by, requestId, nowMs, {
      reason: pause.reason,
      automatic,
      pausedDays: Math.floor(pausedCaseMs / DAY_MS),
      note: note ?? null,
    });
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
      stage: state.stage,
      hand: state.hand,
      daysPastDue: this.daysPastDue(nowMs),
      pausedDays: Math.floor(this.pausedCaseMs(nowMs) / DAY_MS),
      overdueSince: loan.overdueSince,
      currency: loan.currency,
      principal: loan.principal,
      overdue: state.overdue,
      outstanding: state.outstanding,
      recovered: state.recovered,
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
      openedAt: state.openedAt,
      closedAt: state.closedAt,
    };
  }

  /** Takes what is queued as one batch for the projection activity, or null when nothing is. */
  takeBatch(runId: string, nowMs: number): ProjectionBatch | null {
    if (!this.hasPending() && this.pending.parties === undefined) return null;
    const p = this.pending;
    this.pending = emptyPending();
    const { state } = this;
    return {
      caseId: state.caseId,
      episodeRunId: state.episodeRunId,
      runId,
      version: ++state.version,
      view: this.view(nowMs),
      lastEvent: state.lastEvent,
      collateral: state.loan.collateral,
      ...(p.parties ? { parties: p.parties } : {}),
      events: p.events,
      payments: p.payments,
      notifications: p.notifications,
      tasks: p.tasks,
      ...(p.reassignTasksTo ? { reassignTasksTo: p.reassignTasksTo } : {}),
    };
  }

  markProjected(version: number): void {
    this.state.projectedVersion = Math.max(this.state.projectedVersion, version);
  }
}
