/**
 * The API's Temporal connection: every call has a deadline, no retry outlives it, and the
 * client reconnects as soon as the server is back.
 *
 * - `apiConnectionOptions(base)`: the options for `Connection.connect` / `Connection.lazy`.
 *   Interceptors: a default per-call deadline (`TEMPORAL_CALL_TIMEOUT_MS`) for calls made with
 *   none, then the SDK's retry policy made deadline- and cancel-aware (the SDK's own retry
 *   interceptor schedules a retry without looking at the deadline, so a 2 s call could answer
 *   after 3.2 s, and keeps retrying after a cancel). Channel arguments: grpc-js backs off up to
 *   120 s between reconnection attempts by default, which kept the API unready for 13 s after
 *   Temporal returned; here at most 1 s.
 * - `withTemporalDeadline(client, ms, fn)`: runs `fn` with a gRPC deadline and an abort signal,
 *   and answers by `ms` whatever `fn` awaits: `TemporalDeadlineError` (mapped to 503 with
 *   Retry-After by the central error handler) when time runs out.
 */
import {
  InterceptingCall,
  ListenerBuilder,
  RequesterBuilder,
  status as grpcStatus,
  type Interceptor,
  type NextCall,
  type StatusObject,
} from '@grpc/grpc-js';
import { defaultGrpcRetryOptions, type Client, type ConnectionOptions, type GrpcRetryOptions } from '@temporalio/client';

/** The bound of a Temporal call made without a deadline of its own. */
export const TEMPORAL_CALL_TIMEOUT_MS = 10_000;
/** How long the API waits to connect at start (`Connection.connect`). */
export const TEMPORAL_CONNECT_TIMEOUT_MS = 5_000;

/** Reconnect quickly after an outage: grpc-js defaults are 1 s initial, 120 s maximum backoff. */
export const API_TEMPORAL_CHANNEL_ARGS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  // The SDK's keepalive defaults, kept: the server refuses pings more frequent than its policy.
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 15_000,
} as const;

function deadlineMs(deadline: unknown): number {
  if (deadline instanceof Date) return deadline.getTime();
  if (typeof deadline === 'number') return deadline;
  return Number.POSITIVE_INFINITY;
}

/** Gives every call without a deadline one `ms` ahead. */
export function defaultDeadlineInterceptor(ms: number = TEMPORAL_CALL_TIMEOUT_MS): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(Number.isFinite(deadlineMs(options.deadline)) ? options : { ...options, deadline: Date.now() + ms }));
}

/**
 * The SDK's retry interceptor (`makeGrpcRetryInterceptor`), bounded: a retry that would start
 * after the call's deadline is not scheduled (the call fails with its last status at once), and
 * a cancelled call (an abort signal) stops retrying and cancels the attempt in flight.
 */
export function boundedRetryInterceptor(retry: GrpcRetryOptions = defaultGrpcRetryOptions()): Interceptor {
  return (options, nextCall) => {
    const deadline = deadlineMs(options.deadline);
    let savedSendMessage: unknown;
    let savedReceiveMessage: unknown;
    let savedMessageNext: ((message: unknown) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    let attemptCall: ReturnType<NextCall> | undefined;
    /** Set while a retry waits for its timer: a cancel then has no call to end, so it answers. */
    let answerCancelled: (() => void) | undefined;

    const requester = new RequesterBuilder()
      .withStart((metadata, _listener, next) => {
        let attempt = 1;
        const listener = new ListenerBuilder()
          .withOnReceiveMessage((message, nextMessage) => {
            savedReceiveMessage = message;
            savedMessageNext = nextMessage;
          })
          .withOnReceiveStatus((firstStatus, nextStatus) => {
            const finish = (status: StatusObject) => {
              savedMessageNext?.(savedReceiveMessage);
              nextStatus(status);
            };
            const onReceiveStatus = (status: StatusObject) => {
              if (!cancelled && status.code !== grpcStatus.OK && retry.retryableDecider(attempt, status)) {
                const delay = retry.delayFunction(attempt, status);
                if (Date.now() + delay < deadline) {
                  timer = setTimeout(() => again(status), delay);
                  answerCancelled = () => finish({ ...status, code: grpcStatus.CANCELLED, details: 'Cancelled on client' });
                  return;
                }
              }
              finish(status);
            };
            const again = (lastStatus: StatusObject) => {
              timer = undefined;
              answerCancelled = undefined;
              if (cancelled) return finish(lastStatus);
              attempt++;
              try {
                const call = nextCall(options);
                attemptCall = call;
                call.start(metadata, {
                  onReceiveMessage(message: unknown) {
                    savedReceiveMessage = message;
                  },
                  onReceiveStatus,
                });
                call.sendMessage(savedSendMessage);
                call.halfClose();
              } catch {
                // The channel was closed meanwhile: answer with the last status.
                finish(lastStatus);
              }
            };
            onReceiveStatus(firstStatus);
          })
          .build();
        next(metadata, listener);
      })
      .withSendMessage((message, next) => {
        savedSendMessage = message;
        next(message);
      })
      .withCancel((next) => {
        cancelled = true;
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
          answerCancelled?.();
          answerCancelled = undefined;
        }
        attemptCall?.cancelWithStatus(grpcStatus.CANCELLED, 'Cancelled on client');
        next();
      })
      .build();
    return new InterceptingCall(nextCall(options), requester);
  };
}

