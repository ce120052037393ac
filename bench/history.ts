/**
 * Reads a workflow's Temporal history as wakes: each wake is what woke the workflow (a timer,
 * an activity's result, a signal, an update, the start), the workflow task it ran, and the
 * commands that task recorded. Events of a history are counted and grouped from here.
 */
import proto, { type temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

// A CommonJS module: its namespace comes through the default import under Node's ESM loader.
const EVENT_TYPE_NAMES = proto.temporal.api.enums.v1.EventType as unknown as Record<number, string>;

/** `EVENT_TYPE_WORKFLOW_TASK_STARTED` → `WorkflowTaskStarted`. */
export function eventName(event: HistoryEvent): string {
  const raw = EVENT_TYPE_NAMES[Number(event.eventType ?? 0)] ?? `EventType${event.eventType}`;
  return raw
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
}

const WORKFLOW_TASK = new Set([
  'WorkflowTaskScheduled',
  'WorkflowTaskStarted',
  'WorkflowTaskCompleted',
  'WorkflowTaskFailed',
  'WorkflowTaskTimedOut',
]);

/** Events a completed workflow task writes: the workflow's own commands and protocol messages. */
const COMMANDS = new Set([
  'TimerStarted',
  'TimerCanceled',
  'ActivityTaskScheduled',
  'ActivityTaskCancelRequested',
  'MarkerRecorded',
  'UpsertWorkflowSearchAttributes',
  'WorkflowPropertiesModified',
  'WorkflowExecutionUpdateAccepted',
  'WorkflowExecutionUpdateRejected',
  'WorkflowExecutionUpdateCompleted',
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionContinuedAsNew',
  'StartChildWorkflowExecutionInitiated',
  'SignalExternalWorkflowExecutionInitiated',
  'RequestCancelExternalWorkflowExecutionInitiated',
]);

export interface Wake {
  /** 1-based, in history order. */
  index: number;
  /** What woke the workflow: start, timer, activity, signal, update, child (a child workflow started or
   * ended), signal delivered (joined with + when several). */
  trigger: string;
  events: string[];
  /** The same events with what they carry: the marker's kind (patch, which local activity), the
   * search attributes an upsert sets, the activity type scheduled, the update's name. */
  labels: string[];
  /** Wall-clock ms of the wake's first event. */
  atMs: number;
  /** The case's hand after this wake (from the CollectionHand search attribute), when known. */
  hand?: number;
}

function triggerKind(name: string): string {
  if (name === 'WorkflowExecutionStarted') return 'start';
  if (name === 'TimerFired') return 'timer';
  if (name.startsWith('ActivityTask')) return 'activity';
  if (name === 'WorkflowExecutionSignaled') return 'signal';
  if (name.startsWith('WorkflowExecutionUpdate')) return 'update';
  if (name.startsWith('ChildWorkflowExecution')) return 'child';
  if (name === 'ExternalWorkflowExecutionSignaled') return 'signal delivered';
  return name;
}

/** The hand a search attribute upsert sets, if it sets one. */
function upsertedHand(event: HistoryEvent): number | undefined {
  const payload = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.CollectionHand;
  if (!payload?.data) return undefined;
  const value: unknown = JSON.parse(Buffer.from(payload.data).toString('utf8'));
  return typeof value === 'number' ? value : undefined;
}

function startedHand(event: HistoryEvent): number | undefined {
  const payload = event.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields?.CollectionHand;
  if (!payload?.data) return undefined;
  const value: unknown = JSON.parse(Buffer.from(payload.data).toString('utf8'));
  return typeof value === 'number' ? value : undefined;
}

/** `eventName` plus what the event carries, for telling apart events of the same type. */
export function eventLabel(event: HistoryEvent, name = eventName(event)): string {
  const short = shortName(name);
  const marker = event.markerRecordedEventAttributes;
  if (marker) {
    if (marker.markerName === 'core_patch') return `${short}(patch)`;
    const data = marker.details?.data?.payloads?.[0]?.data;
    let type: unknown;
    try {
      type = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: unknown }).activity_type : undefined;
    } catch {
      type = undefined;
    }
    return marker.markerName === 'core_local_activity' ? `${short}(LA ${String(type ?? '?')})` : `${short}(${marker.markerName})`;
  }
  const upsert = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
  if (upsert) return `${short}(${Object.keys(upsert).sort().join(',')})`;
  const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
  if (scheduled) return `${short}(${scheduled})`;
  const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
  if (update) return `${short}(${update})`;
  const signal = event.workflowExecutionSignaledEventAttributes?.signalName;
  if (signal) return `${short}(${signal})`;
  const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name;
  if (child) return `${short}(${child})`;
  const sent = event.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName;
  if (sent) return `${short}(${sent})`;
  return short;
}

