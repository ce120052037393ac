import pino, { type LoggerOptions } from 'pino';

/** Personal data never reaches the logs: borrowers' and guarantors' ID numbers and phones,
 * wherever they sit in a logged object or request. */
const PERSONAL_KEYS = ['idNumber', 'phone'];
// pino's redaction matches fixed depths: cover the shapes loan facts take in logs, from a bare
// party to a request body's guarantors.
const PREFIXES = ['', '*.', '*.*.', '*.*.*.', '*.guarantors[*].', '*.*.guarantors[*].', '*.*.*.guarantors[*].'];

/** A name is personal data where it names a person: a borrower, a guarantor, a recipient, or a
 * bare party logged as the line's object (this service's log lines carry no `name` of their own). */
const PERSON_NAME_PATHS = [
  'name',
  ...['', '*.', '*.*.', '*.*.*.'].flatMap((prefix) =>
    ['borrower.name', 'guarantors[*].name', 'recipient.name', 'parties.borrower.name', 'parties.guarantors[*].name'].map((path) => `${prefix}${path}`),
  ),
];

export const REDACT_PATHS = [
  ...PREFIXES.flatMap((prefix) => PERSONAL_KEYS.map((key) => `${prefix}${key}`)),
  ...PERSON_NAME_PATHS,
  'guarantors[*].idNumber',
  'guarantors[*].phone',
  'req.headers.authorization',
];

/**
 * Fields errors carry that must never be logged: a query's SQL and parameters (drizzle's
 * `DrizzleQueryError` has `query` and `params`; others say `parameters`, `values`), a row's
 * values in PostgreSQL's `detail`/`where`, the whole pg client pg-pool puts on a lost idle
 * connection's error, and SDK payload blobs.
 */
const DROPPED_ERROR_KEYS: ReadonlySet<string> = new Set([
  'query',
  'params',
  'parameters',
  'values',
  'detail',
  'where',
  'internalQuery',
  'internalPosition',
  'client',
  'connection',
  'socket',
  'request',
  'response',
  'config',
  'details',
  'failure',
  'raw',
]);

const MAX_ERROR_DEPTH = 6;

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  cause?: SerializedError | unknown;
  aggregateErrors?: unknown[];
  [key: string]: unknown;
}

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string' && 'stack' in value);
}

/** `Failed query: <sql>\nparams: <values>` → the SQL only, cut short; data errors' quoted values masked. */
export function sanitizeErrorMessage(message: string, err?: unknown): string {
  let result = message;
  const params = result.search(/\n\s*params:/);
  if (params >= 0) result = result.slice(0, params);
  if (result.startsWith('Failed query: ') && result.length > 200) result = `${result.slice(0, 200)}…`;
  const code = (err as { code?: unknown } | undefined)?.code;
  // PostgreSQL quotes the offending value in data errors: `… type bigint: "+8613800138000"`.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) result = result.replace(/: "(?:[^"\\]|\\.)*"/g, ': "…"');
  return result;
}

/**
 * pino's serializer for `err` and `error`: type, message, code, stack, the cause chain and
 * aggregated errors, and the error's other plain fields, but never a query's SQL or parameters,
 * a row's values, or a pg client (see DROPPED_ERROR_KEYS). Cycles end the chain.
 */
