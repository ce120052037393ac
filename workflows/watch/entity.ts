import { uuid4 } from '@temporalio/workflow';
import type { WatchEventRecord, WatchProjectionBatch, WatchTaskRecord } from '../../activities/watch-contract';
import {
  OPEN_MEASURE_STATES,
  containsNul,
  watchVisitTaskId,
  type Actor,
  type DecideExitMeasure,
  type ExitMeasureView,
  type ExitWatch,
  type HandOverWatch,
  type MessageMeta,
  type ProposeExitMeasure,
  type ReportVisit,
  type ResolveWatch,
  type WatchEventType,
  type WatchLink,
  type WatchMessageName,
  type WatchMessages,
  type WatchOpening,
  type WatchRefusal,
  type WatchView,
} from '../../domain';
import { WATCH_SEEN_REQUEST_IDS_KEPT, type WatchData } from './state';

/** Events the watch makes of its own accord (its visit schedule). */
export const WATCH_ACTOR: Actor = { sub: 'workflow', role: 'system' };

interface Pending {
  events: WatchEventRecord[];
  tasks: WatchTaskRecord[];
  visitDone: boolean;
}

const emptyPending = (): Pending => ({ events: [], tasks: [], visitDone: false });

const refusal = (reason: WatchRefusal['reason'], detail: Record<string, unknown> = {}, field?: string): WatchRefusal => ({
  reason,
  ...(field ? { field } : {}),
  detail,
});

/**
 * The watch's rules apart from Temporal's plumbing: every message and every passage of time
 * changes the state and queues what must be projected. Time is passed in (the workflow clock).
 * The exit plan follows the case's measure lifecycle (proposed → approved | rejected; approved →
 * succeeded by the exit, or cancelled) and its four-eyes rule.
 */
export class WatchEntity {
  private pending: Pending = emptyPending();

  private constructor(readonly state: WatchData) {}

  static open(opening: WatchOpening, watchId: string, firstRunId: string, nowMs: number): WatchEntity {
    const every = opening.visitEveryDays;
    const entity = new WatchEntity({
      watchId,
      firstRunId,
      openingRequestId: opening.requestId,
      loan: opening.loan,
      trigger: opening.trigger,
      dayMs: opening.dayMs,
      visitEveryDays: every,
      nextVisitAtMs: every ? nowMs + every * opening.dayMs : null,
      visitTasks: 0,
      visitsReported: 0,
      state: 'watching',
      exitPlan: [],
      caseId: null,
      seenRequestIds: [opening.requestId],
      eventSeq: 0,
      version: 0,
      projectedVersion: 0,
      caseTold: false,
      openedAt: new Date(nowMs).toISOString(),
      closedAt: null,
    });
    entity.record('watch_opened', opening.by, opening.requestId, nowMs, {
      loanId: opening.loan.loanId,
      trigger: opening.trigger,
      note: opening.note,
      currency: opening.loan.currency,
      outstanding: opening.loan.outstanding,
      visitEveryDays: every,
    });
    return entity;
  }

  static continued(state: WatchData): WatchEntity {
    return new WatchEntity(state);
  }

  get closed(): boolean {
    return this.state.state !== 'watching';
  }

  /** Closed, and the case it handed over to (if any) has been told. */
  get finished(): boolean {
    return this.closed && (this.state.state !== 'handed_over' || this.state.caseTold);
  }

  hasPending(): boolean {
    const p = this.pending;
    return p.events.length > 0 || p.tasks.length > 0 || p.visitDone;
  }

  /** Raises the visit that fell due: one task however long the worker was away; the schedule
   * keeps its rhythm. */
  advance(nowMs: number): void {
    const { state } = this;
    if (this.closed || state.nextVisitAtMs === null || state.nextVisitAtMs > nowMs) return;
    const every = state.visitEveryDays! * state.dayMs;
    const dueAtMs = state.nextVisitAtMs;
    state.visitTasks += 1;
    const task: WatchTaskRecord = {
      id: watchVisitTaskId(state.watchId, state.firstRunId, state.visitTasks),
      type: 'visit',
      officerId: state.loan.officerId,
      // The officer has until the next visit falls due.
      dueAt: new Date(dueAtMs + every).toISOString(),
    };
    this.pending.tasks.push(task);
    state.nextVisitAtMs = dueAtMs + Math.max(1, Math.ceil((nowMs - dueAtMs + 1) / every)) * every;
    this.record('visit_due', WATCH_ACTOR, null, nowMs, { taskId: task.id, dueAt: task.dueAt, officerId: task.officerId, n: state.visitTasks });
  }

  nextWakeMs(): number | null {
    return this.closed ? null : this.state.nextVisitAtMs;
  }

  // ---- messages --------------------------------------------------------------------------

