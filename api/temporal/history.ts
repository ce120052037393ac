/**
 * The Temporal history of a case, for supervisors: every run of the current episode (continue-as-new
 * links them), each event decoded for a person, personal data masked. The engine's proof beside
 * the business trail in `case_events`.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
// @temporalio/proto is CommonJS without static named exports: take the value from the default import.
import proto, { type temporal } from '@temporalio/proto';
import { decodeWith } from '../../temporal/codec';
import { hasPersonalData, maskPersonalData } from '../masking';
import type { HistoryEventView, HistoryRunView } from '../schemas/history';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payload = temporal.api.common.v1.IPayload;
type Payloads = temporal.api.common.v1.IPayloads;
type Failure = temporal.api.failure.v1.IFailure;
interface LongLike {
  toNumber(): number;
}
type Int64 = number | LongLike | null | undefined;
interface TimeLike {
  seconds?: Int64;
  nanos?: number | null;
}

export interface EpisodeRun {
  runId: string;
  history: History;
}

export interface CaseRun extends EpisodeRun {
  episode: number;
}

/** More runs than this in one episode means something is wrong; stop following the chain. */
export const MAX_RUNS = 200;

/**
 * The runs of the current episode, oldest first: from the latest run, back through each
 * WorkflowExecutionStarted event's `continuedExecutionRunId`, to the run the episode began with.
 */
export async function fetchEpisodeRuns(client: Client, workflowId: string): Promise<EpisodeRun[]> {
  const latest = await client.workflow.getHandle(workflowId).describe();
  const runs: EpisodeRun[] = [];
  let runId: string | undefined = latest.runId;
  while (runId && runs.length < MAX_RUNS) {
    const history = await fetchDecodedHistory(client, workflowId, runId);
    runs.push({ runId, history });
    runId = startedAttributes(history)?.continuedExecutionRunId || undefined;
  }
  return runs.reverse();
}

/**
 * Every run of the case that Temporal still holds, oldest first, each with its episode. The
 * current episode comes from the run links (always complete); earlier episodes from visibility,
 * which is eventually consistent but has long settled for a closed episode. Episodes are
 * numbered back from the ledger's current one, so runs past retention leave no gap in numbering.
 */
export async function fetchCaseRuns(client: Client, workflowId: string, currentEpisode: number): Promise<CaseRun[]> {
  const current = await fetchEpisodeRuns(client, workflowId);
  const known = new Set(current.map((run) => run.runId));
  const earlier: EpisodeRun[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    if (known.has(execution.runId) || earlier.length >= MAX_RUNS) continue;
    earlier.push({ runId: execution.runId, history: await fetchDecodedHistory(client, workflowId, execution.runId) });
  }
  earlier.sort((a, b) => startedAtMs(a.history) - startedAtMs(b.history));
  const firstRuns = [...new Set(earlier.map((run) => startedAttributes(run.history)?.firstExecutionRunId ?? run.runId))];
  return [
    ...earlier.map((run) => {
      const first = startedAttributes(run.history)?.firstExecutionRunId ?? run.runId;
      return { ...run, episode: currentEpisode - (firstRuns.length - firstRuns.indexOf(first)) };
    }),
    ...current.map((run) => ({ ...run, episode: currentEpisode })),
  ];
}

/**
 * One run's history with its payloads decrypted by the client's own codec (temporal/codec.ts),
 * so that what follows reads and masks them as JSON. A payload no configured key opens stays
 * as stored (shown as undecodable).
 */
async function fetchDecodedHistory(client: Client, workflowId: string, runId: string): Promise<History> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const codecs = client.options.loadedDataConverter.payloadCodecs;
  const payloads: Payload[] = [];
  collectPayloads(history, payloads, 0);
  await Promise.all(
    payloads.map(async (payload) => {
      const [decoded] = await decodeWith(codecs, [payload as never]).catch(() => [undefined]);
      if (!decoded) return;
      payload.metadata = decoded.metadata ?? {};
      payload.data = decoded.data ?? new Uint8Array();
    }),
  );
  return history;
}

function collectPayloads(value: unknown, into: Payload[], depth: number): void {
  if (depth > 64 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const item of value) collectPayloads(item, into, depth + 1);
    return;
  }
  if (isPayload(value)) {
    into.push(value);
    return;
  }
  for (const item of Object.values(value)) collectPayloads(item, into, depth + 1);
}

function startedAttributes(history: History) {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes ?? undefined;
}

function startedAtMs(history: History): number {
  return Date.parse(timeToIso(history.events?.[0]?.eventTime));
}