function eventMs(event: HistoryEvent): number {
  const time = event.eventTime;
  return time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;
}

/** Timers the workflow started that have neither fired nor been cancelled: what would wake it. */
export function armedTimers(events: HistoryEvent[]): number {
  const armed = new Set<string>();
  for (const event of events) {
    const started = event.timerStartedEventAttributes?.timerId;
    if (started) armed.add(started);
    const ended = event.timerFiredEventAttributes?.timerId ?? event.timerCanceledEventAttributes?.timerId;
    if (ended) armed.delete(ended);
  }
  return armed.size;
}

export function splitWakes(events: HistoryEvent[]): Wake[] {
  const wakes: Wake[] = [];
  let current: (Wake & { completed: boolean; triggers: string[] }) | undefined;
  let hand: number | undefined;
  const open = () => {
    current = { index: wakes.length + 1, trigger: '', events: [], labels: [], atMs: 0, completed: false, triggers: [] };
    wakes.push(current);
    return current;
  };
  for (const event of events) {
    const name = eventName(event);
    let wake = current;
    if (WORKFLOW_TASK.has(name)) {
      // A workflow task with nothing before it: an update's (speculative) task, or a retry.
      if (!wake || (wake.completed && name === 'WorkflowTaskScheduled')) wake = open();
      if (name === 'WorkflowTaskCompleted') wake.completed = true;
    } else if (COMMANDS.has(name)) {
      wake ??= open();
      if (name.startsWith('WorkflowExecutionUpdate')) wake.triggers.push('update');
    } else {
      if (!wake || wake.completed) wake = open();
      wake.triggers.push(triggerKind(name));
    }
    if (wake.events.length === 0) wake.atMs = eventMs(event);
    wake.events.push(name);
    wake.labels.push(eventLabel(event, name));
    hand = upsertedHand(event) ?? startedHand(event) ?? hand;
    wake.hand = hand;
  }
  for (const wake of wakes as (Wake & { completed?: boolean; triggers?: string[] })[]) {
    wake.trigger = [...new Set(wake.triggers)].join('+') || 'other';
    delete wake.completed;
    delete wake.triggers;
  }
  return wakes;
}

/** Wakes of the same kind and the same events, counted: `[{ count, trigger, events }]` (events as labels). */
export function wakeShapes(wakes: Wake[]): { count: number; trigger: string; events: string[] }[] {
  const shapes = new Map<string, { count: number; trigger: string; events: string[] }>();
  for (const wake of wakes) {
    const key = `${wake.trigger}|${wake.labels.join(' ')}`;
    const shape = shapes.get(key) ?? { count: 0, trigger: wake.trigger, events: wake.labels };
    shape.count++;
    shapes.set(key, shape);
  }
  return [...shapes.values()];
}

/** Events counted by type, most frequent first. */
export function countByType(names: string[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Short names for tables: `WorkflowTaskCompleted` → `WFTCompleted`, `UpsertWorkflowSearchAttributes` → `UpsertSA`. */
export function shortName(name: string): string {
  return name
    .replace(/^WorkflowTask/, 'WFT')
    .replace(/^UpsertWorkflowSearchAttributes$/, 'UpsertSA')
    .replace(/^StartChildWorkflowExecutionInitiated$/, 'StartChildInitiated')
    .replace(/^ChildWorkflowExecution/, 'Child')
    .replace(/^SignalExternalWorkflowExecutionInitiated$/, 'SignalExternalInitiated')
    .replace(/^ExternalWorkflowExecutionSignaled$/, 'ExternalSignaled')
    .replace(/^WorkflowExecution/, '');
}
