/**
 * A case's search attributes come with its start (workflows/case SEEDED_ATTRIBUTES_PATCH): the
 * case is found by branch, hand and stage from the moment Temporal accepts it, and its opening
 * upserts nothing it started with. A later change upserts what it changed, and a run started
 * without them (a caller of older code) still upserts them all.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import Long from 'long';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { latestPolicy } from '../../db/policies';
import {
  branchKey,
  caseStageKey,
  collectionHandKey,
  officerIdKey,
  overdueAmountKey,
  overdueSinceKey,
  recordPaymentUpdate,
  workflowIdForLoan,
  type CollectionPolicy,
} from '../../domain';
import { openCase, openingWithoutParties, startCase } from '../../temporal/open-case';
import { storeParties } from '../../db/parties';
import { OFFICER, SYSTEM, daysAgo, eventually, newLoan, open, settledHistoryLength } from '../support/fixtures';
import { startCaseHarness, testDataConverter, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';

let h: CaseHarness;
let policy: CollectionPolicy;
beforeAll(async () => {
  h = await startCaseHarness();
  policy = (await latestPolicy(h.db, 'standard'))!;
});
afterAll(async () => {
  await h?.close();
});

/** The case attributes each upsert of the run set, in order (the SDK's TemporalChangeVersion left out). */
async function upserts(handle: WorkflowHandle): Promise<string[][]> {
  const history = await handle.fetchHistory();
  return history
    .events!.flatMap((e) => (e.upsertWorkflowSearchAttributesEventAttributes ? [e.upsertWorkflowSearchAttributesEventAttributes] : []))
    .map((a) => Object.keys(a.searchAttributes?.indexedFields ?? {}).filter((name) => name !== 'TemporalChangeVersion').sort())
    .filter((names) => names.length > 0);
}

describe('a case started with its search attributes', () => {
  it('is found by them before any worker has run it', async () => {
    const loan = newLoan({ branch: 'BR02', overdue: 450_000 });
    // No worker polls this queue: what Temporal shows can only have come with the start.
    expect(await startCase(h.client, `unpolled-${randomUUID()}`, { requestId: randomUUID(), by: SYSTEM, loan, policy })).toBe('started');
    const handle = h.client.workflow.getHandle(workflowIdForLoan(loan.loanId));
    const { typedSearchAttributes: shown } = await handle.describe();
    expect(shown.get(branchKey)).toBe('BR02');
    expect(shown.get(caseStageKey)).toBe('collecting');
    expect(shown.get(collectionHandKey)).toBe(1);
    expect(shown.get(officerIdKey)).toBe(OFFICER.sub);
    expect(shown.get(overdueAmountKey)).toBe(450_000);
    expect(shown.get(overdueSinceKey)?.toISOString().slice(0, 10)).toBe(loan.overdueSince);
    await handle.terminate('test done');
  });

  it('upserts nothing at its opening, even one that opens in a later hand; a payment upserts what it changed', async () => {
    const loan = newLoan({ overdue: 600_000, overdueSince: daysAgo(100) });
    const { case: opened } = await open(h.client, h.taskQueue, loan, policy);
    expect(opened.hand).toBeGreaterThan(1);
    const handle = h.client.workflow.getHandle(opened.caseId);
    await settledHistoryLength(handle);
    expect(await upserts(handle)).toEqual([]);
    const { typedSearchAttributes: shown } = await handle.describe();
    expect(shown.get(collectionHandKey)).toBe(opened.hand);
    expect(shown.get(overdueAmountKey)).toBe(600_000);
    await saveHistory('v11-seeded-attributes', await handle.fetchHistory());

    await handle.executeUpdate(recordPaymentUpdate, {
      args: [{ requestId: randomUUID(), by: OFFICER, amount: 100_000, reference: `ATTR-${randomUUID().slice(0, 8)}`, paidAt: new Date().toISOString() }],
    });
    await eventually(async () => ((await upserts(handle)).length > 0 ? true : undefined));
    expect(await upserts(handle)).toEqual([[overdueAmountKey.name]]);
    expect((await handle.describe()).typedSearchAttributes.get(overdueAmountKey)).toBe(500_000);
  });
});

