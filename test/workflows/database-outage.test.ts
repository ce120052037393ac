/**
 * PostgreSQL cut off and restored under a live worker: the worker process stays up, the case
 * keeps taking messages, projections retry, and the ledger converges with nothing lost or
 * counted twice. On a database of its own, so the other test files keep theirs.
 */
import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../db/migrate';
import { caseEvents, cases, payments } from '../../db/schema';
import { seedPolicies } from '../../db/seed';
import { createDatabase } from '../../db/client';
import { addNoteSignal, recordPaymentSignal } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { OFFICER, eventually, newLoan, open, testPolicy } from '../support/fixtures';

let scratch: ScratchDatabase;
let h: CaseHarness;
beforeAll(async () => {
  scratch = await createScratchDatabase();
  const setup = createDatabase(scratch.url, 1);
  try {
    await migrateDatabase(setup.db);
    await seedPolicies(setup.db);
  } finally {
    await setup.close();
  }
  h = await startCaseHarness({ databaseUrl: scratch.url });
});
afterAll(async () => {
  await h?.close();
  await scratch?.drop();
});

describe('PostgreSQL down for a while under a live worker', () => {
  it('loses no payment, doubles none, and the ledger converges once it is back', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 900_000 }), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    const pay = (reference: string, requestId = randomUUID()) => ({
      requestId,
      by: OFFICER,
      amount: 10_000,
      reference,
      paidAt: new Date().toISOString(),
      sentAt: new Date().toISOString(),
    });

    await scratch.takeDown();
    const cutAt = Date.now();
    const retried = pay('DURING-1');
    try {
      await handle.signal(recordPaymentSignal, retried);
      await handle.signal(recordPaymentSignal, retried); // a client retry: same request id
      await handle.signal(recordPaymentSignal, pay('DURING-2'));
      await handle.signal(addNoteSignal, { requestId: randomUUID(), by: OFFICER, summary: 'visited while the ledger was down' });
      // Long enough for several projection attempts (and the pool's idle clients) to fail.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
    } finally {
      await scratch.bringUp();
    }
    const converged = await eventually(async () => {
      const [row] = await h.db.select().from(cases).where(eq(cases.caseId, opened.caseId));
      return row?.recovered === 20_000 ? row : undefined;
    }, 90_000, 250);
    const convergedMs = Date.now() - cutAt;
    expect(converged).toMatchObject({ overdue: 880_000, recovered: 20_000, stage: 'collecting' });
    const paid = await h.db.select().from(payments).where(eq(payments.caseId, opened.caseId));
    expect(paid.map((p) => p.reference).sort()).toEqual(['DURING-1', 'DURING-2']);
    const trail = await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.caseId)).orderBy(asc(caseEvents.seq));
    expect(trail.map((e) => e.seq)).toEqual(trail.map((_, i) => i + 1));
    expect(trail.filter((e) => e.type === 'payment_recorded')).toHaveLength(2);
    expect(trail.map((e) => e.type)).toContain('note_added');

    // The worker process is alive and working: a new payment reaches the ledger.
    await handle.signal(recordPaymentSignal, pay('AFTER'));
    await eventually(async () => {
      const [row] = await h.db.select().from(cases).where(eq(cases.caseId, opened.caseId));
      return row?.recovered === 30_000 ? row : undefined;
    });
    console.info(`ledger converged ${convergedMs} ms after the cut (6 s of outage)`);
  });
});
