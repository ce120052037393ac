/**
 * The risk watch (风险预警, 查隐患、控风险): a loan watched before it is overdue, with an exit plan
 * (退出) decided by four eyes like a case's measures. Pure: the watch workflow, its projection and
 * the API share it.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Actor } from './case';
import type { MeasureDecision, MeasureDecisionView, MeasureState } from './measures';
import type { MessageMeta } from './messages';

export const WATCH_WORKFLOW_TYPE = 'riskWatch';

/** From daily work: fund misuse, business deterioration at an inspection, a second mortgage
 * (二押), linkage to small-loan defaults (小额联动), false entrusted payment (虚假受托支付); from
 * origination: the officer's doubts, a purpose known to be non-compliant, a loan pushed through
 * against the head-office reviewer's advice. */
export const WATCH_TRIGGERS = [
  'fund_misuse',
  'business_deterioration',
  'second_mortgage',
  'small_loan_linkage',
  'false_entrusted_payment',
  'origination_officer_doubts',
  'origination_non_compliant_purpose',
  'origination_against_review_advice',
] as const;
export type WatchTrigger = (typeof WATCH_TRIGGERS)[number];

/** 转他行贷款, 售楼结清, 贷款重组, 转期贷, 贷后要素变更, 提高支用利率. */
export const EXIT_MEASURE_TYPES = [
  'transfer_to_other_bank',
  'property_sale_settlement',
  'restructuring',
  'term_loan_conversion',
  'post_loan_terms_change',
  'drawdown_rate_increase',
] as const;
export type ExitMeasureType = (typeof EXIT_MEASURE_TYPES)[number];

/** `handed_over`: the loan went overdue and its collection case took the watch's history. */
export const WATCH_STATES = ['watching', 'resolved', 'exited', 'handed_over'] as const;
export type WatchState = (typeof WATCH_STATES)[number];

export const WATCH_EVENT_TYPES = [
  'watch_opened',
  'exit_measure_proposed',
  'exit_measure_approved',
  'exit_measure_rejected',
  'exit_measure_cancelled',
  'visit_due',
  'visit_reported',
  'watch_resolved',
  'watch_exited',
  'watch_handed_over',
] as const;
export type WatchEventType = (typeof WATCH_EVENT_TYPES)[number];

/** Why a watch refused a message: 422 for what the message says, 409 for the watch's state. */
export const WATCH_REFUSAL_REASONS = [
  'watch_closed',
  'duplicate_measure',
  'measure_already_open',
  'unknown_measure',
  'measure_already_decided',
  'four_eyes',
  'exit_measure_not_approved',
  'invalid_text',
] as const;
export type WatchRefusalReason = (typeof WATCH_REFUSAL_REASONS)[number];
export const WATCH_UNACCEPTABLE_VALUE_REASONS: readonly WatchRefusalReason[] = ['invalid_text'];

export interface WatchRefusal {
  reason: WatchRefusalReason;
  field?: string;
  detail: Record<string, unknown>;
}

/** The failure type of a refused watch message (an update validator throws it). */
export const WATCH_MESSAGE_REFUSED = 'WatchMessageRefused';

/** The loan as the watch knows it: no personal data, only what tiers and routes the work. */
export interface WatchedLoan {
  loanId: string;
  branch: string;
  currency: string;
  /** Minor units of `currency`. */
  outstanding: number;
  officerId: string | null;
}

export interface WatchOpening extends MessageMeta {
  loan: WatchedLoan;
  trigger: WatchTrigger;
  note: string | null;
  /** Days between visits to a large customer (大客户); null: no visits (below the threshold). */
  visitEveryDays: number | null;
  /** Length of a watch day in ms: a day, or less on a demo or test policy's calendar. */
  dayMs: number;
}

/** One measure of the exit plan: the case measures' lifecycle and four-eyes rule. */
export interface ExitMeasureView {
  measureId: string;
  type: ExitMeasureType;
  state: MeasureState;
  rationale: string;
  proposedBy: Actor;
  proposedAt: string;
  decision: MeasureDecisionView | null;
  endedAt: string | null;
}

export interface WatchView {
  watchId: string;
  loanId: string;
  branch: string;
  currency: string;
  outstanding: number;
  officerId: string | null;
  trigger: WatchTrigger;
  state: WatchState;
  exitPlan: ExitMeasureView[];
  visitEveryDays: number | null;
  nextVisitAt: string | null;
  visits: number;
  /** The collection case the watch handed over to. */
  caseId: string | null;
  openedAt: string;
  closedAt: string | null;
}

export interface ProposeExitMeasure extends MessageMeta {
  measureId: string;
  type: ExitMeasureType;
  rationale: string;
}

export interface DecideExitMeasure extends MessageMeta {
  measureId: string;
  decision: MeasureDecision;
  reason: string;
}

export interface ReportVisit extends MessageMeta {
  summary: string;
}

export interface ResolveWatch extends MessageMeta {
  note: string;
}

/** The customer exits by an approved measure of the plan. */
export interface ExitWatch extends MessageMeta {
  measureId: string;
  note: string;
}

/** Intake found the loan overdue: its collection case is open. */
export interface HandOverWatch extends MessageMeta {
  caseId: string;
}

/** What the collection case records of the watch it took over. */
export interface WatchLink {
  watchId: string;
  trigger: WatchTrigger;
  openedAt: string;
  handedOverAt: string;
  /** Events of the watch's trail (`watch_events`) up to the handover. */
  events: number;
  exitPlan: { measureId: string; type: ExitMeasureType; state: MeasureState }[];
}

export interface WatchMessages {
  proposeExitMeasure: ProposeExitMeasure;
  decideExitMeasure: DecideExitMeasure;
  reportVisit: ReportVisit;
  resolve: ResolveWatch;
  exit: ExitWatch;
}
export type WatchMessageName = keyof WatchMessages;

export interface WatchResult {
  /** False for a request id the watch had already applied (in an earlier run). */
  applied: boolean;
  watch: WatchView;
}

export interface OpenWatchResult {
  created: boolean;
  watch: WatchView;
}

/** The workflow id of a loan's watch: the loan id, never the borrower. */
export function watchIdForLoan(loanId: string): string {
  return `watch-${loanId}`;
}

export const openWatchUpdate = defineUpdate<OpenWatchResult, [MessageMeta]>('openWatch');
export const proposeExitMeasureUpdate = defineUpdate<WatchResult, [ProposeExitMeasure]>('proposeExitMeasure');
export const decideExitMeasureUpdate = defineUpdate<WatchResult, [DecideExitMeasure]>('decideExitMeasure');
export const reportVisitUpdate = defineUpdate<WatchResult, [ReportVisit]>('reportVisit');
export const resolveWatchUpdate = defineUpdate<WatchResult, [ResolveWatch]>('resolveWatch');
export const exitWatchUpdate = defineUpdate<WatchResult, [ExitWatch]>('exitWatch');
/** A signal: intake must not wait on the watch, and Temporal keeps it until a worker runs. */
export const handOverWatchSignal = defineSignal<[HandOverWatch]>('handOverWatch');
export const watchStateQuery = defineQuery<WatchView>('watchState');
/** Sent by the watch to the case it handed over to. */
export const watchLinkedSignal = defineSignal<[WatchLink]>('watchLinked');

/** The task id of a watch's n-th visit: stable across retries and continue-as-new. */
export function watchVisitTaskId(watchId: string, runId: string, n: number): string {
  return `${watchId}:${runId}:visit:${n}`;
}
