import { and, eq, inArray } from 'drizzle-orm';
import { watchIdForLoan } from '../domain';
import type { Database } from './client';
import { watches } from './schema';

/** The loans of `loanIds` that have a risk watch still watching them (the ledger's view). */
export async function watchedLoans(db: Database, loanIds: readonly string[]): Promise<Set<string>> {
  if (loanIds.length === 0) return new Set();
  // By the watch id, the table's key, which the loan id names.
  const rows = await db
    .select({ loanId: watches.loanId })
    .from(watches)
    .where(and(inArray(watches.watchId, loanIds.map(watchIdForLoan)), eq(watches.state, 'watching')));
  return new Set(rows.map((r) => r.loanId));
}
