import { Type, type TSchema } from 'typebox';
import { described } from './common';

export const FieldErrorSchema = Type.Object({
  field: Type.String({ description: 'Dotted path of the bad field, e.g. `borrower.phone`' }),
  reason: Type.String(),
});

/** RFC 9457 problem details (`application/problem+json`). */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URI reference naming the problem type (`about:blank` for a plain HTTP status)' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: 'The request path' }),
    reason: Type.Optional(Type.String({ description: 'On 409 and 422: why the case refused the request (a rejection reason)' })),
    accepted: Type.Optional(
      Type.Unsafe<Record<string, unknown>>({
        type: 'object',
        additionalProperties: true,
        description: "On a refused message: what the case would accept (e.g. `caseDate`, `latestDueDate`, the open promise's `dueDate`)",
      }),
    ),
    errors: Type.Optional(Type.Array(FieldErrorSchema, { description: 'On 400: each bad field and why' })),
  },
  { description: 'Problem details (RFC 9457), served as application/problem+json' },
);

/** A response that carries `Retry-After` (seconds), documented as a response header. */
export function withRetryAfter<T extends TSchema>(schema: T): T {
  return {
    ...schema,
    headers: { 'retry-after': Type.Integer({ minimum: 1, description: 'Seconds to wait before retrying' }) },
  } as T;
}

/** 503: PostgreSQL or Temporal does not answer; retry after `Retry-After` seconds. */
export const UNAVAILABLE_RESPONSE = withRetryAfter(
  described(ProblemSchema, 'PostgreSQL or Temporal is unavailable or did not answer in time: retry after `Retry-After` seconds'),
);

/** The error answers a route declares; every `/v1` route may answer 400, 401, 403, 500 and 503. */
export const ERROR_RESPONSES = {
  400: described(ProblemSchema, 'Invalid input: `errors` names each bad field and why'),
  401: described(ProblemSchema, 'No bearer token, or one that is invalid or expired'),
  403: described(ProblemSchema, 'The caller\'s role, branch or assignment does not allow this'),
  500: described(ProblemSchema, 'Internal error: logged with the request, details not shown'),
  503: UNAVAILABLE_RESPONSE,
} as const;

export const CASE_ERROR_RESPONSES = { ...ERROR_RESPONSES, 404: described(ProblemSchema, 'No such case') } as const;

export const CONFLICT_RESPONSE = described(
  ProblemSchema,
  'The case\'s state forbids it (from the ledger) or the case workflow refused it; `reason` says why',
);
