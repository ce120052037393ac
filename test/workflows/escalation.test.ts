import { randomUUID } from 'node:crypto';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents, cases, notificationOutbox, officerTasks } from '../../db/schema';
import { addPolicyVersion, latestPolicy } from '../../db/policies';
import { caseStateQuery, recordPaymentSignal, workflowIdForLoan } from '../../domain';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { OFFICER, daysAgo, eventually, newLoan, open, testPolicy } from '../support/fixtures';

let h: CaseHarness;
beforeAll(async () => {
  h = await startCaseHarness();
});
afterAll(async () => {
  await h?.close();
});

const handEvents = (caseId: string) =>
  h.db
    .select()
    .from(caseEvents)
    .where(and(eq(caseEvents.caseId, caseId), eq(caseEvents.type, 'hand_entered')))
    .orderBy(asc(caseEvents.seq));

describe('opening a case', () => {
  it('opens once per loan: the same loan again finds the open case', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const loan = newLoan();
    const first = await open(h.client, h.taskQueue, loan, policy);
    expect(first.created).toBe(true);
    expect(first.case).toMatchObject({ caseId: workflowIdForLoan(loan.loanId), stage: 'collecting', hand: 1 });

    const again = await open(h.client, h.taskQueue, { ...loan, overdue: 1 }, policy);
    expect(again.created).toBe(false);
    expect(again.case.overdue).toBe(loan.overdue); // the open case, not the second request's facts

    const runs = [];
    for await (const wf of h.client.workflow.list({ query: `WorkflowId = '${first.case.caseId}'` })) runs.push(wf.runId);
    expect(runs.length).toBeLessThanOrEqual(1);
    const [row] = await h.db.select().from(cases).where(eq(cases.caseId, first.case.caseId));
    expect(row).toMatchObject({ loanId: loan.loanId, stage: 'collecting', hand: 1, policyName: policy.name, episode: 1 });
  });

  it('enters the hand its days dictate and records the hands it skipped', async () => {
    const standard = (await latestPolicy(h.db, 'standard'))!;
    const loan = newLoan({ overdueSince: daysAgo(100) });
    const { case: view } = await open(h.client, h.taskQueue, loan, standard);
    expect(view).toMatchObject({ hand: 5, daysPastDue: 100, policy: { name: 'standard', version: standard.version } });
    const [entered] = await handEvents(view.caseId);
    expect(entered!.payload).toMatchObject({ hand: 5, reason: 'opening' });
    const skipped = (entered!.payload.skipped as { hand: number }[]).map((s) => s.hand);
    expect(skipped).toEqual([1, 2, 3, 4]);
    expect(view.nextAction).toMatchObject({ type: 'escalate', hand: 6 });
    // Hand 6 of the standard ladder is at day 120: twenty days from now.
    expect(Date.parse(view.nextAction!.at) - Date.now()).toBeGreaterThan(19 * 86_400_000);
  });
});

describe('policy versions', () => {
  it('keeps a running case on the version it opened with when a new version is written', async () => {
    const v1 = await testPolicy(h.db, { dayMs: 800, entersAtDays: [0, 2, 400, 500, 600, 700] });
    const running = await open(h.client, h.taskQueue, newLoan(), v1);
    const v2 = await addPolicyVersion(h.db, { ...v1, hands: v1.hands.map((r, i) => ({ ...r, entersAtDay: i * 1_000 })) });
    expect(v2).toMatchObject({ name: v1.name, version: v1.version + 1 });
    expect(await latestPolicy(h.db, v1.name)).toMatchObject({ version: v2.version });

    const later = await open(h.client, h.taskQueue, newLoan(), v2);
    expect(later.case.policy).toEqual({ name: v1.name, version: v2.version });
    const escalated = await eventually(async () => {
      const view = await h.client.workflow.getHandle(running.case.caseId).query(caseStateQuery);
      return view.hand === 2 ? view : undefined;
    });
    expect(escalated.policy).toEqual({ name: v1.name, version: v1.version });
    const [row] = await h.db.select().from(cases).where(eq(cases.caseId, running.case.caseId));
    expect(row).toMatchObject({ policyVersion: v1.version });
  });
});

