/**
 * Supervisors' phone follow-ups on officers' work (定期电话回访) on the real Temporal server and
 * PostgreSQL: on the policy's rhythm once the case reaches the policy's hand, a task for the
 * branch's supervisors naming the officer, each naming the policy rule that raised it.
 */
import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPolicyVersion } from '../../db/policies';
import { caseEvents, officerTasks } from '../../db/schema';
import { STANDARD_POLICY } from '../../db/seed';
import { caseStateQuery, recordPaymentUpdate } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { OFFICER, eventually, newLoan, open } from '../support/fixtures';
import { updateCase } from '../support/updates';

let h: CaseHarness;
beforeAll(async () => {
  h = await startCaseHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('phone follow-ups', () => {
  it('raise a supervisors\' task every few case days from the policy\'s hand, and stop when the case closes', async () => {
    const dayMs = 1_000;
    const policy = await addPolicyVersion(h.db, {
      ...STANDARD_POLICY,
      name: `follow-${randomUUID().slice(0, 8)}`,
      dayMs,
      hands: STANDARD_POLICY.hands.map((rule, i) => ({ ...rule, entersAtDay: [0, 2, 400, 500, 600, 700][i]! })),
      followUps: { everyDays: 3, fromHand: 2 },
    });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 500_000 }), policy);
    const tasks = () =>
      h.db.select().from(officerTasks).where(and(eq(officerTasks.caseId, opened.caseId), eq(officerTasks.type, 'phone_follow_up'))).orderBy(asc(officerTasks.dueAt));
    // Hand 2 at day 2, then a follow-up at day 5 and day 8.
    const raised = await eventually(async () => {
      const rows = await tasks();
      return rows.length >= 2 ? rows : undefined;
    }, 30_000);
    expect(raised.every((t) => t.officerId === null && t.hand === 2 && t.status === 'open')).toBe(true);
    const events = await h.db
      .select()
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, opened.caseId), eq(caseEvents.type, 'follow_up_raised')))
      .orderBy(asc(caseEvents.seq));
    expect(events[0]!.payload).toMatchObject({
      task: 'phone_follow_up',
      officerId: OFFICER.sub,
      hand: 2,
      rule: { policy: policy.name, version: policy.version, rule: 'followUps', everyDays: 3 },
    });
    const gap = Date.parse(events[1]!.payload.dueAt as string) - Date.parse(events[0]!.payload.dueAt as string);
    expect(gap).toBeGreaterThanOrEqual(3 * dayMs - 5);
    expect(gap).toBeLessThanOrEqual(3 * dayMs + 5);

    await updateCase(h.client, h.db, opened.caseId, recordPaymentUpdate, {
      args: [{ requestId: randomUUID(), by: OFFICER, amount: 500_000, reference: `F-${randomUUID().slice(0, 6)}`, paidAt: new Date().toISOString() }],
    });
    const count = (await tasks()).length;
    await new Promise((resolve) => setTimeout(resolve, 4 * dayMs));
    const after = await tasks();
    expect(after).toHaveLength(count);
    expect(after.every((t) => t.status === 'cancelled')).toBe(true);
    await saveHistory('v6-follow-ups-until-cured', await h.client.workflow.getHandle(opened.caseId).fetchHistory());
  });

  it('are raised by no policy that does not ask for them', async () => {
    const policy = await addPolicyVersion(h.db, {
      ...STANDARD_POLICY,
      name: `nofollow-${randomUUID().slice(0, 8)}`,
      dayMs: 500,
      hands: STANDARD_POLICY.hands.map((rule, i) => ({ ...rule, entersAtDay: [0, 1, 400, 500, 600, 700][i]! })),
    });
    const { case: opened } = await open(h.client, h.taskQueue, newLoan(), policy);
    await eventually(async () => ((await h.client.workflow.getHandle(opened.caseId).query(caseStateQuery)).hand === 2 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const rows = await h.db.select().from(officerTasks).where(and(eq(officerTasks.caseId, opened.caseId), eq(officerTasks.type, 'phone_follow_up')));
    expect(rows).toHaveLength(0);
  });
});