export function serializeError(err: unknown, depth = 0, seen: Set<unknown> = new Set()): unknown {
  if (!isErrorLike(err)) return sanitizeObject(err, depth, seen);
  if (seen.has(err) || depth > MAX_ERROR_DEPTH) return { type: 'Error', message: '[cause chain truncated]' };
  seen.add(err);
  const original = String(err.message);
  let message = sanitizeErrorMessage(original, err);
  // drizzle's wrapper says only which query failed: say why on the same line.
  const cause = (err as { cause?: unknown }).cause;
  if (message.startsWith('Failed query: ') && isErrorLike(cause)) {
    message = `${message.length > 160 ? `${message.slice(0, 160)}…` : message} — ${sanitizeErrorMessage(String(cause.message), cause)}`;
  }
  const ctor = (err as { constructor?: { name?: unknown } }).constructor;
  const out: SerializedError = {
    type: typeof ctor?.name === 'string' && ctor.name !== 'Object' ? ctor.name : String(err.name ?? 'Error'),
    message,
  };
  if (typeof err.stack === 'string') {
    // The stack starts with the message: cut it the same way.
    out.stack = message === original ? err.stack : err.stack.replace(original, sanitizeErrorMessage(original, err));
  }
  for (const key of Object.keys(err)) {
    if (key in out || key === 'cause' || key === 'errors' || DROPPED_ERROR_KEYS.has(key)) continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    if (value === undefined || typeof value === 'function') continue;
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else if (isErrorLike(value)) out[key] = serializeError(value, depth + 1, seen);
  }
  const { errors } = err as { errors?: unknown };
  if (cause !== undefined) out.cause = serializeError(cause, depth + 1, seen);
  if (Array.isArray(errors)) out.aggregateErrors = errors.slice(0, 10).map((e) => serializeError(e, depth + 1, seen));
  return out;
}

/** A non-error under an error key (a thrown string, a status object): plain fields only. */
function sanitizeObject(value: unknown, depth: number, seen: Set<unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth > MAX_ERROR_DEPTH) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.slice(0, 20).map((item) => serializeError(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (DROPPED_ERROR_KEYS.has(key) || typeof child === 'function') continue;
    out[key] = typeof child === 'object' && child !== null ? serializeError(child, depth + 1, seen) : child;
  }
  return out;
}

const errorSerializer = (err: unknown) => serializeError(err);

/**
 * Log metadata from elsewhere (the Temporal SDK's own log entries): errors under any top-level
 * key serialized as above, query and parameter fields dropped.
 */
export function sanitizeLogMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (DROPPED_META_KEYS.has(key)) continue;
    out[key] = isErrorLike(value) ? serializeError(value) : value;
  }
  return out;
}

const DROPPED_META_KEYS: ReadonlySet<string> = new Set(['query', 'params', 'parameters', 'values', 'client']);

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: errorSerializer, error: errorSerializer, cause: errorSerializer, failure: errorSerializer },
    hooks: {
      // `logger.error(err)` makes the error's message the line's `msg`: drizzle's holds the
      // query's parameters. Such a message, and any message carrying `params:`, is cut first.
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        if (isErrorLike(first) && typeof rest[0] !== 'string') {
          return method.apply(this, [{ err: first }, sanitizeErrorMessage(String(first.message), first), ...rest] as never);
        }
        const at = args.findIndex((arg) => typeof arg === 'string');
        if (at >= 0 && /\n\s*params:/.test(args[at] as string)) {
          const copy = [...args];
          copy[at] = sanitizeErrorMessage(args[at] as string);
          return method.apply(this, copy as never);
        }
        return method.apply(this, args);
      },
    },
  };
}

type Stringifier = (value: unknown, ...rest: unknown[]) => string | undefined;

/**
 * pino runs each top-level value of a line (its message too) and each child logger's bindings
 * (Fastify's request id, on every request) through the redaction of the paths that start with
 * `*`: a walk of every such path, though none can match inside a string, a number or a boolean.
 * Those are written as JSON at once, as that walk ends by writing them; objects are still
 * walked. Measured at about 2% of the API's CPU on a read of one case (bench:reads).
 */
function writeScalarsUnwalked<L extends pino.Logger>(logger: L): L {
  const stringifiers = (logger as unknown as Record<symbol, Record<symbol, Stringifier | undefined>>)[pino.symbols.stringifiersSym];
  const walk = stringifiers?.[pino.symbols.wildcardFirstSym];
  if (stringifiers && walk) {
    // Children share their parent's stringifiers (unless given a `redact` of their own).
    stringifiers[pino.symbols.wildcardFirstSym] = (value, ...rest) =>
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? JSON.stringify(value) : walk(value, ...rest);
  }
  return logger;
}

export function createLogger(level = process.env.LOG_LEVEL ?? 'info') {
  return writeScalarsUnwalked(pino(loggerOptions(level)));
}

export type Logger = pino.Logger;