// ---- raw ------------------------------------------------------------------------------------

/** The run as the JSON history replay and the Temporal CLI accept: payloads decrypted (a replay
 * needs no key) and personal data masked. */
export function rawHistoryJson(history: History): string {
  maskPayloadsInPlace(history, 0);
  return historyToJSON(history);
}

function isPayload(value: object): value is Payload {
  const candidate = value as Payload;
  return candidate.data instanceof Uint8Array && typeof candidate.metadata === 'object' && candidate.metadata !== null;
}

/** Re-encodes every payload that holds an `idNumber` or `phone` with those values masked. */
function maskPayloadsInPlace(value: unknown, depth: number): void {
  if (depth > 64 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const item of value) maskPayloadsInPlace(item, depth + 1);
    return;
  }
  if (isPayload(value)) {
    const decoded = decodePayload(value);
    if (decoded.ok && hasPersonalData(decoded.value)) {
      const masked = defaultPayloadConverter.toPayload(maskPersonalData(decoded.value));
      value.metadata = masked.metadata ?? {};
      value.data = masked.data ?? new Uint8Array();
    }
    return;
  }
  for (const item of Object.values(value)) maskPayloadsInPlace(item, depth + 1);
}

// ---- decoded ---------------------------------------------------------------------------------

export function decodeRun(run: CaseRun): HistoryRunView {
  const activityTypes = new Map<number, string>();
  const events = (run.history.events ?? []).map((event) => decodeEvent(event, activityTypes));
  return { runId: run.runId, episode: run.episode, events };
}

/** `EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED` → `WorkflowExecutionSignaled`. */
export function eventTypeName(eventType: number | null | undefined): string {
  const name = proto.temporal.api.enums.v1.EventType[eventType ?? 0] ?? `EVENT_TYPE_${eventType}`;
  return String(name)
    .replace(/^EVENT_TYPE_/, '')
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join('');
}

function int(value: Int64): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

function timeToIso(time: TimeLike | null | undefined): string {
  if (!time) return new Date(0).toISOString();
  return new Date(int(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1_000_000)).toISOString();
}

function durationMs(duration: TimeLike | null | undefined): number | null {
  if (!duration) return null;
  return int(duration.seconds) * 1000 + Math.floor((duration.nanos ?? 0) / 1_000_000);
}

function decodePayload(payload: Payload): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: defaultPayloadConverter.fromPayload(payload as never) };
  } catch {
    return { ok: false };
  }
}

function decodeValue(payload: Payload): unknown {
  const decoded = decodePayload(payload);
  if (!decoded.ok) {
    const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString('utf8') : 'unknown';
    return { undecodable: encoding };
  }
  return maskPersonalData(decoded.value);
}

function decodePayloads(payloads: Payloads | null | undefined): unknown[] {
  return (payloads?.payloads ?? []).map(decodeValue);
}

function decodeMap(map: Record<string, Payload> | null | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([key, payload]) => [key, decodeValue(payload)]));
}

/** The sender and request id an officer's message (or the case's opening) carries. */
function messageMeta(arg: unknown): Record<string, unknown> {
  if (typeof arg !== 'object' || arg === null) return {};
  const record = arg as Record<string, unknown>;
  const source = typeof record.opening === 'object' && record.opening !== null ? (record.opening as Record<string, unknown>) : record;
  const by = source.by as { sub?: unknown; role?: unknown } | undefined;
  return {
    ...(by && typeof by === 'object' ? { by: { sub: by.sub, role: by.role } } : {}),
    ...(typeof source.requestId === 'string' ? { requestId: source.requestId } : {}),
  };
}

function failureSummary(failure: Failure | null | undefined): Record<string, unknown> | null {
  if (!failure) return null;
  const type = failure.applicationFailureInfo?.type;
  return {
    message: failure.message ?? '',
    ...(type ? { type } : {}),
    ...(failure.cause ? { cause: failureSummary(failure.cause) } : {}),
  };
}

function compact(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined && value !== null && value !== ''));
}

function decodeEvent(event: HistoryEvent, activityTypes: Map<number, string>): HistoryEventView {
  const type = eventTypeName(event.eventType);
  const eventId = int(event.eventId as Int64);
  return { eventId, time: timeToIso(event.eventTime), type, details: compact(detailsOf(event, eventId, activityTypes)) };
}

