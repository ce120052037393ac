/**
 * Failure drill (issue 6 §6, "Temporal stopped and restarted"): a Temporal dev server of this
 * file's own, persisted in a SQLite file, is killed under a live API and case worker and started
 * again on the same port and file. Neither the API nor the worker is restarted.
 *
 * While Temporal is down: a payment answers 503 with Retry-After within its bound, intake 503/504
 * within its bound, /readyz 503 within its timeout, and a ledger read (PostgreSQL) still 200.
 * Once it is back: /readyz is ready within seconds, the payment retried with the same
 * Idempotency-Key is applied exactly once, a new payment answers 200, and the case's timers went
 * on (the hands that fell due during the outage are entered late).
 *
 * Not the run's shared dev server (other files use it): this one dies on purpose. The outage's
 * answers are soft assertions, each request bounded as a client would bound it: a call that never
 * answers is reported with its time, and the drill still checks the recovery. Each step prints its
 * time (`[temporal-outage] +…s`), and the file prints all measured times at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../api/app';
import { signToken, type TokenClaims } from '../../api/auth/tokens';
import { apiConnectionOptions } from '../../api/plugins/app/temporal';
import { READINESS_TIMEOUT_MS } from '../../api/routes/health';
import { loadConfig, type Config } from '../../config';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { caseEvents, cases, payments } from '../../db/schema';
import type { CollectionPolicy } from '../../domain';
import { createLogger } from '../../logger';
import { devServerSearchAttributeArgs } from '../../temporal/search-attributes';
import { findFreePort, isPortInUse } from '../../tools/ports';
import { ensureTemporalCli } from '../../tools/temporal-cli';
import { createCaseWorker, type CaseWorkers } from '../../worker';
import { eventually, newLoan, testPolicy } from '../support/fixtures';
import { testDataConverter, workflowBundle } from '../support/harness';
import { expectProblem } from './helper';

// Bounds the drill asserts (the API's own: messages 5 s, intake 10 s, readiness 2 s).
const PAYMENT_BOUND_MS = 8_000;
const INTAKE_BOUND_MS = 12_000;
const READYZ_BOUND_MS = READINESS_TIMEOUT_MS + 500;
const READY_AGAIN_BOUND_MS = 5_000;
/** Long enough for every hand of the ladder below to fall due while Temporal is down. */
const MIN_OUTAGE_MS = 12_000;
/** A case day of 500 ms, a hand every 4 days: hand 6 falls due 9.5–10 s after opening. */
const DAY_MS = 500;
const ENTERS_AT_DAYS = [0, 4, 8, 12, 16, 20];

type Who = [TokenClaims['role'], string, string?];
const CORE: Who = ['system', 'core-banking'];
const OFFICER_LI: Who = ['officer', 'officer-li', 'BR01']; // the fixtures' loans are assigned to officer-li

const timings: Record<string, number | string> = {};
const fileStarted = Date.now();
/** Progress with the time since the file started: where a hang happened shows in the report. */
const step = (what: string) => console.log(`[temporal-outage] +${((Date.now() - fileStarted) / 1000).toFixed(1)}s ${what}`);

interface Bounded {
  what: string;
  /** Undefined when no answer came within the bound (the client gave up). */
  res?: LightMyRequestResponse;
  ms: number;
}

/** A request as a client with a timeout makes it: the answer and its time, or none by `ms`. */
async function bounded(what: string, ms: number, request: () => Promise<LightMyRequestResponse>): Promise<Bounded> {
  const started = Date.now();
  const pending = request();
  pending.catch(() => undefined);
  const res = await within(pending, ms);
  const result = { what, ms: Date.now() - started, ...(res ? { res } : {}) };
  step(`${what}: ${describeBounded(result)}`);
  return result;
}

const describeBounded = (b: Bounded): string =>
  b.res ? `${b.res.statusCode} in ${b.ms} ms` : `no answer within ${b.ms} ms`;

/** Resolves with `promise`, or with undefined after `ms` (cleanup never waits for ever). */
const within = <T>(promise: Promise<T>, ms: number): Promise<T | undefined> =>
  Promise.race([promise, sleep(ms).then(() => undefined)]);

// ---------------------------------------------------------------------------------------------
// The drill's own dev server: `temporal server start-dev` on a fixed port and SQLite file.

