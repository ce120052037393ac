/**
 * Dependency faults as the API answers them (the central error handler in app.ts uses
 * `problemForFault`; routes may too):
 *
 * - PostgreSQL unreachable, dropping connections, out of connections, a statement timed out, or
 *   a transaction rolled back for contention (`isUnavailableError`, db/errors.ts) → 503 with
 *   `Retry-After`.
 * - Temporal unreachable or past its deadline (gRPC UNAVAILABLE / DEADLINE_EXCEEDED anywhere in
 *   the cause chain, `TemporalDeadlineError` from `withTemporalDeadline`) → 503 with `Retry-After`.
 * - PostgreSQL refusing a request's value (SQLSTATE class 22: numeric overflow, bad input
 *   syntax, datetime overflow) → 400 naming the query or path parameter where it can tell.
 *
 * Anything else is not a fault of a dependency: the handler masks it as a 500.
 */
import { isGrpcServiceError } from '@temporalio/client';
import { errorChain, isInvalidInputError, isUnavailableError, sqlState } from '../db/errors';
import { badRequest, serviceUnavailable, type FieldError, type HttpProblem } from './errors';
import { TemporalDeadlineError } from './plugins/app/temporal';

/** gRPC status codes: DEADLINE_EXCEEDED (4) and UNAVAILABLE (14). */
const TEMPORAL_UNAVAILABLE_CODES: ReadonlySet<number> = new Set([4, 14]);

/** True when Temporal could not be reached or did not answer in time (not when it refused). */
export function isTemporalUnavailableError(err: unknown): boolean {
  return errorChain(err).some(
    (link) => link instanceof TemporalDeadlineError || (isGrpcServiceError(link) && TEMPORAL_UNAVAILABLE_CODES.has(link.code)),
  );
}

/** PostgreSQL's integer range (`integer`): query parameters beyond it overflow a comparison. */
const INT4_MAX = 2_147_483_647;

function outOfRangeFields(inputs: Record<string, unknown>[]): string[] {
  const fields: string[] = [];
  for (const input of inputs) {
    for (const [name, value] of Object.entries(input)) {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : undefined;
      if (n !== undefined && Math.abs(n) > INT4_MAX) fields.push(name);
    }
  }
  return fields;
}

/** What the request carried that a data error may be about. */
export interface FaultContext {
  query?: unknown;
  params?: unknown;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** The problem a dependency fault answers with, or undefined when `err` is none. */
export function problemForFault(err: unknown, context: FaultContext = {}): HttpProblem | undefined {
  if (isUnavailableError(err)) {
    return serviceUnavailable('The database is unavailable or did not answer in time; try again shortly');
  }
  if (isTemporalUnavailableError(err)) {
    return serviceUnavailable('The workflow service is unavailable or did not answer in time; try again shortly');
  }
  if (isInvalidInputError(err)) {
    const code = sqlState(err);
    const outOfRange = code === '22003' || code === '22008';
    const named = outOfRangeFields([asRecord(context.query), asRecord(context.params)]);
    const reason = outOfRange ? 'is out of range' : 'is not a value this field accepts';
    const errors: FieldError[] = named.length > 0 ? named.map((field) => ({ field, reason })) : [{ field: 'request', reason }];
    return badRequest(errors);
  }
  return undefined;
}
