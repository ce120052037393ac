/** What the case workflow hands its activities. Pure: the workflow imports it. */
import type { Actor, CaseClock, CaseEventType, CaseView, Collateral, Hand, MeasureView, NotificationChannel, Party, Recipient, TaskType } from '../domain';
import type { PaymentAllocation } from '../domain/arrears';

/** The failure type of a batch PostgreSQL refused for its data: retrying cannot help. */
export const PROJECTION_REFUSED = 'ProjectionRefused';

export interface CaseEventRecord {
  /** Made in the workflow, so a retried activity writes the same event once. */
  eventId: string;
  seq: number;
  type: CaseEventType;
  actor: Actor;
  requestId: string | null;
  occurredAt: string;
  payload: Record<string, unknown>;
}

export interface PaymentRecord {
  reference: string;
  amount: number;
  paidAt: string;
  receivedAt: string;
  eventId: string;
  recordedBy: string;
  /** Absent in batches before payers were named: the borrower. */
  payer?: string;
  /** What the payment paid (absent in batches before arrears by component). */
  allocation?: PaymentAllocation;
}

export interface NotificationRecord {
  id: string;
  channel: NotificationChannel;
  template: string;
  recipient: Recipient;
  payload: Record<string, unknown>;
}

export interface TaskRecord {
  id: string;
  type: TaskType;
  hand: Hand;
  officerId: string | null;
  dueAt: string;
}

/** One atomic write of everything a stretch of the case produced. */
export interface ProjectionBatch {
  caseId: string;
  /** The episode the run belongs to; null (or absent) for runs opened before episodes were
   * numbered, which the ledger tells apart by `episodeRunId`. */
  episode?: number | null;
  /** The first run of this episode: a different value in the ledger means a new episode. */
  episodeRunId: string;
  runId: string;
  /** Increases with every batch; the ledger keeps the newest. */
  version: number;
  view: CaseView;
  /** The case calendar and the paused case time: the ledger derives days past due and paused
   * days from them at read time. Absent in batches of engine 1. */
  clock?: CaseClock;
  pausedCaseMs?: number;
  pauseSinceCaseMs?: number | null;
  lastEvent: { type: CaseEventType; at: string } | null;
  collateral: Collateral[];
  /** Only on the opening batch of a case opened before intake kept the parties in PostgreSQL
   * (its opening carried them); intake writes them itself now. */
  parties?: { borrower: Party; guarantors: Party[] };
  events: CaseEventRecord[];
  payments: PaymentRecord[];
  notifications: NotificationRecord[];
  tasks: TaskRecord[];
  /** Measures of the plan whose state changed (absent in batches before the plan). */
  measures?: MeasureView[];
  /** Open tasks move to this officer (after an assignment). */
  reassignTasksTo?: string;
}

/** An update's answer with the batch that holds its message, for the API to write to the ledger
 * before it answers (workflows/case ANSWER_WITH_BATCH_PATCH); absent where the case answered
 * once the ledger held it. The batch travels without its view: the answer's `case` is that view,
 * and the history keeps it once. */
export type WithBatch<T extends { case: CaseView }> = T & { batch?: Omit<ProjectionBatch, 'view'> };

/** The answer's part of a batch: its view as the answer's `case`, the rest beside it. */
export function answerFields(batch: ProjectionBatch): { case: CaseView; batch: Omit<ProjectionBatch, 'view'> } {
  const { view, ...rest } = batch;
  return { case: view, batch: rest };
}

/** An answer and the whole batch it carried, if it carried one. */
export function answeredBatch<T extends { case: CaseView }>(answer: WithBatch<T>): { result: T; batch?: ProjectionBatch } {
  const { batch, ...result } = answer;
  return batch ? { result: result as unknown as T, batch: { ...batch, view: answer.case } } : { result: result as unknown as T };
}

export interface DeliveryResult {
  sent: number;
}

/** A batch the ledger refused, set aside for a supervisor to repair. */
export interface ProjectionIncident {
  caseId: string;
  runId: string;
  version: number;
  error: string;
  batch: ProjectionBatch;
}
