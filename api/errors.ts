import { STATUS_CODES } from 'node:http';
import type { ErrorObject } from 'ajv';
import { NO_NUL_PATTERN, type RejectionReason } from '../domain';

/** One bad field of a request: `borrower.phone`, `guarantors.0.idNumber`, `limit`. */
export interface FieldError {
  field: string;
  reason: string;
}

/** An RFC 9457 problem detail, the body of every error this API answers. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  /** Why the case's state refused the request (a `REJECTION_REASONS` value), on 409s. */
  reason?: string;
  /** On a refused message: what the case would accept (its date, the latest promise date…). */
  accepted?: Record<string, unknown>;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem types beyond a bare HTTP status ("about:blank"), relative to the API's base URI. */
export const PROBLEM_TYPES = {
  validation: '/problems/validation',
  caseState: '/problems/case-state',
  rejected: '/problems/message-rejected',
  notReady: '/problems/not-ready',
  timeout: '/problems/workflow-timeout',
  unavailable: '/problems/unavailable',
} as const;

/** An error that the central handler answers as the given problem; 4xx details are shown. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly reason: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly accepted: Record<string, unknown> | undefined;
  /** Response headers the answer carries (`Retry-After` on 503s). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    detail: string,
    extra: {
      type?: string;
      title?: string;
      reason?: string;
      accepted?: Record<string, unknown>;
      errors?: FieldError[];
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.type = extra.type ?? 'about:blank';
    this.title = extra.title ?? STATUS_CODES[status] ?? 'Error';
    this.reason = extra.reason;
    this.errors = extra.errors;
    this.accepted = extra.accepted;
    this.headers = extra.headers ?? {};
  }

  toProblem(instance: string): Problem {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
      instance,
      ...(this.reason !== undefined ? { reason: this.reason } : {}),
      ...(this.accepted !== undefined ? { accepted: this.accepted } : {}),
      ...(this.errors !== undefined ? { errors: this.errors } : {}),
    };
  }
}

export const badRequest = (errors: FieldError[], detail?: string): HttpProblem =>
  new HttpProblem(400, detail ?? errors.map((e) => `${e.field}: ${e.reason}`).join('; '), {
    type: PROBLEM_TYPES.validation,
    title: 'Invalid request',
    errors,
  });

/** How long a client should wait before retrying while a dependency is down (seconds). */
export const RETRY_AFTER_SECONDS = 5;

/** 503 with `Retry-After`: PostgreSQL or Temporal does not answer (or no worker does); the
 * detail says which and that a retry will do. */
export const serviceUnavailable = (detail: string, retryAfterSeconds: number = RETRY_AFTER_SECONDS): HttpProblem =>
  new HttpProblem(503, detail, {
    type: PROBLEM_TYPES.unavailable,
    title: 'Service Unavailable',
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });

export const unauthorized = (detail: string): HttpProblem => new HttpProblem(401, detail);
export const forbidden = (detail: string): HttpProblem => new HttpProblem(403, detail);
export const notFound = (detail: string): HttpProblem => new HttpProblem(404, detail);

/** The case's state forbids the request (the ledger's view, or the workflow's own refusal). */
export const caseConflict = (reason: RejectionReason | string, detail: string, rejected = false): HttpProblem =>
  new HttpProblem(409, detail, {
    type: rejected ? PROBLEM_TYPES.rejected : PROBLEM_TYPES.caseState,
    title: rejected ? 'Rejected by the case workflow' : 'Not allowed in the case\'s state',
    reason,
  });

/** `/borrower/phone` → `borrower.phone`; the array index stays a segment: `guarantors.0.name`. */
export function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** What a person should write instead, for the formats requests use. */
const FORMAT_HINTS: Record<string, string> = {
  date: 'must be a calendar date written YYYY-MM-DD, e.g. 2026-11-30',
  'date-time': 'must be an RFC 3339 date-time with its zone, e.g. 2026-11-30T09:30:00+08:00 or 2026-11-30T01:30:00Z',
};

const MONEY_FIELD = /(^|\.)(amount|principal|outstanding|overdue|value)$/;
const MINOR_UNITS_HINT = 'must be a whole number of minor units of the currency: 12.50 CNY is 1250';

function joinField(base: string, name: string): string {
  return base ? `${base}.${name}` : name;
}

/** Maps ajv's errors to fields and reasons a person can act on; `root` names the whole input. */
export function fieldErrorsFromAjv(errors: readonly Partial<ErrorObject>[], root = 'body'): FieldError[] {
  const seen = new Set<string>();
  const result: FieldError[] = [];
  for (const error of errors) {
    const base = pointerToField(error.instancePath ?? '');
    const params = (error.params ?? {}) as Record<string, unknown>;
    let field = base;
    let reason = error.message ?? 'is invalid';
    switch (error.keyword) {
      case 'required':
        field = joinField(base, String(params.missingProperty));
        reason = 'is required';
        break;
      case 'additionalProperties':
        field = joinField(base, String(params.additionalProperty));
        reason = 'is not a known property';
        break;
      case 'enum':
        reason = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'pattern':
        reason =
          params.pattern === NO_NUL_PATTERN
            ? 'must not contain the NUL character (\\u0000)'
            : `must match the pattern ${String(params.pattern)}`;
        break;
      case 'format':
        reason = FORMAT_HINTS[String(params.format)] ?? `must be a valid ${String(params.format)}`;
        break;
      case 'type':
        if (params.type === 'integer' && MONEY_FIELD.test(field)) reason = MINOR_UNITS_HINT;
        break;
      default:
        break;
    }
    const entry = { field: field || root, reason };
    const key = `${entry.field}\u0000${entry.reason}`;
    if (!seen.has(key)) {
      seen.add(key);
      result.push(entry);
    }
  }
  return result;
}
