/**
 * The daily overdue list taken in: opens the case of a loan new to collection, sends the new
 * arrears to an open case, leaves a repeat as it is. Rows are checked first, then taken in
 * chunks (`chunk.ts`): each Temporal call is made only once its row has passed every check, so a
 * row never half-applies; a bad row is reported with the column or field at fault and never
 * stops the others. `POST /v1/intake/overdue` and the daily schedule's activity both run this.
 */
import type { Caller } from '../auth/tokens';
import type { FieldError } from '../errors';
import { todayUtc } from '../rules';
import type { IntakeCounts, IntakeRow, IntakeRowResult } from '../schemas/intake';
import { takeChunk } from './chunk';
import { limiter } from './limiter';
import { officerPicker } from './officers';
import type { IntakeDeps } from './row';
import { checkRow } from './rows';

export type { IntakeDeps } from './row';

/** Rows a chunk takes: its reads and writes to PostgreSQL are a few statements for all of them. */
export const CHUNK_ROWS = 200;
/** Chunks in flight at once: one's PostgreSQL work runs while another's starts are with Temporal. */
const CHUNKS_AT_ONCE = 2;

export interface IntakeInput {
  /** Names the run; with the loan id it makes each row's request id, so a run retried (the
   * schedule's activity) repeats its calls instead of making new ones. */
  runId: string;
  caller: Caller;
  rows: unknown[];
  /** Problems of a CSV line found before its values (its number of cells), by row. */
  lineErrors?: FieldError[][];
  /** The name a rejection gives a field: its CSV column, or the JSON field itself. */
  column?: (field: string) => string;
  /** Called as rows finish (progress logs, an activity's heartbeat). */
  onProgress?: (done: number, total: number) => void;
  /** Rows an earlier attempt of the run answered and kept, by row number: taken as they are. */
  kept?: ReadonlyMap<number, IntakeRowResult>;
  /** Keeps answered rows: called once for the rows rejected by their checks, then once a chunk. */
  record?: (results: IntakeRowResult[]) => Promise<void>;
}

export function countOutcomes(results: readonly Pick<IntakeRowResult, 'outcome'>[]): IntakeCounts {
  const counts: IntakeCounts = { rows: results.length, created: 0, updated: 0, unchanged: 0, rejected: 0 };
  for (const r of results) counts[r.outcome]++;
  return counts;
}

export async function runIntake(deps: IntakeDeps, input: IntakeInput): Promise<IntakeRowResult[]> {
  const today = todayUtc();
  const column = input.column ?? ((field: string) => field);
  const named = (errors: FieldError[]) => errors.map((e) => ({ field: column(e.field), reason: e.reason }));
  const record = input.record ?? (async () => undefined);
  const results: IntakeRowResult[] = new Array(input.rows.length);
  const checkedOut: IntakeRowResult[] = [];
  const firstRowOf = new Map<string, number>();
  const work: { index: number; row: IntakeRow }[] = [];
  input.rows.forEach((value, index) => {
    const kept = input.kept?.get(index + 1);
    const loanId = typeof (value as { loanId?: unknown })?.loanId === 'string' ? (value as { loanId: string }).loanId : null;
    const base = { row: index + 1, loanId };
    // A line that is not a row (cells out of step with the header) is judged as such alone.
    const lineErrors = input.lineErrors?.[index] ?? [];
    const checked = lineErrors.length > 0 ? { errors: [] } : checkRow(value, today);
    if ('errors' in checked) {
      results[index] = kept ?? { ...base, caseId: null, outcome: 'rejected', errors: [...lineErrors, ...named(checked.errors)] };
      if (!kept) checkedOut.push(results[index]!);
      return;
    }
    const first = firstRowOf.get(checked.row.loanId);
    if (first !== undefined) {
      results[index] = kept ?? { ...base, caseId: null, outcome: 'rejected', errors: [{ field: column('loanId'), reason: `repeats the loan of row ${first}: one row per loan` }] };
      if (!kept) checkedOut.push(results[index]!);
      return;
    }
    firstRowOf.set(checked.row.loanId, index + 1);
    if (kept) results[index] = kept;
    else work.push({ index, row: checked.row });
  });
  let done = input.rows.length - work.length;
  input.onProgress?.(done, input.rows.length);
  if (checkedOut.length > 0) await record(checkedOut);

  const chunks = Array.from({ length: Math.ceil(work.length / CHUNK_ROWS) }, (_, i) => work.slice(i * CHUNK_ROWS, (i + 1) * CHUNK_ROWS));
  const context = { runId: input.runId, caller: input.caller, pickOfficer: officerPicker(deps.db), call: limiter(deps.concurrency) };
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    // A run that failed is retried as a whole: the other lane takes no further chunk.
    while (next < chunks.length && !failed) {
      const chunk = chunks[next++]!;
      try {
        const answers = await takeChunk(
          deps,
          context,
          chunk.map((w) => w.row),
          () => input.onProgress?.(++done, input.rows.length),
        );
        const taken = chunk.map(({ index, row }, i) => ({ row: index + 1, loanId: row.loanId, ...answers[i]!, errors: named(answers[i]!.errors) }));
        for (const [i, result] of taken.entries()) results[chunk[i]!.index] = result;
        await record(taken);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHUNKS_AT_ONCE, chunks.length) }, lane));
  return results;
}
