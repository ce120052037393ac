/**
 * The team channel (清收微信群) on a live case: a case escalating to hand 5 and a recovery are
 * posted to a local receiver, signed (HMAC-SHA256 of timestamp and body), retried after the
 * receiver fails once, and never posted twice; the messages carry no personal data. On a live
 * risk watch: the approval of an exit measure is posted the same way. And the projections' side:
 * only results are queued, once per event and URL however often a batch is written.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { enqueueTeamChannel, enqueueWatchTeamChannel, teamChannelMessages, watchTeamChannelMessages } from '../../activities/team-channel';
import { TEAM_CHANNEL_SIGNATURE_HEADER, teamChannelSignature } from '../../activities/team-channel-delivery';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { teamChannelOutbox } from '../../db/schema';
import {
  WATCH_WORKFLOW_TYPE,
  decideExitMeasureUpdate,
  openWatchUpdate,
  proposeExitMeasureUpdate,
  recordPaymentUpdate,
  watchIdForLoan,
  type MessageMeta,
  type WatchView,
} from '../../domain';
import type { riskWatch } from '../../workflows';
import { createLogger } from '../../logger';
import { createCaseWorker, type CaseWorkers } from '../../worker';
import { eventually, newLoan, open, OFFICER, openingView, SUPERVISOR, testPolicy, useDatabaseFor } from '../support/fixtures';
import { testDataConverter, workflowBundle } from '../support/harness';

const SECRET = 'team-channel-test-secret-0123456789';

interface Received {
  key: string;
  signature: string;
  body: string;
  status: number;
}

/** A team channel endpoint that refuses the very first post (500) and takes every other. */
function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = received.length === 0 ? 500 : 200;
      received.push({
        key: String(req.headers['idempotency-key']),
        signature: String(req.headers[TEAM_CHANNEL_SIGNATURE_HEADER]),
        body: Buffer.concat(chunks).toString('utf8'),
        status,
      });
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/team`,
        received,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

/** Checks the header as a receiver would: the HMAC of `<t>.<body>` under the shared secret. */
function validSignature({ signature, body }: Received): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
  if (!match) return false;
  const timestamp = Number(match[1]);
  return Math.abs(Date.now() / 1000 - timestamp) < 300 && teamChannelSignature(SECRET, timestamp, body) === match[2];
}

let database: DatabaseHandle;
let connection: Connection;
let native: NativeConnection;
let client: Client;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let workers: CaseWorkers;
let running: Promise<void>;
const taskQueue = `test-${randomUUID()}`;

beforeAll(async () => {
  receiver = await startReceiver();
  const address = inject('temporalAddress');
  database = createDatabase(inject('databaseUrl'), 5);
  const dataConverter = testDataConverter();
  connection = await Connection.connect({ address });
  client = new Client({ connection, dataConverter });
  useDatabaseFor(client, database.db);
  native = await NativeConnection.connect({ address });
  workers = await createCaseWorker({
    connection: native,
    namespace: 'default',
    taskQueue,
    db: database.db,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    sweepIntervalMs: 0,
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: 0,
    dataConverter,
    teamChannel: { urls: [receiver.url], secret: SECRET, intervalMs: 100, retryBaseMs: 300 },
  });
  running = workers.run();
});

afterAll(async () => {
  workers?.shutdown();
  await running;
  await native?.close();
  await connection?.close();
  await database?.close();
  await receiver?.close();
});

describe('the team channel', () => {
  it('posts an escalation to hand 5 and a recovery, signed, retried after a failure, each once', async () => {
    // A case day of 100 ms: hand 5 at day 4, hand 6 far away.
    const policy = await testPolicy(database.db, { dayMs: 100, entersAtDays: [0, 1, 2, 3, 4, 100_000] });
    const loan = newLoan();
    const { case: opened } = await open(client, taskQueue, loan, policy);
    const caseId = opened.caseId;
    const posted = () => receiver.received.filter((r) => r.status === 200).map((r) => ({ ...r, message: JSON.parse(r.body) as Record<string, unknown> }));

    const escalation = await eventually(async () => posted().find((r) => r.message.kind === 'escalation' && r.message.caseId === caseId));
    expect(escalation.message).toMatchObject({ id: escalation.key, kind: 'escalation', caseId, branch: 'BR01', hand: 5, currency: 'CNY', detail: { from: 4 } });

    const requestId = randomUUID();
    await client.workflow.getHandle(caseId).executeUpdate(recordPaymentUpdate, {
      args: [{ requestId, by: OFFICER, sentAt: new Date().toISOString(), amount: 150_000, paidAt: new Date().toISOString(), reference: `R-${requestId.slice(0, 8)}` }],
      updateId: `recordPayment:${requestId}`,
    });
    const recovery = await eventually(async () => posted().find((r) => r.message.kind === 'recovery' && r.message.caseId === caseId));
    expect(recovery.message).toMatchObject({ kind: 'recovery', caseId, branch: 'BR01', currency: 'CNY', detail: { amount: 150_000 } });

    // The first post failed (500) and its row was posted again, once.
    const [failed] = receiver.received;
    expect(failed!.status).toBe(500);
    expect(receiver.received.filter((r) => r.key === failed!.key).map((r) => r.status)).toEqual([500, 200]);

    // Several sweeps later nothing has been posted twice.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const keys = posted().map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(receiver.received.length).toBe(keys.length + 1);
    const rows = await database.db.select().from(teamChannelOutbox).where(eq(teamChannelOutbox.caseId, caseId));
    expect(rows.map((r) => r.id).sort()).toEqual(posted().filter((r) => r.message.caseId === caseId).map((r) => r.key).sort());
    expect(rows.every((r) => r.status === 'sent')).toBe(true);
    expect(rows.find((r) => r.id === failed!.key)).toMatchObject({ attempts: 2, lastError: null, kind: 'escalation' });

    for (const request of receiver.received) {
      expect(validSignature(request), request.signature).toBe(true);
      for (const personal of [loan.borrower!.name, loan.borrower!.idNumber, loan.borrower!.phone]) expect(request.body).not.toContain(personal);
    }
    // A tampered body does not verify.
    expect(validSignature({ ...recovery, body: recovery.body.replace('150000', '999999') })).toBe(false);
  });

  it('posts the approval of a watch\'s exit measure, signed, once; not its proposal', async () => {
    const { loanId } = newLoan();
    const watchId = watchIdForLoan(loanId);
    const meta = (by: MessageMeta['by']): MessageMeta => ({ requestId: randomUUID(), by, sentAt: new Date().toISOString() });
    const opening = meta(SUPERVISOR);
    await client.workflow.executeUpdateWithStart(openWatchUpdate, {
      args: [opening],
      updateId: `openWatch:${opening.requestId}`,
      startWorkflowOperation: new WithStartWorkflowOperation<typeof riskWatch>(WATCH_WORKFLOW_TYPE, {
        workflowId: watchId,
        taskQueue,
        args: [
          {
            opening: {
              ...opening,
              loan: { loanId, branch: 'BR01', currency: 'CNY', outstanding: 32_000_000, officerId: OFFICER.sub },
              trigger: 'second_mortgage',
              note: null,
              visitEveryDays: null,
              dayMs: 86_400_000,
            },
          },
        ],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    const handle = client.workflow.getHandle(watchId);
    const measureId = randomUUID();
    const proposal = meta(OFFICER);
    await handle.executeUpdate(proposeExitMeasureUpdate, {
      args: [{ ...proposal, measureId, type: 'property_sale_settlement', rationale: 'the shop unit sells above the balance' }],
      updateId: `proposeExitMeasure:${proposal.requestId}`,
    });
    const decision = meta(SUPERVISOR);
    const { watch } = await handle.executeUpdate(decideExitMeasureUpdate, {
      args: [{ ...decision, measureId, decision: 'approve', reason: 'the valuation covers the loan' }],
      updateId: `decideExitMeasure:${decision.requestId}`,
    });
    expect((watch as WatchView).exitPlan[0]).toMatchObject({ measureId, state: 'approved' });

    const forWatch = () => receiver.received.filter((r) => r.status === 200 && (JSON.parse(r.body) as { watchId?: string }).watchId === watchId);
    const [approval] = await eventually(async () => (forWatch().length > 0 ? forWatch() : undefined));
    expect(JSON.parse(approval!.body)).toMatchObject({
      id: approval!.key,
      kind: 'approval',
      watchId,
      branch: 'BR01',
      currency: 'CNY',
      detail: { approved: 'exit_measure', measureId, type: 'property_sale_settlement', outstanding: 32_000_000 },
    });
    expect(JSON.parse(approval!.body)).not.toHaveProperty('caseId');
    expect(validSignature(approval!)).toBe(true);

    // Several sweeps later it has been posted once, and nothing else of the watch was.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(forWatch()).toHaveLength(1);
    const rows = await database.db.select().from(teamChannelOutbox).where(eq(teamChannelOutbox.watchId, watchId));
    expect(rows).toMatchObject([{ id: approval!.key, kind: 'approval', caseId: null, status: 'sent', attempts: 1 }]);
  });

  it('queues only results, once per event and URL, however often the projection writes a batch', async () => {
    const loan = newLoan();
    const view = openingView(loan, new Date().toISOString());
    const event = (type: string, payload: Record<string, unknown>) => ({
      eventId: randomUUID(),
      seq: 1,
      type: type as never,
      actor: { sub: 'workflow', role: 'system' as const },
      requestId: null,
      occurredAt: new Date().toISOString(),
      payload,
    });
    const batch = {
      caseId: view.caseId,
      view,
      events: [
        event('hand_entered', { hand: 3, from: 2 }),
        event('hand_entered_late', { hand: 6, from: 5, reason: 'days' }),
        event('contact_recorded', { channel: 'phone', outcome: 'answered' }),
        event('promise_broken', { amount: 50_000, dueDate: '2026-11-20', paidSoFar: 0 }),
        event('measure_approved', { measureId: randomUUID(), type: 'litigation' }),
      ],
    };
    expect(teamChannelMessages(batch).map((m) => [m.kind, m.hand])).toEqual([
      ['escalation', 6],
      ['broken_promise', 1],
      ['approval', 1],
    ]);
    const urls = ['http://127.0.0.1:1/a', 'http://127.0.0.1:1/b'];
    await enqueueTeamChannel(database.db, batch, urls);
    await enqueueTeamChannel(database.db, batch, urls);
    const rows = await database.db
      .select()
      .from(teamChannelOutbox)
      .where(inArray(teamChannelOutbox.eventId, batch.events.map((e) => e.eventId)));
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true);
  });

  it('queues only a watch\'s approvals, once per event and URL, however often its projection writes a batch', async () => {
    const { loanId } = newLoan();
    const now = new Date().toISOString();
    const view: WatchView = {
      watchId: watchIdForLoan(loanId),
      loanId,
      branch: 'BR01',
      currency: 'USD',
      outstanding: 200_000_000,
      officerId: OFFICER.sub,
      trigger: 'fund_misuse',
      state: 'watching',
      exitPlan: [],
      visitEveryDays: 30,
      nextVisitAt: now,
      visits: 0,
      caseId: null,
      openedAt: now,
      closedAt: null,
    };
    let seq = 0;
    const event = (type: string, payload: Record<string, unknown>) => ({
      eventId: randomUUID(),
      seq: ++seq,
      type: type as never,
      actor: SUPERVISOR,
      requestId: randomUUID(),
      occurredAt: now,
      payload,
    });
    const measureId = randomUUID();
    const batch = {
      watchId: view.watchId,
      view,
      events: [
        event('exit_measure_proposed', { measureId, type: 'restructuring', rationale: 'turnover fell by half' }),
        event('exit_measure_rejected', { measureId: randomUUID(), type: 'drawdown_rate_increase', reason: 'no' }),
        event('exit_measure_approved', { measureId, type: 'restructuring', reason: 'the plan holds' }),
        event('visit_due', { n: 1 }),
      ],
    };
    expect(watchTeamChannelMessages(batch)).toEqual([
      {
        eventId: batch.events[2]!.eventId,
        kind: 'approval',
        watchId: view.watchId,
        branch: 'BR01',
        currency: 'USD',
        occurredAt: now,
        detail: { approved: 'exit_measure', measureId, type: 'restructuring', outstanding: 200_000_000 },
      },
    ]);
    const urls = ['http://127.0.0.1:1/a', 'http://127.0.0.1:1/b'];
    await enqueueWatchTeamChannel(database.db, batch, urls);
    await enqueueWatchTeamChannel(database.db, batch, urls);
    const rows = await database.db.select().from(teamChannelOutbox).where(eq(teamChannelOutbox.watchId, view.watchId));
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.status === 'pending' && r.caseId === null && r.eventId === batch.events[2]!.eventId)).toBe(true);
  });
});
