import type {
  Actor,
  CaseClock,
  CaseEventType,
  CaseStage,
  CollectionPolicy,
  Hand,
  LoanFacts,
  PauseReason,
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

/**
 * Everything a case knows, carried whole through continue-as-new. Plain JSON: no Map, Set or
 * Date. The ledgers of payments, notes and contacts live in PostgreSQL, not here.
 */
export interface CaseState {
  caseId: string;
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
  overdue: number;
  recovered: number;
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
  openedAt: string;
  closedAt: string | null;
  continueAsNewAfterEvents: number | null;
}

export const SEEN_REQUEST_IDS_KEPT = 2_000;
