import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { caseEvents, cases, payments } from '../../db/schema';
import { addNoteSignal, caseStateQuery, recordContactSignal, recordPaymentSignal, type CaseView } from '../../domain';
import { SPAWNED_WORKER_PAYLOAD_ENV, startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { OFFICER, eventually, newLoan, open, testPolicy } from '../support/fixtures';

let h: CaseHarness;
beforeAll(async () => {
  h = await startCaseHarness();
});
afterAll(async () => {
  await h?.close();
});

const until = (caseId: string, check: (view: CaseView) => boolean) =>
  eventually(async () => {
    const view = await h.client.workflow.getHandle(caseId).query(caseStateQuery);
    return check(view) ? view : undefined;
  });

describe('a case outlives its worker', () => {
  it('goes on after the worker dies mid-case, with no signal lost', async () => {
    const policy = await testPolicy(h.db, { dayMs: 300, entersAtDays: [0, 4, 8, 400, 500, 600] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 90_000 }), policy);
    const handle = h.client.workflow.getHandle(opened.caseId);
    await h.stopWorker();

    // With no worker at all, the API's signals are still accepted and kept by the server.
    const sent = [];
    for (let i = 1; i <= 3; i++) {
      const msg = { requestId: randomUUID(), by: OFFICER, amount: 10_000, reference: `OFFLINE-${i}`, paidAt: new Date().toISOString() };
      sent.push(msg);
      await handle.signal(recordPaymentSignal, msg);
    }
    await handle.signal(recordContactSignal, { requestId: randomUUID(), by: OFFICER, channel: 'phone', outcome: 'answered' });
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // ten case days pass unseen

    await h.startWorker();
    const view = await until(opened.caseId, (v) => v.recovered === 30_000 && v.hand === 3);
    expect(view).toMatchObject({ stage: 'collecting', overdue: 60_000 });
    const trail = await eventually(async () => {
      const rows = await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.caseId)).orderBy(asc(caseEvents.seq));
      return rows.filter((e) => e.type === 'payment_recorded').length === 3 && rows.some((e) => e.type === 'contact_recorded')
        ? rows
        : undefined;
    });
    expect(trail.map((e) => e.seq)).toEqual(trail.map((_, i) => i + 1)); // nothing doubled, nothing missing
    const ledger = await h.db.select().from(payments).where(eq(payments.caseId, opened.caseId));
    expect(ledger.map((p) => p.reference).sort()).toEqual(sent.map((m) => m.reference));
    await saveHistory('v2-worker-restart', await handle.fetchHistory());
  });
});

/** The production worker entry point as its own process, on the harness's task queue. */
function spawnWorker(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: h.taskQueue,
      NOTIFY_CHANNELS: 'log',
      // The production entry refuses the development secrets (config.ts refuseDevelopmentSecrets).
      JWT_SECRET: 'test-worker-jwt-secret-'.padEnd(40, 'x'),
      HOUSEHOLD_KEY: 'test-worker-household-key-'.padEnd(40, 'x'),
      ...SPAWNED_WORKER_PAYLOAD_ENV,
      // Other test files' pending notifications are not this worker's to send.
      NOTIFY_SWEEP_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

describe('a case outlives a killed worker process', () => {
  it('takes up where it was when a new process starts after SIGKILL', async () => {
    await h.stopWorker();
    const policy = await testPolicy(h.db, { dayMs: 400, entersAtDays: [0, 3, 6, 400, 500, 600] });
    const first = spawnWorker();
    try {
      const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 50_000 }), policy);
      const handle = h.client.workflow.getHandle(opened.caseId);
      await handle.signal(recordPaymentSignal, {
        requestId: randomUUID(),
        by: OFFICER,
        amount: 5_000,
        reference: 'BEFORE-KILL',
        paidAt: new Date().toISOString(),
      });
      await until(opened.caseId, (v) => v.recovered === 5_000);
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));

      await handle.signal(recordPaymentSignal, {
        requestId: randomUUID(),
        by: OFFICER,
        amount: 5_000,
        reference: 'WHILE-DEAD',
        paidAt: new Date().toISOString(),
      });
      const second = spawnWorker();
      try {
        // The server first offers the case to the dead worker's sticky queue (10 s), then to
        // any worker. The ledger, not a query, tells: a query would wait on that queue too.
        const trail = await eventually(async () => {
          const rows = await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.caseId)).orderBy(asc(caseEvents.seq));
          // Entered on time or, after the outage, late: either way the hand is entered.
          const done = rows.some((e) => e.type.startsWith('hand_entered') && e.payload.hand === 3);
          return done && rows.filter((e) => e.type === 'payment_recorded').length === 2 ? rows : undefined;
        }, 60_000);
        const [row] = await h.db.select().from(cases).where(eq(cases.caseId, opened.caseId));
        expect(row).toMatchObject({ recovered: 10_000, overdue: 40_000, stage: 'collecting', hand: 3 });
        expect(trail.map((e) => e.seq)).toEqual(trail.map((_, i) => i + 1));
        expect(trail.filter((e) => e.type === 'payment_recorded').map((e) => e.payload.reference)).toEqual([
          'BEFORE-KILL',
          'WHILE-DEAD',
        ]);
      } finally {
        second.kill('SIGTERM');
        await new Promise((resolve) => second.once('exit', resolve));
      }
    } finally {
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
      await h.startWorker();
    }
  });
});

describe('continue-as-new', () => {
  it('carries the whole case into the next run', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 100_000 }), policy, {
      continueAsNewAfterEvents: 30,
    });
    const handle = h.client.workflow.getHandle(opened.caseId);
    const firstRun = (await handle.describe()).runId;
    const repeated = { requestId: randomUUID(), by: OFFICER, amount: 1_000, reference: 'CAN-1', paidAt: new Date().toISOString() };
    await handle.signal(recordPaymentSignal, repeated);
    for (let i = 0; i < 12; i++) {
      await handle.signal(addNoteSignal, { requestId: randomUUID(), by: OFFICER, summary: `visit ${i}` });
    }
    await eventually(async () => ((await handle.describe()).runId !== firstRun ? true : undefined));
    await saveHistory('v2-continue-as-new-first-run', await h.client.workflow.getHandle(opened.caseId, firstRun).fetchHistory());

    // Deduplication state crossed the run boundary: neither the request id nor the reference
    // credits again.
    await handle.signal(recordPaymentSignal, repeated);
    await handle.signal(recordPaymentSignal, { ...repeated, requestId: randomUUID() });
    await handle.signal(recordPaymentSignal, { ...repeated, requestId: randomUUID(), reference: 'CAN-2' });
    const view = await until(opened.caseId, (v) => v.recovered === 2_000);
    expect(view).toMatchObject({ hand: 1, stage: 'collecting', overdue: 98_000, caseId: opened.caseId });
    const notes = await eventually(async () => {
      const rows = await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, opened.caseId));
      const done = rows.filter((e) => e.type === 'note_added' || e.type === 'message_rejected').length === 13;
      return done && rows.filter((e) => e.type === 'payment_recorded').length === 2 ? rows : undefined;
    });
    expect(notes.find((e) => e.type === 'message_rejected')?.payload.reason).toBe('duplicate_reference');
    expect(new Set(notes.map((e) => e.runId)).size).toBeGreaterThan(1);
    await saveHistory('v2-continue-as-new-second-run', await handle.fetchHistory());
  });
});