  validate<N extends WatchMessageName>(name: N, msg: WatchMessages[N]): WatchRefusal | null {
    return this.seen(msg) ? null : this.refusalOf(name, msg);
  }

  /** An update, validated already: 'duplicate' for a request id applied before (in this run or
   * an earlier one), a refusal when another message changed the watch meanwhile. */
  accept<N extends WatchMessageName>(name: N, msg: WatchMessages[N], nowMs: number): WatchRefusal | 'duplicate' | null {
    this.advance(nowMs);
    if (this.seen(msg)) return 'duplicate';
    const refused = this.refusalOf(name, msg);
    if (refused) return refused;
    this.remember(msg);
    this.apply(name, msg, nowMs);
    return null;
  }

  /** Intake found the loan overdue: the watch hands over to the collection case and ends. A
   * repeated signal (intake's retry, tomorrow's list) changes nothing. */
  handOver(msg: HandOverWatch, nowMs: number): void {
    if (this.closed || this.seen(msg)) return;
    this.advance(nowMs);
    this.remember(msg);
    const cancelled = this.cancelOpenMeasures(msg.by, msg.requestId, nowMs, `handed over to ${msg.caseId}`);
    this.close('handed_over', nowMs);
    this.state.caseId = msg.caseId;
    this.record('watch_handed_over', msg.by, msg.requestId, nowMs, { caseId: msg.caseId, cancelled });
  }

  /** What the case records of the watch: its id, trigger and the shape of its history. */
  link(): WatchLink {
    const { state } = this;
    return {
      watchId: state.watchId,
      trigger: state.trigger,
      openedAt: state.openedAt,
      handedOverAt: state.closedAt!,
      events: state.eventSeq,
      exitPlan: state.exitPlan.map((m) => ({ measureId: m.measureId, type: m.type, state: m.state })),
    };
  }

  markCaseTold(): void {
    this.state.caseTold = true;
  }

  private refusalOf<N extends WatchMessageName>(name: N, msg: WatchMessages[N]): WatchRefusal | null {
    const { state } = this;
    if (this.closed) return refusal('watch_closed', { state: state.state, closedAt: state.closedAt, caseId: state.caseId });
    const nul = containsNul(msg);
    if (nul) return refusal('invalid_text', {}, nul);
    switch (name) {
      case 'proposeExitMeasure': {
        const m = msg as ProposeExitMeasure;
        if (this.measure(m.measureId)) return refusal('duplicate_measure', { measureId: m.measureId }, 'measureId');
        const open = state.exitPlan.find((x) => x.type === m.type && OPEN_MEASURE_STATES.includes(x.state));
        if (open) return refusal('measure_already_open', { measureId: open.measureId, state: open.state });
        return null;
      }
      case 'decideExitMeasure': {
        const m = msg as DecideExitMeasure;
        const measure = this.measure(m.measureId);
        if (!measure) return refusal('unknown_measure', { measureId: m.measureId }, 'measureId');
        if (measure.state !== 'proposed') {
          return refusal('measure_already_decided', { measureId: m.measureId, state: measure.state, decision: measure.decision });
        }
        if (m.by.sub === measure.proposedBy.sub) return refusal('four_eyes', { proposedBy: measure.proposedBy });
        return null;
      }
      case 'exit': {
        const m = msg as ExitWatch;
        const measure = this.measure(m.measureId);
        if (!measure) return refusal('unknown_measure', { measureId: m.measureId }, 'measureId');
        if (measure.state !== 'approved' && measure.state !== 'in_progress') {
          return refusal('exit_measure_not_approved', { measureId: m.measureId, state: measure.state });
        }
        return null;
      }
      default:
        return null;
    }
  }

  private apply<N extends WatchMessageName>(name: N, msg: WatchMessages[N], nowMs: number): void {
    switch (name) {
      case 'proposeExitMeasure':
        return this.propose(msg as ProposeExitMeasure, nowMs);
      case 'decideExitMeasure':
        return this.decide(msg as DecideExitMeasure, nowMs);
      case 'reportVisit':
        return this.reportVisit(msg as ReportVisit, nowMs);
      case 'resolve':
        return this.resolve(msg as ResolveWatch, nowMs);
      case 'exit':
        return this.exit(msg as ExitWatch, nowMs);
    }
  }

  private propose(m: ProposeExitMeasure, nowMs: number): void {
    this.state.exitPlan.push({
      measureId: m.measureId,
      type: m.type,
      state: 'proposed',
      rationale: m.rationale,
      proposedBy: m.by,
      proposedAt: new Date(nowMs).toISOString(),
      decision: null,
      endedAt: null,
    });
    this.record('exit_measure_proposed', m.by, m.requestId, nowMs, { measureId: m.measureId, type: m.type, rationale: m.rationale });
  }

