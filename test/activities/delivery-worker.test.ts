import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChannelAdapter, OutgoingNotification } from '../../activities';
import { latestPolicy } from '../../db/policies';
import { notificationOutbox } from '../../db/schema';
import { deliveryTaskQueue } from '../../domain';
import { createLogger } from '../../logger';
import { createCaseWorker } from '../../worker';
import { startCaseHarness, testDataConverter, workflowBundle, type CaseHarness } from '../support/harness';
import { daysAgo, eventually, newLoan, open } from '../support/fixtures';

const sent: OutgoingNotification[] = [];
const attempts = new Map<string, number>();
/** The second guarantor's letter fails once; everything else goes through. */
const letters: ChannelAdapter = {
  async send(n) {
    const attempt = (attempts.get(n.idempotencyKey) ?? 0) + 1;
    attempts.set(n.idempotencyKey, attempt);
    if (n.idempotencyKey.endsWith(':guarantor:2') && attempt === 1) throw new Error('print service unavailable');
    sent.push(n);
  },
};

let h: CaseHarness;
beforeAll(async () => {
  h = await startCaseHarness({ channels: { letter: letters, sms: letters } });
});
afterAll(async () => {
  await h?.close();
});

async function activityPollers(taskQueue: string): Promise<number> {
  const response = await h.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return response.pollers?.length ?? 0;
}

describe('the delivery worker', () => {
  it('polls a task queue of its own beside the case worker', async () => {
    expect(h.deliveryTaskQueue).toBe(deliveryTaskQueue(h.taskQueue));
    expect(h.deliveryTaskQueue).toBe(`${h.taskQueue}-delivery`);
    await eventually(async () => ((await activityPollers(h.deliveryTaskQueue)) > 0 ? true : undefined));
    await eventually(async () => ((await activityPollers(h.taskQueue)) > 0 ? true : undefined));
  });

  it("delivers a case's letters one per recipient; a guarantor's failure never resends the borrower's", async () => {
    const policy = (await latestPolicy(h.db, 'standard'))!;
    const loan = newLoan({
      overdueSince: daysAgo(95), // enters hand 5 at intake: lawyer's letters to borrower and guarantors
      guarantors: [
        { name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000' },
        { name: 'Wang Fang', idNumber: '110101197701012222', phone: '+8613700137000' },
      ],
    });
    const { case: view } = await open(h.client, h.taskQueue, loan, policy);

    // The guarantor's letter is retried by Temporal (a few seconds later) and then sent.
    const rows = await eventually(async () => {
      const all = await h.db.select().from(notificationOutbox).where(eq(notificationOutbox.caseId, view.caseId));
      return all.length === 3 && all.every((r) => r.status === 'sent') ? all : undefined;
    }, 40_000);
    expect(rows.map((r) => `${r.template}:${r.partyRole}:${r.partyPosition}:${r.attempts}`).sort()).toEqual([
      'lawyers_letter:borrower:0:1',
      'lawyers_letter:guarantor:0:1',
      'lawyers_letter:guarantor:1:2',
    ]);
    const mine = sent.filter((n) => n.caseId === view.caseId);
    expect(mine.map((n) => [n.idempotencyKey.replace(/^.*:(borrower|guarantor:\d)$/, '$1'), n.recipient.name]).sort()).toEqual([
      ['borrower', 'Zhang Wei'],
      ['guarantor:1', 'Li Na'],
      ['guarantor:2', 'Wang Fang'],
    ]);
    for (const row of rows) expect(attempts.get(row.id)).toBe(row.attempts);
  });
});

describe('createCaseWorker', () => {
  it('runs the case and delivery workers as one: runUntil answers, then both have stopped', async () => {
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    try {
      const workers = await createCaseWorker({
        connection,
        namespace: 'default',
        taskQueue: `${h.taskQueue}-run-until`,
        db: h.db,
        logger: createLogger('silent'),
        workflowBundle: await workflowBundle(),
        sweepIntervalMs: 0,
        shutdownGraceTime: 0,
        dataConverter: testDataConverter(),
      });
      expect(workers.deliveryTaskQueue).toBe(`${h.taskQueue}-run-until-delivery`);
      await expect(workers.runUntil(async () => 42)).resolves.toBe(42);
      expect([workers.cases.getState(), workers.delivery.getState()]).toEqual(['STOPPED', 'STOPPED']);
    } finally {
      await connection.close();
    }
  });
});