function detailsOf(event: HistoryEvent, eventId: number, activityTypes: Map<number, string>): Record<string, unknown> {
  const e = event;
  if (e.workflowExecutionStartedEventAttributes) {
    const a = e.workflowExecutionStartedEventAttributes;
    const input = decodePayloads(a.input);
    return {
      workflowType: a.workflowType?.name,
      taskQueue: a.taskQueue?.name,
      ...messageMeta(input[0]),
      continuedExecutionRunId: a.continuedExecutionRunId,
      firstExecutionRunId: a.firstExecutionRunId,
      parentWorkflowId: a.parentWorkflowExecution?.workflowId,
      attempt: a.attempt,
      input,
    };
  }
  if (e.workflowExecutionSignaledEventAttributes) {
    const a = e.workflowExecutionSignaledEventAttributes;
    const input = decodePayloads(a.input);
    return { signalName: a.signalName, ...messageMeta(input[0]), input };
  }
  if (e.workflowExecutionUpdateAdmittedEventAttributes) {
    const request = e.workflowExecutionUpdateAdmittedEventAttributes.request;
    const args = decodePayloads(request?.input?.args);
    return { updateName: request?.input?.name, updateId: request?.meta?.updateId, ...messageMeta(args[0]), args };
  }
  if (e.workflowExecutionUpdateAcceptedEventAttributes) {
    const request = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
    const args = decodePayloads(request?.input?.args);
    return { updateName: request?.input?.name, updateId: request?.meta?.updateId, ...messageMeta(args[0]), args };
  }
  if (e.workflowExecutionUpdateCompletedEventAttributes) {
    const a = e.workflowExecutionUpdateCompletedEventAttributes;
    const success = a.outcome?.success ? decodePayloads(a.outcome.success) : undefined;
    return {
      updateId: a.meta?.updateId,
      acceptedEventId: int(a.acceptedEventId as Int64),
      ...(success ? { result: success[0] ?? null } : {}),
      failure: failureSummary(a.outcome?.failure),
    };
  }
  if (e.workflowExecutionUpdateRejectedEventAttributes) {
    const a = e.workflowExecutionUpdateRejectedEventAttributes;
    return { updateName: a.rejectedRequest?.input?.name, updateId: a.rejectedRequest?.meta?.updateId, failure: failureSummary(a.failure) };
  }
  if (e.timerStartedEventAttributes) {
    const a = e.timerStartedEventAttributes;
    return { timerId: a.timerId, durationMs: durationMs(a.startToFireTimeout) };
  }
  if (e.timerFiredEventAttributes) {
    const a = e.timerFiredEventAttributes;
    return { timerId: a.timerId, startedEventId: int(a.startedEventId as Int64) };
  }
  if (e.timerCanceledEventAttributes) {
    const a = e.timerCanceledEventAttributes;
    return { timerId: a.timerId, startedEventId: int(a.startedEventId as Int64) };
  }
  if (e.activityTaskScheduledEventAttributes) {
    const a = e.activityTaskScheduledEventAttributes;
    const activityType = a.activityType?.name ?? '';
    activityTypes.set(eventId, activityType);
    return {
      activityType,
      activityId: a.activityId,
      startToCloseTimeoutMs: durationMs(a.startToCloseTimeout),
      input: decodePayloads(a.input),
    };
  }
  if (e.activityTaskStartedEventAttributes) {
    const a = e.activityTaskStartedEventAttributes;
    const scheduledEventId = int(a.scheduledEventId as Int64);
    return { activityType: activityTypes.get(scheduledEventId), scheduledEventId, attempt: a.attempt };
  }
  if (e.activityTaskCompletedEventAttributes) {
    const a = e.activityTaskCompletedEventAttributes;
    const scheduledEventId = int(a.scheduledEventId as Int64);
    const result = decodePayloads(a.result);
    return { activityType: activityTypes.get(scheduledEventId), scheduledEventId, result: result[0] ?? null };
  }
  if (e.activityTaskFailedEventAttributes) {
    const a = e.activityTaskFailedEventAttributes;
    const scheduledEventId = int(a.scheduledEventId as Int64);
    return { activityType: activityTypes.get(scheduledEventId), scheduledEventId, failure: failureSummary(a.failure), retryState: a.retryState };
  }
  if (e.activityTaskTimedOutEventAttributes) {
    const a = e.activityTaskTimedOutEventAttributes;
    const scheduledEventId = int(a.scheduledEventId as Int64);
    return { activityType: activityTypes.get(scheduledEventId), scheduledEventId, failure: failureSummary(a.failure) };
  }
  if (e.activityTaskCanceledEventAttributes) {
    const a = e.activityTaskCanceledEventAttributes;
    const scheduledEventId = int(a.scheduledEventId as Int64);
    return { activityType: activityTypes.get(scheduledEventId), scheduledEventId };
  }
  if (e.workflowTaskFailedEventAttributes) {
    const a = e.workflowTaskFailedEventAttributes;
    return { cause: a.cause, failure: failureSummary(a.failure) };
  }
  if (e.markerRecordedEventAttributes) {
    const a = e.markerRecordedEventAttributes;
    const details = decodeMap(mapOfPayloads(a.details));
    if (a.markerName === LOCAL_ACTIVITY_MARKER) {
      // A local activity (the case's projection) leaves one marker instead of three events.
      const data = (details.data ?? {}) as Record<string, unknown>;
      return {
        markerName: a.markerName,
        activityType: data.activity_type ?? data.activityType,
        activityId: data.activity_id ?? data.activityId,
        attempt: data.attempt,
        ...(a.failure ? { failure: failureSummary(a.failure) } : { result: details.result ?? null }),
      };
    }
    return { markerName: a.markerName, details };
  }
  if (e.upsertWorkflowSearchAttributesEventAttributes) {
    return { searchAttributes: decodeMap(e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields) };
  }
  if (e.workflowPropertiesModifiedEventAttributes) {
    return { memo: decodeMap(e.workflowPropertiesModifiedEventAttributes.upsertedMemo?.fields) };
  }
  if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
    const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
    return { childWorkflowId: a.workflowId, workflowType: a.workflowType?.name, input: decodePayloads(a.input) };
  }
  if (e.childWorkflowExecutionStartedEventAttributes) {
    const a = e.childWorkflowExecutionStartedEventAttributes;
    return { childWorkflowId: a.workflowExecution?.workflowId, childRunId: a.workflowExecution?.runId, workflowType: a.workflowType?.name };
  }
  if (e.childWorkflowExecutionCompletedEventAttributes) {
    const a = e.childWorkflowExecutionCompletedEventAttributes;
    return { childWorkflowId: a.workflowExecution?.workflowId, childRunId: a.workflowExecution?.runId, result: decodePayloads(a.result)[0] ?? null };
  }
  if (e.childWorkflowExecutionFailedEventAttributes) {
    const a = e.childWorkflowExecutionFailedEventAttributes;
    return { childWorkflowId: a.workflowExecution?.workflowId, childRunId: a.workflowExecution?.runId, failure: failureSummary(a.failure) };
  }
  if (e.signalExternalWorkflowExecutionInitiatedEventAttributes) {
    const a = e.signalExternalWorkflowExecutionInitiatedEventAttributes;
    return { signalName: a.signalName, targetWorkflowId: a.workflowExecution?.workflowId, input: decodePayloads(a.input) };
  }
  if (e.workflowExecutionContinuedAsNewEventAttributes) {
    const a = e.workflowExecutionContinuedAsNewEventAttributes;
    return { newExecutionRunId: a.newExecutionRunId, workflowType: a.workflowType?.name, taskQueue: a.taskQueue?.name };
  }
  if (e.workflowExecutionCompletedEventAttributes) {
    const a = e.workflowExecutionCompletedEventAttributes;
    return { result: decodePayloads(a.result)[0] ?? null, newExecutionRunId: a.newExecutionRunId };
  }
  if (e.workflowExecutionFailedEventAttributes) {
    const a = e.workflowExecutionFailedEventAttributes;
    return { failure: failureSummary(a.failure), newExecutionRunId: a.newExecutionRunId };
  }
  if (e.workflowExecutionTerminatedEventAttributes) {
    const a = e.workflowExecutionTerminatedEventAttributes;
    return { reason: a.reason, identity: a.identity };
  }
  if (e.workflowExecutionCancelRequestedEventAttributes) {
    const a = e.workflowExecutionCancelRequestedEventAttributes;
    return { cause: a.cause, identity: a.identity };
  }
  if (e.workflowExecutionTimedOutEventAttributes) {
    return { newExecutionRunId: e.workflowExecutionTimedOutEventAttributes.newExecutionRunId };
  }
  return {};
}

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** Marker details are `map<string, Payloads>`: keep each entry's first payload. */
function mapOfPayloads(map: Record<string, Payloads> | null | undefined): Record<string, Payload> {
  const out: Record<string, Payload> = {};
  for (const [key, payloads] of Object.entries(map ?? {})) {
    const first = payloads.payloads?.[0];
    if (first) out[key] = first;
  }
  return out;
}