  private decide(m: DecideExitMeasure, nowMs: number): void {
    const measure = this.measure(m.measureId)!;
    const at = new Date(nowMs).toISOString();
    measure.state = m.decision === 'approve' ? 'approved' : 'rejected';
    measure.decision = { decision: m.decision, by: m.by, at, reason: m.reason };
    if (measure.state === 'rejected') measure.endedAt = at;
    this.record(m.decision === 'approve' ? 'exit_measure_approved' : 'exit_measure_rejected', m.by, m.requestId, nowMs, {
      measureId: m.measureId,
      type: measure.type,
      reason: m.reason,
      proposedBy: measure.proposedBy,
    });
  }

  private reportVisit(m: ReportVisit, nowMs: number): void {
    this.state.visitsReported += 1;
    this.pending.visitDone = true;
    this.record('visit_reported', m.by, m.requestId, nowMs, { summary: m.summary, visits: this.state.visitsReported });
  }

  private resolve(m: ResolveWatch, nowMs: number): void {
    const cancelled = this.cancelOpenMeasures(m.by, m.requestId, nowMs, 'the risk was resolved');
    this.close('resolved', nowMs);
    this.record('watch_resolved', m.by, m.requestId, nowMs, { note: m.note, cancelled });
  }

  private exit(m: ExitWatch, nowMs: number): void {
    const measure = this.measure(m.measureId)!;
    measure.state = 'succeeded';
    measure.endedAt = new Date(nowMs).toISOString();
    const cancelled = this.cancelOpenMeasures(m.by, m.requestId, nowMs, `the customer exited by ${measure.type}`);
    this.close('exited', nowMs);
    this.record('watch_exited', m.by, m.requestId, nowMs, { measureId: m.measureId, type: measure.type, note: m.note, cancelled });
  }

  private cancelOpenMeasures(by: Actor, requestId: string | null, nowMs: number, reason: string): string[] {
    const open = this.state.exitPlan.filter((m) => OPEN_MEASURE_STATES.includes(m.state));
    for (const measure of open) {
      measure.state = 'cancelled';
      measure.endedAt = new Date(nowMs).toISOString();
      this.record('exit_measure_cancelled', by, requestId, nowMs, { measureId: measure.measureId, type: measure.type, reason });
    }
    return open.map((m) => m.measureId);
  }

  private close(state: 'resolved' | 'exited' | 'handed_over', nowMs: number): void {
    this.state.state = state;
    this.state.closedAt = new Date(nowMs).toISOString();
    this.state.nextVisitAtMs = null;
  }

  private measure(measureId: string): ExitMeasureView | undefined {
    return this.state.exitPlan.find((m) => m.measureId === measureId);
  }

  private seen(msg: MessageMeta): boolean {
    return this.state.seenRequestIds.includes(msg.requestId);
  }

  private remember(msg: MessageMeta): void {
    const ids = this.state.seenRequestIds;
    ids.push(msg.requestId);
    if (ids.length > WATCH_SEEN_REQUEST_IDS_KEPT) ids.splice(0, ids.length - WATCH_SEEN_REQUEST_IDS_KEPT);
  }

  private record(type: WatchEventType, actor: Actor, requestId: string | null, nowMs: number, payload: Record<string, unknown>): void {
    this.pending.events.push({ eventId: uuid4(), seq: ++this.state.eventSeq, type, actor, requestId, occurredAt: new Date(nowMs).toISOString(), payload });
  }

  // ---- views and projection ------------------------------------------------------------

  view(): WatchView {
    const { state } = this;
    return {
      watchId: state.watchId,
      loanId: state.loan.loanId,
      branch: state.loan.branch,
      currency: state.loan.currency,
      outstanding: state.loan.outstanding,
      officerId: state.loan.officerId,
      trigger: state.trigger,
      state: state.state,
      exitPlan: state.exitPlan,
      visitEveryDays: state.visitEveryDays,
      nextVisitAt: state.nextVisitAtMs === null ? null : new Date(state.nextVisitAtMs).toISOString(),
      visits: state.visitsReported,
      caseId: state.caseId,
      openedAt: state.openedAt,
      closedAt: state.closedAt,
    };
  }

  get nextVersion(): number {
    return this.state.version + 1;
  }

  takeBatch(): WatchProjectionBatch | null {
    if (!this.hasPending()) return null;
    const p = this.pending;
    this.pending = emptyPending();
    const { state } = this;
    return {
      watchId: state.watchId,
      runId: state.firstRunId,
      version: ++state.version,
      view: this.view(),
      events: p.events,
      tasks: p.tasks,
      visitDone: p.visitDone,
    };
  }

  markProjected(version: number): void {
    this.state.projectedVersion = Math.max(this.state.projectedVersion, version);
  }
}
