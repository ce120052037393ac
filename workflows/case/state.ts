import { openingArrears, type Arrears, type CaseOutcome } from '../../domain/arrears';
import type {
  Actor,
  CaseClock,
  CaseEventType,
  CaseStage,
  ClassificationView,
  ContactOutcome,
  CollateralStatus,
  CollectionPolicy,
  Hand,
  LoanFacts,
  MeasureView,
  PauseReason,
  WriteOffView,
  TaskType,
} from '../../domain';

export interface PromiseState {
  amount: number;
  dueDate: string;
  /** Case time at which the promise is judged: the end of its due date. */
  dueAtCaseMs: number;
  promisedAt: string;
  paidSoFar: number;
  by: Actor;
  requestId: string;
}

export interface SettlementState {
  measureId: string;
  amount: number;
  paid: number;
  agreedAt: string;
}

export interface PauseState {
  reason: PauseReason;
  sinceCaseMs: number;
  since: string;
  untilCaseMs: number | null;
  until: string | null;
  by: Actor;
}

export interface RecurringTask {
  task: TaskType;
  hand: Hand;
  everyDays: number;
  nextAtCaseMs: number;
}

export interface ProjectionIncident {
  version: number;
  at: string;
  error: string;
  eventTypes: string[];
}

/**
 * The shape of `CaseState`. A run continued from an older shape passes through `upgradeState`
 * first; raise this with every change of shape and add the step there.
 */
export const STATE_VERSION = 5;

/**
 * Everything a case knows, carried whole through continue-as-new. Plain JSON: no Map, Set or
 * Date. The ledgers of payments, notes and contacts live in PostgreSQL, not here.
 */
export interface CaseState {
  stateVersion: number;
  caseId: string;
  /** 1 for the loan's first case; null for cases opened before episodes were numbered (the
   * ledger then tells the episode by run id). */
  episode: number | null;
  episodeRunId: string;
  loan: LoanFacts;
  openingRequestId: string;
  policy: CollectionPolicy;
  clock: CaseClock;
  stage: CaseStage;
  hand: Hand;
  /** The lowest hand the case may be in regardless of days: a broken promise raises it. */
  handFloor: Hand;
  officerId: string | null;
  outstanding: number;
  /** Always the sum of `arrears`. */
  overdue: number;
  arrears: Arrears;
  recovered: number;
  creditToReturn: number;
  outcome: CaseOutcome | null;
  settlement: SettlementState | null;
  /** The hand a failed measure sent the case back to (the policy's re-entry hand), until reached. */
  reentry: { hand: Hand; measureId: string } | null;
  classification: ClassificationView | null;
  tier: string | null;
  brokenPromises: number;
  lastContactOutcome: ContactOutcome | null;
  /** Case time of the next supervisors' phone follow-up; null while the policy sets none (yet). */
  followUpAtCaseMs: number | null;
  /** Case time spent in finished pauses; the ladder does not count it. */
  pausedCaseMs: number;
  pause: PauseState | null;
  openPromise: PromiseState | null;
  recurring: RecurringTask[];
  /** Recent request ids (bounded): a repeated officer message has no second effect. */
  seenRequestIds: string[];
  /** Every credited payment reference: a repeated reference is never credited twice. */
  paymentReferences: string[];
  eventSeq: number;
  version: number;
  projectedVersion: number;
  lastEvent: { type: CaseEventType; at: string } | null;
  /** Wall-clock ms up to which time has been applied: a late message is never applied before it. */
  lastAdvancedMs: number;
  /** Batches the ledger refused, newest last (bounded). */
  incidents: ProjectionIncident[];
  /** The plan: this episode's measures, oldest first. */
  measures: MeasureView[];
  /** Case time the ladder waited for finished measures that carry their own schedule. */
  heldCaseMs: number;
  /** The measure the ladder waits for now (restructuring, extension, litigation in progress). */
  hold: { measureId: string; sinceCaseMs: number } | null;
  writeOff: WriteOffView | null;
  recoveredAfterWriteOff: number;
  /** Every officer the case has been assigned to, for the accountability finding. */
  officersInvolved: string[];
  /** What each guarantor (`guarantor:<n>`) has paid: never more than they guaranteed. */
  paidByGuarantor: Record<string, number>;
  /** Legal costs the suits recorded, in minor units. */
  legalCosts: number;
  collateralStatus: CollateralStatus[];
  openedAt: string;
  closedAt: string | null;
  continueAsNewAfterEvents: number | null;
}

export const SEEN_REQUEST_IDS_KEPT = 2_000;

export const INCIDENTS_KEPT = 20;

/** Brings a state carried by continue-as-new from an older shape up to `STATE_VERSION`. */
export function upgradeState(state: CaseState, nowMs: number): CaseState {
  const from = (state as Partial<CaseState>).stateVersion ?? 1;
  if (from < 2) {
    state.episode ??= null;
    state.lastAdvancedMs ??= nowMs;
    state.incidents ??= [];
  }
  if (from < 3) {
    state.measures ??= [];
    state.heldCaseMs ??= 0;
    state.hold ??= null;
    state.writeOff ??= null;
    state.recoveredAfterWriteOff ??= 0;
    state.officersInvolved ??= state.officerId ? [state.officerId] : [];
    state.paidByGuarantor ??= {};
    state.legalCosts ??= 0;
    state.collateralStatus ??= state.loan.collateral.map(() => 'held');
  }
  if (from < 4) {
    state.arrears ??= openingArrears(state.overdue, undefined);
    state.creditToReturn ??= 0;
    state.outcome ??= null;
    state.settlement ??= null;
  }
  if (from < 5) {
    state.reentry ??= null;
    state.classification ??= null;
    state.tier ??= null;
    state.brokenPromises ??= 0;
    state.lastContactOutcome ??= null;
    state.followUpAtCaseMs ??= null;
  }
  state.stateVersion = STATE_VERSION;
  return state;
}
