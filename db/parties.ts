import { and, eq, gte, sql } from 'drizzle-orm';
import type { Party } from '../domain';
import type { Database } from './client';
import { caseParties } from './schema';

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
  await db.transaction(async (tx) => {
    await tx
      .insert(caseParties)
      .values([row('borrower', 0, parties.borrower), ...parties.guarantors.map((g, position) => row('guarantor', position, g))])
      .onConflictDoUpdate({
        target: [caseParties.caseId, caseParties.role, caseParties.position],
        set: { name: sql`excluded.name`, idNumber: sql`excluded.id_number`, phone: sql`excluded.phone`, recordedAt: sql`now()` },
      });
    // Guarantors an earlier intake listed beyond this one's.
    await tx
      .delete(caseParties)
      .where(and(eq(caseParties.caseId, caseId), eq(caseParties.role, 'guarantor'), gte(caseParties.position, parties.guarantors.length)));
  });
}

/**
 * `storeParties` for many cases in two statements: the daily intake writes a chunk's new loans at
 * once. Each case id at most once (the intake takes one row per loan).
 */
export async function storeCasesParties(db: Database, entries: readonly { caseId: string; parties: { borrower: Party; guarantors: Party[] } }[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.flatMap(({ caseId, parties }) => [
    { caseId, role: 'borrower' as const, position: 0, ...personOf(parties.borrower) },
    ...parties.guarantors.map((g, position) => ({ caseId, role: 'guarantor' as const, position, ...personOf(g) })),
  ]);
  await db.transaction(async (tx) => {
    await tx
      .insert(caseParties)
      .values(rows)
      .onConflictDoUpdate({
        target: [caseParties.caseId, caseParties.role, caseParties.position],
        set: { name: sql`excluded.name`, idNumber: sql`excluded.id_number`, phone: sql`excluded.phone`, recordedAt: sql`now()` },
      });
    const kept = sql.join(
      entries.map(({ caseId, parties }) => sql`(${caseId}::text, ${parties.guarantors.length}::int)`),
      sql`, `,
    );
    await tx.execute(sql`
      delete from ${caseParties} p
       using (values ${kept}) as k(case_id, guarantors)
       where p.case_id = k.case_id and p.role = 'guarantor' and p.position >= k.guarantors`);
  });
}

/** Only the person: a guarantor's row of the list also carries what they guaranteed. */
const personOf = ({ name, idNumber, phone }: Party) => ({ name, idNumber, phone });
