/**
 * An officer's answer (workflows/case ANSWER_WITH_BATCH_PATCH, db/answered-batch.ts): the case
 * answers an update with the batch that holds its message as soon as it has taken it, and the
 * API writes that batch to the ledger before it answers. The projection activity writes the same
 * batch afterwards and changes nothing. Here the activity is held back until the API has answered,
 * so the answer can only have come from the API's own write.
 */
import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities';
import type { ProjectionBatch } from '../../activities/contract';
import { caseEvents, payments } from '../../db/schema';
import type { Role } from '../../domain';
import { createLogger } from '../../logger';
import { SEEDED_ATTRIBUTES_PATCH } from '../../workflows/case/workflow';
import { eventually, newLoan, OFFICER } from '../support/fixtures';
import { testDataConverter, workflowBundle } from '../support/harness';
import { build, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const OFFICER_BR01: Who = ['officer', OFFICER.sub, 'BR01'];
const SUPERVISOR_BR01: Who = ['supervisor', 'supervisor-wang', 'BR01'];

const taskQueue = `answer-${randomUUID()}`;
let t: ApiTest;
let native: NativeConnection;
let worker: Worker;
let running: Promise<void>;
/** Payment batches the projection activity holds until the gate opens. */
let held: ProjectionBatch[] = [];
let openGate: () => void = () => undefined;
let gate = new Promise<void>((resolve) => (openGate = resolve));

beforeAll(async () => {
  t = await build({ env: { TEMPORAL_TASK_QUEUE: taskQueue } });
  const { sweepOutbox: _sweep, ...activities } = createActivities({ db: t.database.db, logger: createLogger('silent') });
  native = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await Worker.create({
    connection: native,
    namespace: 'default',
    taskQueue,
    workflowBundle: await workflowBundle(),
    dataConverter: testDataConverter(),
    activities: {
      ...activities,
      async projectCase(batch: ProjectionBatch) {
        if (batch.payments.length > 0) {
          held.push(batch);
          await gate;
        }
        return activities.projectCase(batch);
      },
    },
  });
  running = worker.run();
});
afterAll(async () => {
  openGate();
  worker?.shutdown();
  await running;
  await native?.close();
  await t?.close();
});

async function ledgerCounts(caseId: string, reference: string) {
  const paid = await t.database.db.select().from(payments).where(and(eq(payments.caseId, caseId), eq(payments.reference, reference)));
  const events = await t.database.db
    .select()
    .from(caseEvents)
    .where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.type, 'payment_recorded')));
  const [row] = (await t.database.db.execute<{ recovered: string; version: number }>(sql`select recovered, version from cases where case_id = ${caseId}`)).rows;
  return { payments: paid.length, events: events.length, recovered: Number(row!.recovered), version: row!.version };
}

describe('an officer\'s payment', () => {
  it('is in the ledger when the API answers, before the projection activity has written it; the activity\'s write changes nothing', async () => {
    const opened = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: newLoan({ overdue: 300_000 }) });
    expect(opened.statusCode, opened.body).toBe(201);
    const caseId: string = opened.json().case.caseId;
    const reference = `ANS-${randomUUID().slice(0, 8)}`;
    const key = `pay-${randomUUID()}`;
    const pay = () =>
      t.as(OFFICER_BR01, {
        method: 'POST',
        url: `/v1/cases/${caseId}/payments`,
        headers: { 'idempotency-key': key },
        payload: { amount: 100_000, reference, paidAt: new Date().toISOString() },
      });

    const answered = await pay();
    expect(answered.statusCode, answered.body).toBe(200);
    expect(answered.json()).toMatchObject({ recovered: 100_000, overdue: 200_000 });
    // The activity is still held: what the ledger shows, the API wrote.
    await eventually(async () => (held.length === 1 ? true : undefined));
    expect(await ledgerCounts(caseId, reference)).toEqual({ payments: 1, events: 1, recovered: 100_000, version: held[0]!.version });
    const read = await t.as(OFFICER_BR01, { url: `/v1/cases/${caseId}` });
    expect(read.json()).toMatchObject({ recovered: 100_000, overdue: 200_000 });

    // A retry answers as the first did, from the same batch, and adds nothing.
    const retried = await pay();
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ recovered: 100_000 });

    openGate();
    const handle = t.client.workflow.getHandle(caseId);
    await eventually(async () => {
      const history = await handle.fetchHistory();
      const completed = history.events!.filter((e) => e.activityTaskCompletedEventAttributes).length;
      const scheduled = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'projectCase').length;
      return completed >= scheduled ? true : undefined;
    });
    expect(await ledgerCounts(caseId, reference)).toEqual({ payments: 1, events: 1, recovered: 100_000, version: held[0]!.version });
    // Both writers of the batch left the trail's chain whole.
    const verified = await t.as(SUPERVISOR_BR01, { url: `/v1/cases/${caseId}/audit/verify` });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json()).toMatchObject({ valid: true, firstBrokenLink: null });
    // A case opened now records one patch marker, SEEDED_ATTRIBUTES_PATCH, for every patch before it.
    const history = await handle.fetchHistory();
    const markers = history.events!.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    expect(markers).toHaveLength(1);
    const patchData = Object.values(markers[0]!.markerRecordedEventAttributes!.details ?? {}).flatMap((p) => p.payloads ?? []);
    expect(patchData.map((p) => JSON.parse(Buffer.from(p.data!).toString()).id)).toEqual([SEEDED_ATTRIBUTES_PATCH]);
  });

  it('that meets an earlier batch on its way is answered after it, never written ahead of it', async () => {
    held = [];
    gate = new Promise<void>((resolve) => (openGate = resolve));
    const opened = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: newLoan({ overdue: 300_000 }) });
    const caseId: string = opened.json().case.caseId;
    // An earlier batch still on its way (a payment sent as a signal, its projection held):
    const queued = await t.as(OFFICER_BR01, {
      method: 'POST',
      url: `/v1/cases/${caseId}/payments?async=true`,
      headers: { 'idempotency-key': `pay-${randomUUID()}` },
      payload: { amount: 50_000, reference: 'QUEUED-1', paidAt: new Date().toISOString() },
    });
    expect(queued.statusCode, queued.body).toBe(202);
    await eventually(async () => (held.length === 1 ? true : undefined));
    // The case takes the next batch only once that one is written, and answers with it then.
    const answer = t.as(OFFICER_BR01, {
      method: 'POST',
      url: `/v1/cases/${caseId}/payments`,
      headers: { 'idempotency-key': `pay-${randomUUID()}` },
      payload: { amount: 70_000, reference: 'NEXT-1', paidAt: new Date().toISOString() },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await ledgerCounts(caseId, 'NEXT-1')).payments).toBe(0);
    openGate();
    const res = await answer;
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ recovered: 120_000 });
    expect(await ledgerCounts(caseId, 'QUEUED-1')).toMatchObject({ payments: 1, recovered: 120_000 });
  });
});
