/**
 * Failure drill (issue 10): a Temporal dev server of this file's own, on a SQLite file, is
 * stopped mid-run and started again on the same file and port, while officers keep sending
 * payments to a dozen cases through the real API (this process) and a case worker runs in a
 * process of its own. Neither the API nor the worker is restarted.
 *
 * Meanwhile every payment answers 503 with Retry-After within its bound (the client retries it
 * with the same Idempotency-Key), ledger reads answer 200 and /readyz 503. After: /readyz is
 * ready again, every payment was applied exactly once, and the cases' timers went on: each case
 * reaches the last hand, the hands that fell due meanwhile entered late.
 *
 * test/api/temporal-outage.test.ts is the single-case version with a SIGKILLed server and an
 * in-process worker; this one stops the server as an operator would (SIGTERM, via the same
 * tools/temporal-dev-server.ts `npm start` uses) under a stream of messages.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { asc, inArray } from 'drizzle-orm';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents, cases, payments } from '../../db/schema';
import { caseStateQuery } from '../../domain';
import { findFreePort } from '../../tools/ports';
import { startTemporalDevServer, type RunningDevServer } from '../../tools/temporal-dev-server';
import { newLoan, testPolicy } from '../support/fixtures';
import { saveHistory } from '../support/histories';
import { CORE_BANKING, OFFICER_LI, startDrill, type Caller, type Drill } from '../support/drill';

const CASES = 12;
const OVERDUE = 900_000;
/** A case day of 1 s, a hand every 4 days: hands 2–6 fall due 4–20 s after opening. */
const DAY_MS = 1_000;
const ENTERS_AT_DAYS = [0, 4, 8, 12, 16, 20];
/** Long enough for several hands of every case to fall due while Temporal is down. */
const OUTAGE_MS = 15_000;
/** A message waits 5 s for the case (MESSAGE_TIMEOUT_MS); the drill gives it some slack. */
const MESSAGE_BOUND_MS = 8_000;

let dir: string;
let port: number;
let uiPort: number;
let server: RunningDevServer | undefined;
const serverLog: string[] = [];
let drill: Drill;

const startServer = async () => {
  server = await startTemporalDevServer({
    port,
    uiPort,
    dbFilename: path.join(dir, 'temporal.db'),
    onLog: (line) => {
      serverLog.push(line);
      if (serverLog.length > 30) serverLog.shift();
    },
  });
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'temporal-restart-'));
  [port, uiPort] = [await findFreePort(), await findFreePort()];
  await startServer();
  drill = await startDrill({ temporalAddress: server!.address });
  await drill.startWorker();
}, 180_000);

