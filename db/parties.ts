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