/** Tags the interceptors `apiConnectionOptions` installs, so the app can tell such a connection. */
const API_INTERCEPTOR = Symbol.for('collection-cases.api-temporal-interceptor');

function tagged(interceptor: Interceptor): Interceptor {
  return Object.assign(interceptor, { [API_INTERCEPTOR]: true });
}

/** Whether a client's connection was made with `apiConnectionOptions` (bounded calls, fast reconnect). */
export function hasApiConnectionOptions(client: Pick<Client, 'connection'>): boolean {
  const interceptors = (client.connection as { options?: { interceptors?: unknown[] } }).options?.interceptors;
  return Array.isArray(interceptors) && interceptors.some((i) => typeof i === 'function' && API_INTERCEPTOR in i);
}

/** `Connection.connect(apiConnectionOptions(temporalConnectionOptions(config)))`. */
export function apiConnectionOptions(
  base: ConnectionOptions,
  options: { callTimeoutMs?: number; connectTimeoutMs?: number } = {},
): ConnectionOptions {
  return {
    ...base,
    connectTimeout: base.connectTimeout ?? options.connectTimeoutMs ?? TEMPORAL_CONNECT_TIMEOUT_MS,
    channelArgs: { ...API_TEMPORAL_CHANNEL_ARGS, ...base.channelArgs },
    // Outermost first: the deadline is set before the retry interceptor reads it.
    interceptors: base.interceptors ?? [tagged(defaultDeadlineInterceptor(options.callTimeoutMs)), tagged(boundedRetryInterceptor())],
  };
}

/** Temporal did not answer within the time the API gives it. */
export class TemporalDeadlineError extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number, what = 'Temporal') {
    super(`${what} did not answer within ${timeoutMs} ms`);
    this.name = 'TemporalDeadlineError';
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Runs `fn` (calls through `client`) with a gRPC deadline `ms` ahead and an abort signal that
 * cancels its calls then; answers by `ms` in any case. Throws `TemporalDeadlineError` when time
 * runs out (the central error handler answers 503 with Retry-After).
 */
export async function withTemporalDeadline<T>(
  client: Pick<Client, 'withDeadline' | 'withAbortSignal'>,
  ms: number,
  fn: () => Promise<T>,
  what = 'Temporal',
): Promise<T> {
  const controller = new AbortController();
  const timeout = new TemporalDeadlineError(ms, what);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(timeout);
      controller.abort(timeout);
    }, ms);
  });
  const run = client
    .withDeadline(Date.now() + ms, () => client.withAbortSignal(controller.signal, fn))
    .catch((err: unknown) => {
      // A call cancelled by our own abort, or cut by the deadline: the same timeout.
      throw controller.signal.aborted ? timeout : err;
    });
  expired.catch(() => undefined);
  try {
    return await Promise.race([run, expired]);
  } finally {
    clearTimeout(timer);
    run.catch(() => undefined);
  }
}
