import type { ExitMeasureView, WatchState, WatchTrigger, WatchedLoan } from '../../domain';

/**
 * Everything a watch knows, carried whole through continue-as-new. Plain JSON: no Map, Set or
 * Date; the trail itself lives in PostgreSQL (`watch_events`).
 */
export interface WatchData {
  watchId: string;
  /** The watch's first run: its trail and tasks are keyed by it across continue-as-new. */
  firstRunId: string;
  openingRequestId: string;
  loan: WatchedLoan;
  trigger: WatchTrigger;
  dayMs: number;
  visitEveryDays: number | null;
  /** Wall-clock ms of the next visit to raise; null when the watch has no visits. */
  nextVisitAtMs: number | null;
  /** Visit tasks raised so far (their ids count on). */
  visitTasks: number;
  visitsReported: number;
  state: WatchState;
  exitPlan: ExitMeasureView[];
  caseId: string | null;
  /** Recent request ids (bounded): a repeated message has no second effect. */
  seenRequestIds: string[];
  eventSeq: number;
  version: number;
  projectedVersion: number;
  /** The case it handed over to has been told (`watchLinked`). */
  caseTold: boolean;
  openedAt: string;
  closedAt: string | null;
}

export const WATCH_SEEN_REQUEST_IDS_KEPT = 1_000;