interface DevServerProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
  tail: string[];
}

let cli: string;
let tempDir: string;
let dbFilename: string;
let port: number;
let address: string;
let server: DevServerProcess | undefined;

function spawnDevServer(): DevServerProcess {
  const args = [
    ...['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless'],
    ...['--db-filename', dbFilename, '--sqlite-pragma', 'journal_mode=wal', '--log-level', 'warn'],
    ...devServerSearchAttributeArgs(),
  ];
  const child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
  });
  child.once('error', (err) => tail.push(`spawn error: ${err.message}`));
  const exited = once(child, 'exit');
  return { child, exited, tail };
}

const isRunning = (p: DevServerProcess | undefined): boolean =>
  p !== undefined && p.child.exitCode === null && p.child.signalCode === null;

/** Until the frontend answers and the default namespace is there (a fresh connection each try). */
async function waitUntilServing(p: DevServerProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning(p)) throw new Error(`temporal server start-dev exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.tail.join('\n')}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`dev server at ${address} not serving after ${timeoutMs} ms: ${(err as Error).message}\n${p.tail.join('\n')}`);
    }
    await sleep(100);
  }
}

/** Kills the server by its own pid and waits until it has exited. */
async function killDevServer(p: DevServerProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!p || !isRunning(p)) return;
  p.child.kill(signal);
  const exited = await within(p.exited, 10_000);
  if (exited === undefined && isRunning(p)) {
    p.child.kill('SIGKILL');
    await within(p.exited, 5_000);
  }
}

/** Last resort when the fork exits without afterAll: never leave a server behind. */
const killOnExit = () => {
  if (server && isRunning(server)) server.child.kill('SIGKILL');
};

// ---------------------------------------------------------------------------------------------
// A real case worker and the real API, both on that server, neither restarted during the drill.

let workerConnection: NativeConnection | undefined;
let workerDatabase: DatabaseHandle | undefined;
let worker: CaseWorkers | undefined;
let workerRun: Promise<void> | undefined;
let workerError: unknown;
let apiConnection: Connection | undefined;
let apiDatabase: DatabaseHandle | undefined;
let app: FastifyInstance | undefined;
let config: Config;
let policy: CollectionPolicy;

const auth = ([role, sub, branch]: Who) => `Bearer ${signToken(config.JWT_SECRET, { role, sub, ...(branch ? { branch } : {}) })}`;
const as = (who: Who, options: InjectOptions): Promise<LightMyRequestResponse> =>
  app!.inject({ ...options, headers: { ...options.headers, authorization: auth(who) } });
const readyz = () => app!.inject({ url: '/readyz' });
const intake = (loan: object, key: string) =>
  as(CORE, { method: 'POST', url: '/v1/cases', payload: loan, headers: { 'idempotency-key': key } });
const pay = (caseId: string, key: string, payment: { amount: number; paidAt: string; reference: string }) =>
  as(OFFICER_LI, { method: 'POST', url: `/v1/cases/${caseId}/payments`, payload: payment, headers: { 'idempotency-key': key } });
const readCase = (caseId: string) => as(OFFICER_LI, { url: `/v1/cases/${caseId}` });

beforeAll(async () => {
  const found = ensureTemporalCli();
  if (!found) throw new Error('the drill needs the Temporal CLI (TEMPORAL_CLI_PATH, `temporal` on PATH, or .tools/bin)');
  cli = found;
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'temporal-outage-'));
  dbFilename = path.join(tempDir, 'temporal.db');
  port = await findFreePort();
  address = `127.0.0.1:${port}`;
  process.once('exit', killOnExit);

  const started = Date.now();
  const bundling = workflowBundle();
  bundling.catch(() => undefined);
  server = spawnDevServer();
  await waitUntilServing(server, 30_000);
  timings.firstStartMs = Date.now() - started;

  const databaseUrl = inject('databaseUrl');
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  workerDatabase = createDatabase(databaseUrl, 4);
  workerConnection = await NativeConnection.connect({ address });
  const taskQueue = `outage-${randomUUID()}`;
  worker = await createCaseWorker({
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    db: workerDatabase.db,
    logger,
    sweepIntervalMs: 0, // test files share the database: no sweeping other files' outbox rows
    workflowBundle: await bundling,
    shutdownGraceTime: 0,
    dataConverter: testDataConverter(),
  });
  workerRun = worker.run().catch((err: unknown) => {
    workerError = err ?? new Error('the worker failed');
  });

  config = {
    ...loadConfig({ DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: address, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    TEMPORAL_TASK_QUEUE: taskQueue,
  };
  apiDatabase = createDatabase(databaseUrl, 2);
  apiConnection = await Connection.connect(apiConnectionOptions({ address }));
  const client = new Client({ connection: apiConnection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: testDataConverter() });
  app = await buildApp({ config, db: apiDatabase.db, temporal: client, logger: createLogger(config.LOG_LEVEL) });
  policy = await testPolicy(apiDatabase.db, { dayMs: DAY_MS, entersAtDays: ENTERS_AT_DAYS });
  timings.setupMs = Date.now() - started;
}, 40_000);

afterAll(async () => {
  // Each step bounded and independent: a failure mid-drill (server down) must not hang cleanup.
  const steps: [string, () => Promise<unknown>][] = [
    ['worker', async () => {
      worker?.shutdown();
      if (workerRun && (await within(workerRun.then(() => true), 10_000)) === undefined) console.warn('[temporal-outage] worker did not stop within 10 s');
    }],
    ['api', async () => app?.close()],
    ['api connection', async () => apiConnection?.close()],
    ['worker connection', async () => workerConnection?.close()],
    ['databases', async () => Promise.all([apiDatabase?.close(), workerDatabase?.close()])],
    ['server', async () => killDevServer(server, 'SIGTERM')],
    ['temp dir', async () => tempDir && rm(tempDir, { recursive: true, force: true })],
  ];
  for (const [what, run] of steps) {
    await within(run(), 12_000).catch((err: unknown) => console.warn(`[temporal-outage] cleanup of ${what} failed:`, err));
  }
  process.off('exit', killOnExit);
  console.log(`[temporal-outage] timings ${JSON.stringify(timings)}`);
}, 45_000);

describe('Temporal stopped and restarted under a live API and worker', () => {
  it('answers within its bounds while Temporal is down and recovers without a restart, nothing lost or doubled', async () => {
    // ---- Before: a case on a compressed calendar, and a payment.
    const loan = { ...newLoan({ overdue: 900_000 }), policy: policy.name };
    const caseId = `case-${loan.loanId}`;
    const openedFrom = Date.now();
    const opened = await intake(loan, `intake-${randomUUID()}`);
    expect(opened.statusCode, opened.body).toBe(201);
    expect(opened.json().case).toMatchObject({ caseId, hand: 1, policy: { name: policy.name } });

    const before = await pay(caseId, `pay-${randomUUID()}`, { amount: 10_000, paidAt: new Date().toISOString(), reference: 'BEFORE' });
    expect(before.statusCode, before.body).toBe(200);
    expect(before.json()).toMatchObject({ caseId, recovered: 10_000 });
    expect((await readyz()).statusCode).toBe(200);
    const handBefore = (await readCase(caseId)).json().hand as number;

    // ---- Temporal goes down: killed by its own pid, waited for.
    const killedAt = Date.now();
    // The ladder's last hands must fall due during the outage, not before it.
    expect(killedAt - openedFrom).toBeLessThan(8_000);
    step(`killing Temporal (pid ${server!.child.pid}); the case is at hand ${handBefore}`);
    const dying = server!;
    dying.child.kill('SIGKILL');
    await dying.exited;
    expect(await isPortInUse('127.0.0.1', port)).toBe(false);

    // A payment the client sends during the outage and, on a 503 or its own timeout, sends again
    // with the same key; an intake; readiness; a ledger read. Each is given its bound
    // as a client would (a call that never answers is reported as such, and the drill goes on:
    // soft assertions, so that one report shows everything the outage broke).
    const retriedKey = `pay-${randomUUID()}`;
    const retriedPayment = { amount: 20_000, paidAt: new Date().toISOString(), reference: 'DURING-OUTAGE' };
    const secondLoan = { ...newLoan(), policy: policy.name };
    const secondKey = `intake-${randomUUID()}`;
    const [paymentAttempts, intakeDown, readyDown, readDown] = await Promise.all([
      (async () => {
        const attempts: Bounded[] = [];
        for (let i = 1; i <= 2; i++) attempts.push(await bounded(`payment attempt ${i} during the outage`, PAYMENT_BOUND_MS, () => pay(caseId, retriedKey, retriedPayment)));
        return attempts;
      })(),
      bounded('intake during the outage', INTAKE_BOUND_MS, () => intake(secondLoan, secondKey)),
      bounded('/readyz during the outage', READYZ_BOUND_MS, readyz),
      bounded('case read during the outage', 3_000, () => readCase(caseId)),
    ]);
    timings.paymentDown = paymentAttempts.map(describeBounded).join(' / ');
    timings.intakeDown = describeBounded(intakeDown);
    timings.readyzDown = describeBounded(readyDown);
    timings.readDown = describeBounded(readDown);

    for (const attempt of paymentAttempts) {
      expect.soft(attempt.res?.statusCode, `${attempt.what}: ${describeBounded(attempt)}`).toBe(503);
      if (attempt.res?.statusCode === 503) {
        const body = expectProblem(attempt.res, 503);
        expect.soft(Number(attempt.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect.soft(body.detail).toContain(retriedKey);
      }
    }
    expect.soft([503, 504], `${intakeDown.what}: ${describeBounded(intakeDown)}`).toContain(intakeDown.res?.statusCode);
    if (intakeDown.res) {
      expectProblem(intakeDown.res, intakeDown.res.statusCode);
      if (intakeDown.res.statusCode === 503) expect.soft(Number(intakeDown.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect.soft(readyDown.res?.statusCode, `${readyDown.what}: ${describeBounded(readyDown)}`).toBe(503);
    if (readyDown.res?.statusCode === 503) {
      expect.soft(readyDown.res.json().checks).toMatchObject({ postgres: { status: 'up' }, temporal: { status: 'down' } });
      expect.soft(readyDown.res.headers['retry-after']).toBeDefined();
    }
    expect.soft(readDown.res?.statusCode, `${readDown.what}: ${describeBounded(readDown)}`).toBe(200);
    if (readDown.res?.statusCode === 200) expect.soft(readDown.res.json()).toMatchObject({ caseId, recovered: 10_000 });

    // Down long enough for the rest of the ladder to fall due meanwhile.
    const downFor = Date.now() - killedAt;
    if (downFor < MIN_OUTAGE_MS) await sleep(MIN_OUTAGE_MS - downFor);

    // ---- Temporal is back: same port, same SQLite file. The API and the worker stay as they are.
    step('restarting Temporal');
    const restartedAt = Date.now();
    server = spawnDevServer();
    await waitUntilServing(server, 30_000);
    const servingAt = Date.now();
    step(`Temporal serving again (pid ${server.child.pid})`);
    timings.outageMs = servingAt - killedAt;
    timings.restartToServingMs = servingAt - restartedAt;

    await eventually(async () => ((await bounded('/readyz', READYZ_BOUND_MS, readyz)).res?.statusCode === 200 ? true : undefined), 15_000, 100);
    timings.readyAgainAfterServingMs = Date.now() - servingAt;
    step(`ready again ${timings.readyAgainAfterServingMs} ms after Temporal served`);
    expect(Date.now() - servingAt).toBeLessThan(READY_AGAIN_BOUND_MS);

    // The client retries its payment with the same key until the case answers (Retry-After).
    const afterRestart: Bounded[] = [];
    const applied = await eventually(async () => {
      const attempt = await bounded('payment retried after the restart', PAYMENT_BOUND_MS, () => pay(caseId, retriedKey, retriedPayment));
      afterRestart.push(attempt);
      return attempt.res?.statusCode === 200 ? attempt.res : undefined;
    }, 25_000, 250);
    timings.retriedPaymentAfterRestart = afterRestart.map(describeBounded).join(' / ');
    for (const attempt of afterRestart.slice(0, -1)) expect.soft(attempt.res?.statusCode, `${attempt.what}: ${describeBounded(attempt)}`).toBe(503);
    timings.retriedPaymentAnsweredAfterServingMs = Date.now() - servingAt;
    expect(applied.json()).toMatchObject({ caseId, recovered: 30_000 });

    // A new payment answers 200 at once; the retried one, sent again, is not applied twice.
    const after = await pay(caseId, `pay-${randomUUID()}`, { amount: 5_000, paidAt: new Date().toISOString(), reference: 'AFTER' });
    expect(after.statusCode, after.body).toBe(200);
    expect(after.json()).toMatchObject({ caseId, recovered: 35_000 });
    const again = await pay(caseId, retriedKey, retriedPayment);
    expect(again.statusCode, again.body).toBe(200);

    // The intake refused during the outage, retried with its key, opens its case once; the same
    // request again answers as the first did, with no second effect.
    const secondCaseId = `case-${secondLoan.loanId}`;
    const reopened = await intake(secondLoan, secondKey);
    expect([200, 201], reopened.body).toContain(reopened.statusCode);
    const repeated = await intake(secondLoan, secondKey);
    expect(repeated.statusCode, repeated.body).toBe(reopened.statusCode);
    expect(repeated.json()).toMatchObject({ created: reopened.json().created, case: { caseId: secondCaseId } });

    // ---- The ledger: each payment once, and the hands that fell due meanwhile entered late.
    const db = apiDatabase!.db;
    const secondTrail = await db.select().from(caseEvents).where(eq(caseEvents.caseId, secondCaseId));
    expect(secondTrail.filter((e) => e.type === 'case_opened')).toHaveLength(1);
    const row = await eventually(async () => {
      const [r] = await db.select().from(cases).where(eq(cases.caseId, caseId));
      return r && r.hand === 6 ? r : undefined;
    }, 15_000, 200);
    expect(row).toMatchObject({ recovered: 35_000, overdue: 900_000 - 35_000, stage: 'collecting' });
    const paid = await db.select().from(payments).where(eq(payments.caseId, caseId));
    expect(paid.map((p) => [p.reference, p.amount]).sort()).toEqual([['AFTER', 5_000], ['BEFORE', 10_000], ['DURING-OUTAGE', 20_000]]);

    const trail = await db.select().from(caseEvents).where(eq(caseEvents.caseId, caseId)).orderBy(asc(caseEvents.seq));
    expect(trail.map((e) => e.seq)).toEqual(trail.map((_, i) => i + 1));
    expect(trail.filter((e) => e.type === 'payment_recorded' && e.requestId === retriedKey)).toHaveLength(1);
    expect(trail.filter((e) => e.type === 'payment_recorded')).toHaveLength(3);
    const hands = trail.filter((e) => e.type === 'hand_entered' || e.type === 'hand_entered_late');
    expect(hands.map((e) => e.payload.hand)).toEqual([1, 2, 3, 4, 5, 6]); // each hand once, in order
    expect(row.hand).toBeGreaterThan(handBefore);
    // Every hand that fell due while Temporal was down was entered late, after it came back.
    const late = hands.filter((e) => e.type === 'hand_entered_late');
    const dueDuringOutage = hands.filter((e) => Date.parse((e.payload.dueAt as string | undefined) ?? e.occurredAt.toISOString()) >= killedAt);
    expect(late.length).toBeGreaterThan(0);
    expect(late.map((e) => e.payload.hand)).toContain(6);
    for (const e of dueDuringOutage) {
      expect(e.type).toBe('hand_entered_late');
      expect(e.occurredAt.getTime()).toBeGreaterThanOrEqual(restartedAt);
      expect(e.payload.delayMs as number).toBeGreaterThan(1_000);
    }
    // The retried payment applied after the case caught up with time: at the hand its time dictates.
    const lateEntryOfSix = late.find((e) => e.payload.hand === 6)!;
    const retriedEvent = trail.find((e) => e.type === 'payment_recorded' && e.requestId === retriedKey)!;
    expect(retriedEvent.seq).toBeGreaterThan(lateEntryOfSix.seq);
    timings.handBefore = handBefore;
    timings.lateHands = late.map((e) => `${e.payload.hand as number}:+${e.payload.delayMs as number}ms`).join(' ');

    // Neither the worker nor the API was restarted: the same worker still runs.
    expect(workerError).toBeUndefined();
    expect(worker!.cases.getState()).toBe('RUNNING');
    expect(worker!.delivery.getState()).toBe('RUNNING');
  }, 55_000);
});
