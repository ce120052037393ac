/**
 * The overdue list as CSV (RFC 4180: a header line, comma-separated, fields quoted with `"` where
 * they hold commas, quotes or line breaks). Each data line becomes a row shaped as the JSON form's,
 * so one schema judges both; a rejected row names the CSV column.
 */
import type { FieldError } from '../errors';

/** Text that is not CSV at all (a quoted field never closed). */
export class CsvError extends Error {}

/** Splits CSV text into records of fields. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a BOM from spreadsheet exports
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') (field += '"'), i++;
      else quoted = false;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (quoted) throw new CsvError('the CSV ends inside a quoted field');
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

type Kind = 'text' | 'integer' | 'boolean';
/** Each CSV column: where its value goes in the row and what it holds. */
const COLUMNS: Record<string, { path: string; kind: Kind }> = {
  loanId: { path: 'loanId', kind: 'text' },
  borrowerName: { path: 'borrower.name', kind: 'text' },
  borrowerIdNumber: { path: 'borrower.idNumber', kind: 'text' },
  borrowerPhone: { path: 'borrower.phone', kind: 'text' },
  branch: { path: 'branch', kind: 'text' },
  product: { path: 'product', kind: 'text' },
  secured: { path: 'secured', kind: 'boolean' },
  currency: { path: 'currency', kind: 'text' },
  principal: { path: 'principal', kind: 'integer' },
  outstanding: { path: 'outstanding', kind: 'integer' },
  overdueAmount: { path: 'overdueAmount', kind: 'integer' },
  overdueSince: { path: 'overdueSince', kind: 'text' },
  arrearsFees: { path: 'arrears.fees', kind: 'integer' },
  arrearsPenaltyInterest: { path: 'arrears.penaltyInterest', kind: 'integer' },
  arrearsInterest: { path: 'arrears.interest', kind: 'integer' },
  arrearsPrincipal: { path: 'arrears.principal', kind: 'integer' },
  collateralKind: { path: 'collateral.0.kind', kind: 'text' },
  collateralDescription: { path: 'collateral.0.description', kind: 'text' },
  collateralValue: { path: 'collateral.0.value', kind: 'integer' },
  guarantorName: { path: 'guarantors.0.name', kind: 'text' },
  guarantorIdNumber: { path: 'guarantors.0.idNumber', kind: 'text' },
  guarantorPhone: { path: 'guarantors.0.phone', kind: 'text' },
  guarantorAmount: { path: 'guarantors.0.guaranteedAmount', kind: 'integer' },
  officerId: { path: 'officerId', kind: 'text' },
  policy: { path: 'policy', kind: 'text' },
};
export const CSV_COLUMNS = Object.keys(COLUMNS);
const COLUMN_OF_PATH = new Map(Object.entries(COLUMNS).map(([column, { path }]) => [path, column]));

const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, '1': true, '0': false };

/** A cell as the schema should see it; a value that is not what the column holds stays text, so
 * the schema names the column and says what it must be. */
function cellValue(raw: string, kind: Kind): unknown {
  const value = raw.trim();
  if (kind === 'integer' && /^-?\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
  if (kind === 'boolean' && value.toLowerCase() in BOOLEANS) return BOOLEANS[value.toLowerCase()];
  return value;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node: Record<string, unknown> | unknown[] = target;
  keys.forEach((key, i) => {
    const last = i === keys.length - 1;
    const slot = node as Record<string, unknown>;
    if (last) slot[key] = value;
    else node = (slot[key] ??= /^\d+$/.test(keys[i + 1]!) ? [] : {}) as Record<string, unknown>;
  });
}

export interface CsvRows {
  rows: unknown[];
  /** What is wrong with a line before its values are judged (its number of cells), by row. */
  lineErrors: FieldError[][];
  /** The CSV column of a row field (`borrower.phone` → `borrowerPhone`), for reasons. */
  column(field: string): string;
}

/** The rows of an overdue list in CSV; a header naming an unknown column refuses the whole file. */
export function csvRows(text: string): CsvRows | FieldError[] {
  let parsed: string[][];
  try {
    parsed = parseCsv(text);
  } catch (err) {
    if (err instanceof CsvError) return [{ field: 'body', reason: err.message }];
    throw err;
  }
  const [header, ...records] = parsed;
  if (!header) return [{ field: 'body', reason: 'the CSV has no header line' }];
  const columns = header.map((h) => h.trim());
  const unknown = columns.filter((c) => !(c in COLUMNS));
  const repeated = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (unknown.length > 0 || repeated.length > 0) {
    return [
      ...unknown.map((c) => ({ field: c || '(empty header)', reason: `is not a known column; the columns are ${CSV_COLUMNS.join(', ')}` })),
      ...repeated.map((c) => ({ field: c, reason: 'appears twice in the header' })),
    ];
  }
  const lineErrors = records.map((record) =>
    record.length === columns.length ? [] : [{ field: 'line', reason: `has ${record.length} cells where the header has ${columns.length}` }],
  );
  const rows = records.map((record) => {
    const row: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      const raw = record[i] ?? '';
      // An empty cell is an absent value: optional columns may be left blank.
      if (raw.trim() !== '') setPath(row, COLUMNS[column]!.path, cellValue(raw, COLUMNS[column]!.kind));
    });
    return row;
  });
  return {
    rows,
    lineErrors,
    column: (field) => {
      if (COLUMN_OF_PATH.has(field)) return COLUMN_OF_PATH.get(field)!;
      // `collateral.0` (a whole object missing a property) reads best as its columns' prefix.
      const prefix = [...COLUMN_OF_PATH.keys()].find((path) => path.startsWith(`${field}.`));
      return prefix ? COLUMN_OF_PATH.get(prefix)!.replace(/[A-Z][a-z]*$/, '') : field;
    },
  };
}
