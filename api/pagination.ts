import { badRequest } from './errors';

/** Opaque cursors: base64url JSON of where the previous page ended. */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** Decodes a cursor this API made; a cursor that does not parse is a 400 naming `cursor`. */
export function decodeCursor<T>(cursor: string, parse: (value: Record<string, unknown>) => T | undefined): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const position = typeof value === 'object' && value !== null ? parse(value as Record<string, unknown>) : undefined;
  if (position === undefined) throw badRequest([{ field: 'cursor', reason: 'is not a cursor this API issued' }]);
  return position;
}

/** Splits a query's `limit + 1` rows into a page and whether another page follows. */
export function page<T>(rows: T[], limit: number): { items: T[]; more: boolean } {
  return rows.length > limit ? { items: rows.slice(0, limit), more: true } : { items: rows, more: false };
}
