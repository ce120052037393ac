/**
 * Retention of personal data: the policy says how many case days a closed case keeps its parties;
 * the retention workflow (run by a Temporal Schedule) erases them after that, keeps the ledger's
 * figures and the business trail, and records the erasure as a case event without personal data.
 */
import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPolicyVersion } from '../../db/policies';
import { caseEvents, caseParties, cases } from '../../db/schema';
import { STANDARD_POLICY } from '../../db/seed';
import { policyProblems, recordPaymentUpdate, type CollectionPolicy } from '../../domain';
import { ensureRetentionSchedule, retentionScheduleId } from '../../temporal/retention-schedule';
import { personalDataRetention } from '../../workflows';
import { OFFICER, newLoan, open } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { updateCase } from '../support/updates';

let h: CaseHarness;
beforeAll(async () => {
  h = await startCaseHarness();
});
afterAll(async () => {
  await h?.close();
});

const DAY_MS = 500;

/** The standard ladder on a 500 ms case day, keeping parties `retentionDays` case days after closing. */
function retentionPolicy(retentionDays?: number): Promise<CollectionPolicy> {
  return addPolicyVersion(h.db, {
    ...STANDARD_POLICY,
    name: `retention-${randomUUID().slice(0, 8)}`,
    description: 'retention test',
    dayMs: DAY_MS,
    ...(retentionDays === undefined ? {} : { personalDataRetentionDays: retentionDays }),
  });
}

async function closedCase(policy: CollectionPolicy): Promise<string> {
  const loan = newLoan({ overdue: 50_000, outstanding: 500_000 });
  const { case: opened } = await open(h.client, h.taskQueue, loan, policy);
  const paid = await updateCase(h.client, h.db, opened.caseId, recordPaymentUpdate, {
    args: [{ requestId: randomUUID(), by: OFFICER, amount: 50_000, reference: `RET-${randomUUID().slice(0, 8)}`, paidAt: new Date().toISOString() }],
  });
  expect(paid.case.stage).toBe('recovered');
  return opened.caseId;
}

const runRetention = () =>
  h.client.workflow.execute(personalDataRetention, { taskQueue: h.taskQueue, workflowId: `retention-test-${randomUUID()}` });
const partiesOf = (caseId: string) => h.db.select().from(caseParties).where(eq(caseParties.caseId, caseId));
const erasures = (caseId: string) =>
  h.db.select().from(caseEvents).where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.type, 'personal_data_erased')));

describe('the policy\'s retention', () => {
  it('is an optional whole number of case days', () => {
    const base = { dayMs: STANDARD_POLICY.dayMs, maxPromiseDays: STANDARD_POLICY.maxPromiseDays, hands: STANDARD_POLICY.hands };
    expect(policyProblems({ ...base })).toEqual([]);
    expect(policyProblems({ ...base, personalDataRetentionDays: 1_825 })).toEqual([]);
    for (const bad of [0, -1, 1.5, 36_501]) {
      expect(policyProblems({ ...base, personalDataRetentionDays: bad })).toEqual([expect.stringMatching(/^personalDataRetentionDays must be an integer from 1 to 36500/)]);
    }
  });
});

describe('erasure after retention', () => {
  it('erases the parties of a case closed longer than its policy keeps them, keeping figures and trail', async () => {
    const keeping = await retentionPolicy(6); // 3 s after closing
    const forever = await retentionPolicy();
    const kept = await closedCase(forever);
    const open_ = (await open(h.client, h.taskQueue, newLoan(), keeping)).case.caseId;
    const due = await closedCase(keeping);

    // Not yet: closed less than six case days ago.
    await runRetention();
    const [closed] = await h.db.select({ closedAt: cases.closedAt }).from(cases).where(eq(cases.caseId, due));
    expect(Date.now() - closed!.closedAt!.getTime()).toBeLessThan(6 * DAY_MS); // the premise held
    expect(await partiesOf(due)).toHaveLength(2);

    await new Promise((resolve) => setTimeout(resolve, closed!.closedAt!.getTime() + 6 * DAY_MS + 100 - Date.now()));
    const [ledgerBefore] = await h.db.select().from(cases).where(eq(cases.caseId, due));
    const trailBefore = await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, due)).orderBy(asc(caseEvents.seq));
    const outcome = await runRetention();
    expect(outcome.erased).toBeGreaterThanOrEqual(1);

    expect(await partiesOf(due)).toEqual([]);
    expect(await partiesOf(kept)).toHaveLength(2);
    expect(await partiesOf(open_)).toHaveLength(2);

    // The ledger's figures and the business trail stay; the erasure joins the trail.
    const [ledgerAfter] = await h.db.select().from(cases).where(eq(cases.caseId, due));
    expect(ledgerAfter).toMatchObject({ stage: 'recovered', recovered: ledgerBefore!.recovered, outstanding: ledgerBefore!.outstanding, overdue: ledgerBefore!.overdue });
    const trailAfter = await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, due)).orderBy(asc(caseEvents.seq));
    expect(trailAfter.slice(0, trailBefore.length).map((e) => e.eventId)).toEqual(trailBefore.map((e) => e.eventId));
    const [erased] = await erasures(due);
    expect(erased).toMatchObject({
      actorSub: 'retention',
      actorRole: 'system',
      seq: trailBefore.at(-1)!.seq + 1,
      payload: { borrowers: 1, guarantors: 1, retentionDays: 6, policy: { name: keeping.name, version: keeping.version } },
    });
    expect(JSON.stringify(erased!.payload)).not.toMatch(/Zhang Wei|Li Na|\+86/);

    // Once only: a second pass finds nothing of this case to erase.
    await runRetention();
    expect(await erasures(due)).toHaveLength(1);
  });
});

describe('the retention schedule', () => {
  it('is created once and found again at the next boot', async () => {
    const taskQueue = `retention-schedule-${randomUUID()}`;
    try {
      expect(await ensureRetentionSchedule(h.client, taskQueue, 60)).toBe(true);
      expect(await ensureRetentionSchedule(h.client, taskQueue, 30)).toBe(false);
      const described = await h.client.schedule.getHandle(retentionScheduleId(taskQueue)).describe();
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'personalDataRetention', taskQueue });
      expect(described.spec.intervals?.[0]?.every).toBe(30 * 60_000);
    } finally {
      await h.client.schedule.getHandle(retentionScheduleId(taskQueue)).delete().catch(() => undefined);
    }
  });
});