describe('a case continued as new', () => {
  it('keeps its attributes: the next run upserts only what changes after it began', async () => {
    const loan = newLoan({ overdue: 300_000 });
    const { case: opened } = await open(h.client, h.taskQueue, loan, policy, { continueAsNewAfterEvents: 16 });
    const handle = h.client.workflow.getHandle(opened.caseId);
    const firstRunId = (await handle.describe()).runId;
    const pay = (amount: number) =>
      eventually(() =>
        handle
          .executeUpdate(recordPaymentUpdate, {
            args: [{ requestId: `${firstRunId}-${amount}`, by: OFFICER, amount, reference: `CAN-${firstRunId.slice(0, 8)}-${amount}`, paidAt: new Date().toISOString() }],
          })
          .then(() => true),
      );
    await pay(100_000);
    const nextRunId = await eventually(async () => {
      const { runId } = await handle.describe();
      return runId !== firstRunId ? runId : undefined;
    });
    const next = h.client.workflow.getHandle(opened.caseId, nextRunId);
    await settledHistoryLength(next);
    expect((await next.describe()).typedSearchAttributes.get(overdueAmountKey)).toBe(200_000);
    expect(await upserts(next)).toEqual([]);
    await pay(50_000);
    await eventually(async () => ((await upserts(next)).length > 0 ? true : undefined));
    expect(await upserts(next)).toEqual([[overdueAmountKey.name]]);
  });
});

describe('a case started without them', () => {
  it('upserts them all with its first batch', async () => {
    const loan = newLoan({ branch: 'BR03' });
    const workflowId = workflowIdForLoan(loan.loanId);
    await storeParties(h.db, workflowId, loan);
    // As a caller from before SEEDED_ATTRIBUTES_PATCH started cases.
    const handle = await h.client.workflow.start('collectionCase', {
      workflowId,
      taskQueue: h.taskQueue,
      args: [{ opening: openingWithoutParties({ requestId: randomUUID(), by: SYSTEM, loan, policy }) }],
    });
    const first = await eventually(async () => (await upserts(handle))[0]);
    expect(first).toEqual(expect.arrayContaining([branchKey.name, caseStageKey.name, collectionHandKey.name, overdueAmountKey.name]));
    expect((await handle.describe()).typedSearchAttributes.get(branchKey)).toBe('BR03');
  });
});

describe('a namespace whose case attributes are not registered yet', () => {
  it('still takes the case: started without them (the case upserts them once they are registered)', async () => {
    const namespace = `bare-${randomUUID().slice(0, 8)}`;
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) } });
      const client = new Client({ connection, namespace, dataConverter: testDataConverter() });
      const taskQueue = `unpolled-${randomUUID()}`;
      // Temporal refuses a start that carries attributes the namespace does not know.
      const intake = { requestId: randomUUID(), by: SYSTEM, loan: newLoan(), policy };
      const started = await eventually(() => startCase(client, taskQueue, intake));
      expect(started).toBe('started');
      const handle = client.workflow.getHandle(workflowIdForLoan(intake.loan.loanId));
      expect((await handle.describe()).status.name).toBe('RUNNING');
      expect((await handle.describe()).typedSearchAttributes.get(branchKey)).toBeUndefined();

      // The opening's update-with-start too: the case runs, waiting for a worker to answer it.
      const loan = newLoan();
      const opening = openCase(client, h.db, taskQueue, { requestId: randomUUID(), by: SYSTEM, loan, policy }).catch((err: unknown) => err);
      const opened = client.workflow.getHandle(workflowIdForLoan(loan.loanId));
      await eventually(async () => ((await opened.describe()).status.name === 'RUNNING' ? true : undefined));
      await opened.terminate('test done');
      await handle.terminate('test done');
      await opening;
    } finally {
      await connection.close();
    }
  });
});
