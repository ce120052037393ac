import { badRequest } from './errors';

/** Opaque cursors: base64url JSON of where the previous page ended. */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The longest cursor the API issues or reads (the query schema says the same). */
export const MAX_CURSOR_LENGTH = 200;
/** Positions in cursors (episodes, sequence numbers) are PostgreSQL `integer`s. */
const MAX_POSITION = 2_147_483_647;

/** Only what this API puts in cursors: flat objects of short NUL-free strings and integers. */
function plausiblePosition(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (v) =>
      (typeof v === 'string' && v.length <= MAX_CURSOR_LENGTH && !v.includes('\u0000')) ||
      (Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_POSITION),
  );
}

/**
 * Decodes a cursor this API made; a cursor that is too long, does not parse, or holds values no
 * cursor of this API holds (NUL, numbers beyond PostgreSQL's integer) is a 400 naming `cursor`.
 */
export function decodeCursor<T>(cursor: string, parse: (value: Record<string, unknown>) => T | undefined): T {
  let value: unknown;
  if (cursor.length <= MAX_CURSOR_LENGTH && /^[A-Za-z0-9_-]+$/.test(cursor)) {
    try {
      value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      value = undefined;
    }
  }
  const position = plausiblePosition(value) ? parse(value) : undefined;
  if (position === undefined) throw badRequest([{ field: 'cursor', reason: 'is not a cursor this API issued' }]);
  return position;
}

/** Splits a query's `limit + 1` rows into a page and whether another page follows. */
export function page<T>(rows: T[], limit: number): { items: T[]; more: boolean } {
  return rows.length > limit ? { items: rows.slice(0, limit), more: true } : { items: rows, more: false };
}
