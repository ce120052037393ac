import { and, eq, gte, sql } from 'drizzle-orm';
import type { Party } from '../domain';
import type { Database } from './client';
import { caseParties } from './schema';
import { placeholderRows, rowValues, runStatement, statement, statementBuilder, statementsByCount } from './statements';
import { transactionClient } from './transaction';

/** What a case's workflow carries instead of its parties: where they are. */
export function partiesRef(caseId: string): string {
  return `case_parties:${caseId}`;
}

/**
 * Writes a case's borrower and guarantors, replacing what an earlier intake wrote, in one
 * transaction: a retried intake writes the same rows again (an upsert on the party's key), never a
 * second set nor half of one.
 */
export async function storeParties(db: Database, caseId: string, parties: { borrower: Party; guarantors: Party[] }): Promise<void> {
  const row = (role: 'borrower' | 'guarantor', position: number, { name, idNumber, phone }: Party) => ({ caseId, role, position, name, idNumber, phone });
  const rows = [row('borrower', 0, parties.borrower), ...parties.guarantors.map((g, position) => row('guarantor', position, g))];
  await db.transaction(async (tx) => {
    const client = transactionClient(tx);
    await runStatement(client, upsertParties(rows.length), rowValues(PARTY_KEYS, rows));
    await runStatement(client, dropGuarantorsFrom, { caseId, from: parties.guarantors.length });
  });
}

const upsertPartiesSet = { name: sql`excluded.name`, idNumber: sql`excluded.id_number`, phone: sql`excluded.phone`, recordedAt: sql`now()` };
const PARTY_KEYS = ['caseId', 'role', 'position', 'name', 'idNumber', 'phone'] as const;
/** A case's borrower and its guarantors (an opening through the API). */
const upsertParties = statementsByCount('parties_upsert', 6, (count) =>
  statementBuilder
    .insert(caseParties)
    .values(placeholderRows(PARTY_KEYS, count) as never)
    .onConflictDoUpdate({ target: [caseParties.caseId, caseParties.role, caseParties.position], set: upsertPartiesSet }),
);
/** Guarantors an earlier intake listed beyond this one's. */
const dropGuarantorsFrom = statement(
  statementBuilder
    .delete(caseParties)
    .where(and(eq(caseParties.caseId, sql.placeholder('caseId')), eq(caseParties.role, 'guarantor'), gte(caseParties.position, sql.placeholder('from')))),
  'parties_drop_guarantors',
);

/**
 * `storeParties` for many cases in two statements: the daily intake writes a chunk's new loans at
 * once. Each case id at most once (the intake takes one row per loan). Two lists of the same loans
 * taken in at once write the same rows: both lock them in key order, so one waits for the other
 * instead of each holding what the other needs (a deadlock, which PostgreSQL ends by failing one).
 */
export async function storeCasesParties(db: Database, entries: readonly { caseId: string; parties: { borrower: Party; guarantors: Party[] } }[]): Promise<void> {
  if (entries.length === 0) return;
  const ordered = [...entries].sort((a, b) => (a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : 0));
  // Within a case: the borrower, then the guarantors by position, as the key ('borrower' < 'guarantor').
  const rows = ordered.flatMap(({ caseId, parties }) => [
    { caseId, role: 'borrower' as const, position: 0, ...personOf(parties.borrower) },
    ...parties.guarantors.map((g, position) => ({ caseId, role: 'guarantor' as const, position, ...personOf(g) })),
  ]);
  await db.transaction(async (tx) => {
    await tx
      .insert(caseParties)
      .values(rows)
      .onConflictDoUpdate({ target: [caseParties.caseId, caseParties.role, caseParties.position], set: upsertPartiesSet });
    const kept = sql.join(
      ordered.map(({ caseId, parties }) => sql`(${caseId}::text, ${parties.guarantors.length}::int)`),
      sql`, `,
    );
    // Guarantors an earlier intake listed beyond this one's, locked in key order before they go.
    await tx.execute(sql`
      delete from ${caseParties} p
       using (select s.case_id, s.position
                from ${caseParties} s
                join (values ${kept}) as k(case_id, guarantors) on s.case_id = k.case_id
               where s.role = 'guarantor' and s.position >= k.guarantors
               order by s.case_id, s.position
                 for update of s) as stale
       where p.case_id = stale.case_id and p.role = 'guarantor' and p.position = stale.position`);
  });
}

/** Only the person: a guarantor's row of the list also carries what they guaranteed. */
const personOf = ({ name, idNumber, phone }: Party) => ({ name, idNumber, phone });
