/** What the watch workflow hands its projection. Pure: the workflow imports it. */
import type { Actor, WatchEventType, WatchView } from '../domain';

export interface WatchEventRecord {
  /** Made in the workflow, so a retried activity writes the same event once. */
  eventId: string;
  seq: number;
  type: WatchEventType;
  actor: Actor;
  requestId: string | null;
  occurredAt: string;
  payload: Record<string, unknown>;
}

export interface WatchTaskRecord {
  id: string;
  type: 'visit';
  officerId: string | null;
  dueAt: string;
}

/** One atomic write of what a stretch of the watch produced. */
export interface WatchProjectionBatch {
  watchId: string;
  /** The watch's first run: a later watch of the same loan has another. */
  runId: string;
  /** Increases with every batch; the row keeps the newest. */
  version: number;
  view: WatchView;
  events: WatchEventRecord[];
  tasks: WatchTaskRecord[];
  /** A visit was reported: the open visit tasks are done. */
  visitDone: boolean;
}