afterAll(async () => {
  await drill?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

interface Sent {
  caseId: string;
  key: string;
  reference: string;
  amount: number;
  answers: { status: number; ms: number; retryAfter?: string; at: number }[];
}

describe('the Temporal server stopped and started again on its database file mid-run', { timeout: 300_000 }, () => {
  it('answers 503 meanwhile, recovers without a restart, and the cases and their timers go on', async () => {
    const policy = await testPolicy(drill.database.db, { dayMs: DAY_MS, entersAtDays: ENTERS_AT_DAYS });
    const loans = Array.from({ length: CASES }, () => ({ ...newLoan({ overdue: OVERDUE, guarantors: [] }), policy: policy.name }));
    const caseIds = loans.map((l) => `case-${l.loanId}`);
    for (const loan of loans) {
      const res = await drill.as(CORE_BANKING, { method: 'POST', url: '/v1/cases', payload: loan, headers: { 'idempotency-key': `intake-${loan.loanId}` } });
      expect(res.statusCode, res.body).toBe(201);
    }
    const openedAt = Date.now();
    const workerPid = drill.worker()!.pid;

    // Officers send payments all along, each retried with its key until it is answered.
    const sent: Sent[] = [];
    let sending = true;
    const pay = async (n: number) => {
      const caseId = caseIds[n % CASES]!;
      const payment: Sent = { caseId, key: `pay-${randomUUID()}`, reference: `RUN-${n}`, amount: 1_000 + n, answers: [] };
      sent.push(payment);
      const request: InjectOptions = {
        method: 'POST',
        url: `/v1/cases/${caseId}/payments`,
        payload: { amount: payment.amount, reference: payment.reference, paidAt: new Date().toISOString() },
        headers: { 'idempotency-key': payment.key },
      };
      const deadline = Date.now() + 120_000;
      for (;;) {
        const started = Date.now();
        const res: LightMyRequestResponse = await drill.as(OFFICER_LI, request);
        const retryAfter = res.headers['retry-after'] as string | undefined;
        payment.answers.push({ status: res.statusCode, ms: Date.now() - started, at: started, ...(retryAfter ? { retryAfter } : {}) });
        if (res.statusCode !== 503 || Date.now() > deadline) return;
        await sleep(1_000);
      }
    };
    const officers = Array.from({ length: 3 }, async (_, officer) => {
      const running: Promise<void>[] = [];
      for (let n = officer; sending; n += 3) {
        running.push(pay(n));
        await sleep(700);
      }
      await Promise.all(running);
    });

    // ---- Mid-run: the server stops (SIGTERM), stays down, and starts again on its file and port.
    await sleep(Math.max(0, openedAt + 5_000 - Date.now()));
    await server!.stop();
    const stoppedAt = Date.now();
    const readsDown: { status: number; ms: number }[] = [];
    const readyDown: { status: number; ms: number; retryAfter?: unknown }[] = [];
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      const started = Date.now();
      const read = await drill.as(OFFICER_LI, { url: `/v1/cases/${caseIds[readsDown.length % CASES]}` });
      readsDown.push({ status: read.statusCode, ms: Date.now() - started });
      const readyStarted = Date.now();
      const ready = await drill.app.inject({ url: '/readyz' });
      readyDown.push({ status: ready.statusCode, ms: Date.now() - readyStarted, retryAfter: ready.headers['retry-after'] });
      await sleep(1_500);
    }
    await startServer();
    const servingAt = Date.now();
    let readyAgainMs: number | undefined;
    while (readyAgainMs === undefined && Date.now() - servingAt < 30_000) {
      if ((await drill.app.inject({ url: '/readyz' })).statusCode === 200) readyAgainMs = Date.now() - servingAt;
      else await sleep(200);
    }
    // A few more seconds of traffic on the restarted server, then the officers stop.
    await sleep(5_000);
    sending = false;
    await Promise.all(officers);

    // ---- Meanwhile: reads from the ledger went on; readiness and messages said "retry later".
    expect(readsDown.length).toBeGreaterThan(3);
    for (const read of readsDown) expect(read.status).toBe(200);
    for (const ready of readyDown) {
      expect(ready.status).toBe(503);
      expect(ready.retryAfter).toBeDefined();
    }
    expect(readyAgainMs, 'ready again after the restart').toBeDefined();
    const duringOutage = sent.flatMap((p) => p.answers.filter((a) => a.at >= stoppedAt && a.at + a.ms <= servingAt));
    expect(duringOutage.length).toBeGreaterThan(3);
    for (const answer of duringOutage) {
      expect(answer.status).toBe(503);
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.ms).toBeLessThan(MESSAGE_BOUND_MS);
    }
    for (const payment of sent) expect(payment.answers.at(-1)?.status, `${payment.reference}: ${JSON.stringify(payment.answers)}`).toBe(200);

    // ---- After: every case at the last hand, its payments once each, its trail whole.
    const db = drill.database.db;
    const recovered = (caseId: string) => sent.filter((p) => p.caseId === caseId).reduce((sum, p) => sum + p.amount, 0);
    const deadline = Date.now() + 60_000;
    let rows: (typeof cases.$inferSelect)[] = [];
    do {
      rows = await db.select().from(cases).where(inArray(cases.caseId, caseIds));
      if (rows.length === CASES && rows.every((r) => r.hand === 6 && r.recovered === recovered(r.caseId))) break;
      await sleep(250);
    } while (Date.now() < deadline);
    for (const row of rows) {
      // Where the ledger lags, what the workflow itself holds says which side lost the change.
      const workflow = row.hand === 6 && row.recovered === recovered(row.caseId) ? undefined : await drill.client.workflow.getHandle(row.caseId).query(caseStateQuery);
      const says = workflow ? `; the workflow holds hand ${workflow.hand}, recovered ${workflow.recovered}; the ledger row is at version ${row.version}` : '';
      expect(row, `${row.caseId}${says}`).toMatchObject({ hand: 6, stage: 'collecting', recovered: recovered(row.caseId) });
    }
    const paid = await db.select().from(payments).where(inArray(payments.caseId, caseIds));
    expect(paid.map((p) => `${p.caseId}/${p.reference}`).sort()).toEqual(sent.map((p) => `${p.caseId}/${p.reference}`).sort());
    const events = await db.select().from(caseEvents).where(inArray(caseEvents.caseId, caseIds)).orderBy(asc(caseEvents.seq));
    let late = 0;
    for (const caseId of caseIds) {
      const trail = events.filter((e) => e.caseId === caseId);
      expect(trail.map((e) => e.seq), caseId).toEqual(trail.map((_, i) => i + 1));
      const recordedKeys = trail.filter((e) => e.type === 'payment_recorded').map((e) => e.requestId).sort();
      expect(recordedKeys, caseId).toEqual(sent.filter((p) => p.caseId === caseId).map((p) => p.key).sort());
      const hands = trail.filter((e) => e.type === 'hand_entered' || e.type === 'hand_entered_late');
      expect(hands.map((e) => e.payload.hand), caseId).toEqual([1, 2, 3, 4, 5, 6]);
      late += hands.filter((e) => e.type === 'hand_entered_late').length;
    }
    // Hands fell due while the server was down: they were entered late, once it was back.
    expect(late).toBeGreaterThan(0);
    // A case across the restart, projected by activities (PROJECTION_AFTER_TASK_PATCH), for the replay suite.
    await saveHistory('v7-projection-after-task-restart', await drill.client.workflow.getHandle(caseIds[0]!).fetchHistory());
    expect(drill.worker()!.pid).toBe(workerPid);
    expect(drill.worker()!.isRunning()).toBe(true);

    const outageAnswers = duringOutage.map((a) => a.ms);
    console.info(
      `[temporal-restart] down ${((servingAt - stoppedAt) / 1000).toFixed(1)} s; ${sent.length} payments, ${duringOutage.length} answers 503 meanwhile in ` +
        `${Math.min(...outageAnswers)}–${Math.max(...outageAnswers)} ms; ready ${readyAgainMs} ms after the server served again; ${late} hands entered late`,
    );
  });
});