describe('a loan overdue again after recovery', () => {
  it('opens a new episode of the same case, keeping the earlier episode\'s trail', async () => {
    const policy = await testPolicy(h.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
    const loan = newLoan({ overdue: 5_000 });
    const first = await open(h.client, h.taskQueue, loan, policy);
    const handle = h.client.workflow.getHandle(first.case.caseId);
    await handle.signal(recordPaymentSignal, {
      requestId: randomUUID(),
      by: OFFICER,
      amount: 5_000,
      reference: 'CURE-1',
      paidAt: new Date().toISOString(),
    });
    await handle.result();

    const again = await open(h.client, h.taskQueue, { ...loan, overdue: 7_000, overdueSince: daysAgo(0) }, policy);
    expect(again.created).toBe(true);
    expect(again.case).toMatchObject({ caseId: first.case.caseId, stage: 'collecting', overdue: 7_000, recovered: 0 });
    const [row] = await h.db.select().from(cases).where(eq(cases.caseId, first.case.caseId));
    expect(row).toMatchObject({ episode: 2, stage: 'collecting', overdue: 7_000 });
    const trail = await h.db.select().from(caseEvents).where(eq(caseEvents.caseId, first.case.caseId));
    expect(trail.filter((e) => e.type === 'case_opened').map((e) => e.episode).sort()).toEqual([1, 2]);
    expect(trail.find((e) => e.type === 'case_recovered')?.episode).toBe(1);
  });
});

describe('escalation', () => {
  it('climbs from hand 1 to hand 6 on timers, running each hand\'s actions', async () => {
    // Server timers fire with up to a second's lag: hands 2 s apart so none is skipped.
    const policy = await testPolicy(h.db, { dayMs: 1_000, entersAtDays: [0, 2, 4, 6, 8, 10] });
    const loan = newLoan();
    const { case: view } = await open(h.client, h.taskQueue, loan, policy);
    const caseId = view.caseId;

    const entered = await eventually(async () => {
      const rows = await handEvents(caseId);
      return rows.length === 6 ? rows : undefined;
    });
    expect(entered.map((e) => e.payload.hand)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entered.map((e) => e.payload.approach)).toEqual([
      'deterrence',
      'deterrence',
      'persistence',
      'persistence',
      'law',
      'law',
    ]);

    const handle = h.client.workflow.getHandle(caseId);
    expect(await handle.query(caseStateQuery)).toMatchObject({ hand: 6, stage: 'collecting', nextAction: null });

    const notifications = await eventually(async () => {
      const rows = await h.db.select().from(notificationOutbox).where(eq(notificationOutbox.caseId, caseId));
      return rows.length === 4 && rows.every((r) => r.status === 'sent') ? rows : undefined;
    });
    expect(notifications.map((n) => `${n.channel}:${n.template}:${n.recipient}`).sort()).toEqual([
      'letter:lawyers_letter:borrower',
      'letter:lawyers_letter:guarantors',
      'letter:warning_letter:borrower',
      'sms:payment_reminder:borrower',
    ]);

    const tasks = await h.db.select().from(officerTasks).where(eq(officerTasks.caseId, caseId));
    expect(tasks.map((t) => `${t.hand}:${t.type}`).sort()).toEqual([
      '1:call',
      '3:visit',
      '4:small_payment_plan',
      '4:visit',
      '5:legal_review',
      '6:litigation_referral',
    ]);
    expect(tasks.every((t) => t.officerId === loan.officerId && t.status === 'open')).toBe(true);

    // The policy's own proposals on the way, each awaiting approval: a guarantor claim at hand 4
    // (the loan has a guarantor), litigation at hand 6 (it is secured).
    const [row] = await h.db.select().from(cases).where(eq(cases.caseId, caseId));
    expect(row).toMatchObject({ hand: 6, stage: 'collecting', lastEventType: 'measure_proposed' });
    expect(row!.measures.map((m) => [m.type, m.state, m.rule?.rule])).toEqual([
      ['guarantor_claim', 'proposed', 'guarantor_claim_at_hand_4'],
      ['litigation', 'proposed', 'litigation_at_hand_6_secured'],
    ]);

    const found = await eventually(async () => {
      const ids: string[] = [];
      const query = `CollectionHand = 6 AND Branch = "BR01" AND CaseStage = "collecting" AND WorkflowId = "${caseId}"`;
      for await (const wf of h.client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids.length === 1 ? ids : undefined;
    });
    expect(found).toEqual([caseId]);
    // The worker's relay sent those letters: the run scheduled no delivery of its own.
    const history = await handle.fetchHistory();
    const scheduled = history.events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled.length).toBeGreaterThan(0);
    expect(scheduled.filter((name) => name !== 'projectCase')).toEqual([]);
    await saveHistory('v11-escalation-to-hand-6', history);
  });
});
