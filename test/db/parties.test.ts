/**
 * The intake writes a chunk's parties in one transaction; two lists of the same loans taken in at
 * once write the same rows, in their own orders. Each must finish: neither may deadlock the other.
 */
import { inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { storeCasesParties } from '../../db/parties';
import { caseParties } from '../../db/schema';
import { newLoan } from '../support/fixtures';

let database: DatabaseHandle;
beforeAll(() => {
  database = createDatabase(inject('databaseUrl'), 8);
});
afterAll(async () => {
  await database?.close();
});

const entriesOf = (loans: ReturnType<typeof newLoan>[]) => loans.map((loan) => ({ caseId: `case-${loan.loanId}`, parties: loan }));

describe('storeCasesParties', () => {
  it('writes the same cases from concurrent transactions in opposite orders without a deadlock', async () => {
    for (let round = 0; round < 10; round++) {
      const loans = Array.from({ length: 40 }, () => newLoan());
      const entries = entriesOf(loans);
      const reversed = [...entries].reverse();
      await Promise.all([entries, reversed, entries, reversed].map((e) => storeCasesParties(database.db, e)));
      const rows = await database.db.select().from(caseParties).where(inArray(caseParties.caseId, entries.map((e) => e.caseId)));
      // A borrower and one guarantor per case, written once each.
      expect(rows).toHaveLength(loans.length * 2);
    }
  });

  it('leaves a case only the guarantors its latest list names', async () => {
    const loan = newLoan();
    const [entry] = entriesOf([loan]);
    const second = { name: 'Wang Fang', idNumber: '110101198805052222', phone: '+8613700137000' };
    await storeCasesParties(database.db, [{ ...entry!, parties: { ...loan, guarantors: [...loan.guarantors, second] } }]);
    await storeCasesParties(database.db, [entry!]);
    const rows = await database.db.select().from(caseParties).where(inArray(caseParties.caseId, [entry!.caseId]));
    expect(rows.map((r) => [r.role, r.position, r.name]).sort()).toEqual([
      ['borrower', 0, loan.borrower.name],
      ['guarantor', 0, loan.guarantors[0]!.name],
    ]);
  });
});
