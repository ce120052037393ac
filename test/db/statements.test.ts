/**
 * Statements built once and run on pg (db/statements.ts) must write what drizzle's builder wrote,
 * run inside the transaction that holds their client, and never collide by name on a connection.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { storeParties } from '../../db/parties';
import { caseParties, projectionIncidents } from '../../db/schema';
import { poolOf, runStatement, statement, statementBuilder } from '../../db/statements';
import { transactionClient } from '../../db/transaction';

let database: DatabaseHandle;
beforeAll(() => {
  // One connection: every statement below meets the names prepared before it.
  database = createDatabase(inject('databaseUrl'), 1);
});
afterAll(async () => {
  await database?.close();
});

const insertIncident = statement(
  statementBuilder.insert(projectionIncidents).values({
    caseId: sql.placeholder('caseId'),
    runId: 'run-1',
    version: 1,
    branch: 'BR01',
    error: sql.placeholder('error'),
    eventTypes: sql.placeholder('eventTypes'),
    batch: sql.placeholder('batch'),
  } as never),
  'test_incident_insert',
);

describe('statements', () => {
  it('encodes a value as its column does, and a null as SQL NULL', async () => {
    const caseId = `case-${randomUUID()}`;
    await runStatement(poolOf(database.db), insertIncident, { caseId, error: 'refused', eventTypes: ['CaseOpened', 'HandEntered'], batch: '{}' });
    const [row] = await database.db.select().from(projectionIncidents).where(eq(projectionIncidents.caseId, caseId));
    // jsonb from a JS array: JSON, not PostgreSQL's array literal.
    expect(row?.eventTypes).toEqual(['CaseOpened', 'HandEntered']);
    await expect(runStatement(poolOf(database.db), insertIncident, { caseId: `${caseId}-2`, error: 'refused', eventTypes: null, batch: '{}' })).rejects.toMatchObject({
      code: '23502', // not null: a null reached PostgreSQL as NULL
    });
  });

  it('refuses a call that lacks a value', async () => {
    await expect(runStatement(poolOf(database.db), insertIncident, { caseId: 'c', error: 'e', batch: '{}' })).rejects.toThrow(/eventTypes/);
  });

  it('runs within the transaction whose client it is given, and rolls back with it', async () => {
    const caseId = `case-${randomUUID()}`;
    await expect(
      database.db.transaction(async (tx) => {
        await runStatement(transactionClient(tx), insertIncident, { caseId, error: 'e', eventTypes: [], batch: '{}' });
        const seen = await tx.select().from(projectionIncidents).where(eq(projectionIncidents.caseId, caseId));
        expect(seen).toHaveLength(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const after = await database.db.select().from(projectionIncidents).where(eq(projectionIncidents.caseId, caseId));
    expect(after).toHaveLength(0);
  });

  it('prepares two texts given one name as two statements on one connection', async () => {
    const countWhere = (column: typeof projectionIncidents.branch | typeof projectionIncidents.error) =>
      statement(statementBuilder.select({ n: sql<number>`count(*)::int` }).from(projectionIncidents).where(eq(column, 'BR01')), 'test_same_name');
    const first = countWhere(projectionIncidents.branch);
    const second = countWhere(projectionIncidents.error);
    expect(first.name).not.toBe(second.name);
    const pool = poolOf(database.db);
    await runStatement(pool, first, {});
    await expect(runStatement(pool, second, {})).resolves.toHaveLength(1);
  });

  it('replaces a case\'s parties through the prepared upsert, dropping guarantors no longer listed', async () => {
    const caseId = `case-${randomUUID()}`;
    const person = (name: string, n: number) => ({ name, idNumber: `11010119900101${String(n).padStart(4, '0')}`, phone: `+86138000${String(n).padStart(5, '0')}` });
    await storeParties(database.db, caseId, { borrower: person('Li Wei', 1), guarantors: [person('Zhang Min', 2), person('Wang Fang', 3)] });
    await storeParties(database.db, caseId, { borrower: person('Li Wei', 1), guarantors: [person('Zhao Lei', 4)] });
    const rows = await database.db.select().from(caseParties).where(eq(caseParties.caseId, caseId)).orderBy(caseParties.role, caseParties.position);
    expect(rows.map((r) => [r.role, r.position, r.name])).toEqual([
      ['borrower', 0, 'Li Wei'],
      ['guarantor', 0, 'Zhao Lei'],
    ]);
  });
});
