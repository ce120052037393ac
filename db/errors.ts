/**
 * What a PostgreSQL failure means for the caller, whatever wraps it (drizzle's
 * `DrizzleQueryError`, pg-pool's timeouts, Node's socket errors):
 *
 * - **connection**: the database cannot be reached or dropped us (network errors, class 08,
 *   57P01–57P03 shutdown, class 53 insufficient resources, a database not accepting
 *   connections, pool and client timeouts). Retry later; the API answers 503 with Retry-After.
 * - **timeout**: the statement ran out of time (`statement_timeout`, 57014; `query_timeout`).
 *   Retry later, likewise 503.
 * - **contention**: PostgreSQL rolled the transaction back for another's sake (class 40: a
 *   deadlock, a serialization failure) or found a lock taken (55P03). The same work succeeds on
 *   a retry: activities retry it, the API answers 503 with Retry-After.
 * - **data**: the row itself is refused (class 22 data exception, class 23 integrity constraint,
 *   class 54 program limit such as a value too large to index). Retrying never helps: the
 *   projection marks these non-retryable, the API answers 400.
 * - **other**: anything else (a bug, a permission, a missing table): retried by activities,
 *   a masked 500 in the API.
 *
 * No Fastify, no Temporal: the API and the activities both use it.
 */

export type DatabaseFaultKind = 'connection' | 'timeout' | 'contention' | 'data' | 'other';

/** Socket-level errors of the TCP connection to the server. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Messages of pg and pg-pool for a connection that is gone or never came. */
const CONNECTION_MESSAGES: readonly RegExp[] = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect/, // pg-pool: no client within connectionTimeoutMillis
  /^timeout expired/, // pg: connectionTimeoutMillis on the client
  /is not queryable/, // a client whose connection broke or closed
  /^Cannot use a pool after calling end on the pool/,
  /^Connection refused/,
  /^read ECONNRESET/,
];

const TIMEOUT_MESSAGES: readonly RegExp[] = [/^Query read timeout/];

/** SQLSTATE codes: shutdown in progress / crash / cannot connect now. */
const SHUTDOWN_CODES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The error and each of its causes (and an AggregateError's errors), outermost first. */
export function errorChain(err: unknown, limit = 10): unknown[] {
  const chain: unknown[] = [];
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length > 0 && chain.length < limit) {
    const current = queue.shift();
    if (current === undefined || current === null || seen.has(current)) continue;
    seen.add(current);
    chain.push(current);
    if (typeof current === 'object') {
      const { cause, errors } = current as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...errors);
    }
  }
  return chain;
}

function field(err: unknown, name: 'code' | 'message'): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const value = (err as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** The PostgreSQL SQLSTATE carried anywhere in the chain (`22003`, `08006`, …). */
export function sqlState(err: unknown): string | undefined {
  for (const link of errorChain(err)) {
    const code = field(link, 'code');
    if (code !== undefined && SQLSTATE.test(code) && !NETWORK_CODES.has(code)) return code;
  }
  return undefined;
}

function classifyOne(err: unknown): DatabaseFaultKind | undefined {
  const code = field(err, 'code');
  if (code !== undefined) {
    if (NETWORK_CODES.has(code)) return 'connection';
    if (SQLSTATE.test(code)) {
      const cls = code.slice(0, 2);
      if (cls === '08' || cls === '53' || SHUTDOWN_CODES.has(code)) return 'connection';
      // `ALTER DATABASE … ALLOW_CONNECTIONS false` (maintenance): down for now, like a shutdown.
      if (code === '55000' && /not currently accepting connections/.test(field(err, 'message') ?? '')) return 'connection';
      if (code === '57014') return 'timeout';
      if (cls === '40' || code === '55P03') return 'contention';
      if (cls === '22' || cls === '23' || cls === '54') return 'data';
      return 'other';
    }
  }
  const message = field(err, 'message');
  if (message !== undefined) {
    if (CONNECTION_MESSAGES.some((re) => re.test(message))) return 'connection';
    if (TIMEOUT_MESSAGES.some((re) => re.test(message))) return 'timeout';
  }
  return undefined;
}

/** What kind of database fault `err` is (see the module's comment). */
export function classifyDatabaseError(err: unknown): DatabaseFaultKind {
  for (const link of errorChain(err)) {
    const kind = classifyOne(link);
    if (kind !== undefined) return kind;
  }
  return 'other';
}

/** The database cannot be reached, refused the connection or dropped it: retry later (503). */
export function isConnectionError(err: unknown): boolean {
  return classifyDatabaseError(err) === 'connection';
}

/** A statement or query that ran out of time: retry later (503). */
export function isTimeoutError(err: unknown): boolean {
  return classifyDatabaseError(err) === 'timeout';
}

/** The database cannot do the work now but will on a retry (a connection fault, a timeout,
 * contention): 503 with Retry-After. */
export function isUnavailableError(err: unknown): boolean {
  const kind = classifyDatabaseError(err);
  return kind === 'connection' || kind === 'timeout' || kind === 'contention';
}

/**
 * The data itself is refused (SQLSTATE classes 22 and 23, and 54 program limits): the same
 * write fails on every retry. Non-retryable for activities; 400 in the API.
 */
export function isDataError(err: unknown): boolean {
  return classifyDatabaseError(err) === 'data';
}

/** Numeric overflow, bad text representation, datetime overflow: class 22, where a bad query
 * parameter (rather than a stored row) is the usual culprit. */
export function isInvalidInputError(err: unknown): boolean {
  return sqlState(err)?.startsWith('22') ?? false;
}

/** A short, loggable description: no parameters, no row values (pg's `detail` may hold them). */
export function describeDatabaseError(err: unknown): { kind: DatabaseFaultKind; code?: string; message: string } {
  const kind = classifyDatabaseError(err);
  const chain = errorChain(err);
  const innermost = [...chain].reverse().find((link) => field(link, 'message') !== undefined);
  const code = sqlState(err) ?? chain.map((link) => field(link, 'code')).find((c) => c !== undefined);
  const message = maskQuotedValues(field(innermost, 'message') ?? String(err));
  return { kind, ...(code !== undefined ? { code } : {}), message };
}

/** `invalid input syntax for type bigint: "+8613800138000"` → `… bigint: "…"`: values in
 * PostgreSQL's data-error messages may be personal data. */
export function maskQuotedValues(message: string): string {
  return message.replace(/: "(?:[^"\\]|\\.)*"/g, ': "…"');
}
