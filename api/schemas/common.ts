import { Type, type TSchema, type TString, type TStringOptions, type TUnsafe } from 'typebox';
import { BRANCH_PATTERN, SUBJECT_PATTERN } from '../auth/tokens';
import { NO_NUL_PATTERN, ROLES } from '../../domain';

/**
 * Every free-text string a request carries: PostgreSQL refuses NUL (U+0000) in text and jsonb,
 * so the pattern refuses it here, at the edge (a 400 naming the field), and the OpenAPI document
 * says so. Give a `maxLength`; a string with a pattern of its own uses `Type.String` and a
 * pattern that leaves out NUL.
 */
export function Text(options: TStringOptions & { maxLength: number }): TString {
  return Type.String({ ...options, pattern: NO_NUL_PATTERN });
}

/** A string enum that serializes fast and reads well in OpenAPI: `{ type: 'string', enum }`. */
export function StringEnum<const Values extends readonly string[]>(
  values: Values,
  options: Record<string, unknown> = {},
): TUnsafe<Values[number]> {
  return Type.Unsafe<Values[number]>({ ...options, type: 'string', enum: [...values] });
}

/** `T | null`, written as `anyOf` so that OpenAPI 3.1 and ajv read it alike. */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}) {
  return Type.Union([schema, Type.Null()], options);
}

/** Any JSON object (decoded payloads, event payloads). */
export const JsonObjectSchema = Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true });

export const LOAN_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const CASE_ID_PATTERN = '^case-[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$';

export const LoanIdSchema = Type.String({ pattern: LOAN_ID_PATTERN, description: 'The bank\'s loan number', examples: ['LOAN123'] });
export const CaseIdSchema = Type.String({
  pattern: CASE_ID_PATTERN,
  description: 'A case id: `case-` and the loan id',
  examples: ['case-LOAN123'],
});
export const BranchSchema = Type.String({ pattern: BRANCH_PATTERN, description: 'Branch code', examples: ['BR01'] });
export const SubjectSchema = Type.String({ pattern: SUBJECT_PATTERN, description: 'A person\'s or system\'s id' });
export const RoleSchema = StringEnum(ROLES);
export const ActorSchema = Type.Object({ sub: Type.String(), role: RoleSchema }, { description: 'Who sent a message' });

/** Amounts are integers in the currency's minor unit (fen, cents). */
export const MinorUnitsSchema = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'Amount in minor units of the case currency',
});
export const PositiveMinorUnitsSchema = Type.Integer({
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'Amount (more than zero) in minor units of the case currency',
});

export const DateSchema = Type.String({ format: 'date', description: 'A calendar date, YYYY-MM-DD (UTC)', examples: ['2025-01-31'] });
export const DateTimeSchema = Type.String({ format: 'date-time', description: 'An ISO 8601 date-time with offset' });

export const ShortTextSchema = Text({ minLength: 1, maxLength: 200 });
export const LongTextSchema = Text({ minLength: 1, maxLength: 4000 });

export const CaseParamsSchema = Type.Object({ caseId: CaseIdSchema });

/** A client's `Idempotency-Key`: used as the request id, so a retried call has no second effect. */
export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description: 'Optional request id chosen by the client (8–128 characters); a retry with the same key has no second effect',
    }),
  ),
});

export const CURSOR_PATTERN = '^[A-Za-z0-9_-]+$';
export const CursorSchema = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: CURSOR_PATTERN,
  description: 'Opaque cursor from `nextCursor` of the previous page',
});

/** Days past due in filters: 0 up to a century, far inside PostgreSQL's integer range. */
export const MAX_DAYS_PAST_DUE = 36_500;
export const DaysPastDueFilterSchema = Type.Integer({ minimum: 0, maximum: MAX_DAYS_PAST_DUE });
export const LimitSchema = Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Page size, 1–200' });

/** The security requirement every `/v1` route declares. */
export const BEARER_SECURITY = [{ bearerAuth: [] as string[] }];

/** Marks a body schema whose route also takes no body at all (see `OptionalBody`). */
export const OPTIONAL_BODY_KEYWORD = 'x-optional-body';

/**
 * A request body the route accepts absent as well as present (the route's preValidation turns a
 * missing body into `{}`): the OpenAPI document then says `requestBody.required: false`
 * (plugins/external/swagger.ts). Use it only together with such a route.
 */
export function OptionalBody<T extends TSchema>(schema: T): T {
  return { ...schema, [OPTIONAL_BODY_KEYWORD]: true } as T;
}

/** The same schema with a description (OpenAPI shows it as the response's description). */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description } as T;
}
