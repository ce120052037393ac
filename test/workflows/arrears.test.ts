/**
 * Arrears by component on the real Temporal server and PostgreSQL: the policy's allocation
 * order for partial payments, outcomes told apart (cured, repaid, settled), overpayments kept as
 * a credit to return, a back-dated payment ending collection as of its date, and legal costs
 * recovered first where the policy says so.
 */
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPolicyVersion } from '../../db/policies';
import { caseEvents, payments } from '../../db/schema';
import { STANDARD_POLICY } from '../../db/seed';
import {
  ALLOCATION_ORDERS,
  caseStateQuery,
  decideMeasureUpdate,
  litigationStateQuery,
  litigationWorkflowId,
  proposeMeasureUpdate,
  recordLegalCostUpdate,
  recordPaymentUpdate,
  reportMeasureUpdate,
  reportLitigationStepUpdate,
  settleLitigationUpdate,
  type ArrearsComponent,
  type CollectionPolicy,
  type LoanFacts,
} from '../../domain';
import { createCasesRepository } from '../../api/plugins/app/cases-repository';
import { caseStatesAsOf } from '../../api/routes/v1/reports';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { saveHistory } from '../support/histories';
import { OFFICER, SUPERVISOR, eventually, newLoan, open } from '../support/fixtures';
import { updateCase } from '../support/updates';

const DAY = 86_400_000;
const LAWYER = { sub: 'lawyer-chen', role: 'officer' } as const;

let h: CaseHarness;
let standard: CollectionPolicy;
let consumer: CollectionPolicy;
beforeAll(async () => {
  h = await startCaseHarness();
  const policy = (allocationOrder: ArrearsComponent[]) =>
    addPolicyVersion(h.db, {
      name: `arrears-${randomUUID().slice(0, 8)}`,
      description: 'real days; law from hand 1 so a suit can start at once',
      dayMs: DAY,
      maxPromiseDays: 14,
      hands: STANDARD_POLICY.hands,
      measureRules: { minHand: {}, compliance: { publicNotice: false }, autoPropose: [] },
      allocationOrder,
    });
  standard = await policy([...ALLOCATION_ORDERS.standard]);
  consumer = await policy([...ALLOCATION_ORDERS.consumer]);
});
afterAll(async () => {
  await h?.close();
});

const COMPONENTS = { fees: 50_000, penaltyInterest: 30_000, interest: 120_000, principal: 800_000 };

function loanWithComponents(overrides: Partial<LoanFacts> = {}): LoanFacts {
  return newLoan({ overdue: 1_000_000, outstanding: 5_000_000, arrears: COMPONENTS, ...overrides });
}

async function pay(caseId: string, amount: number, extra: { reference?: string; paidAt?: string; payer?: string } = {}) {
  const msg = {
    requestId: randomUUID(),
    by: OFFICER,
    amount,
    reference: extra.reference ?? `PAY-${randomUUID().slice(0, 8)}`,
    paidAt: extra.paidAt ?? new Date().toISOString(),
    ...(extra.payer ? { payer: extra.payer } : {}),
  };
  const result = await updateCase(h.client, h.db, caseId, recordPaymentUpdate, { args: [msg] });
  return { ...result, reference: msg.reference };
}

async function paymentRow(caseId: string, reference: string) {
  const [row] = await h.db.select().from(payments).where(and(eq(payments.caseId, caseId), eq(payments.reference, reference)));
  return row;
}

describe('partial payments pay the components in the policy\'s order', () => {
  it('standard order: fees, penalty interest, interest, then principal', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents(), standard);
    expect(opened.arrears).toEqual({ legalCosts: 0, ...COMPONENTS });

    const paid = await pay(opened.caseId, 100_000);
    expect(paid.case.arrears).toEqual({ legalCosts: 0, fees: 0, penaltyInterest: 0, interest: 100_000, principal: 800_000 });
    expect(paid.case).toMatchObject({ overdue: 900_000, outstanding: 4_900_000, recovered: 100_000, outcome: null, stage: 'collecting' });
    expect((await paymentRow(opened.caseId, paid.reference))?.allocation).toEqual({
      components: { fees: 50_000, penaltyInterest: 30_000, interest: 20_000 },
      toBalance: 0,
      creditToReturn: 0,
    });
    const row = await createCasesRepository(h.db).findCase(opened.caseId);
    expect(row?.arrears).toEqual(paid.case.arrears);
  });

  it('consumer-loan order: fees, then principal before interest', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents(), consumer);
    const paid = await pay(opened.caseId, 100_000);
    expect(paid.case.arrears).toEqual({ legalCosts: 0, fees: 0, penaltyInterest: 30_000, interest: 120_000, principal: 750_000 });
    expect((await paymentRow(opened.caseId, paid.reference))?.allocation?.components).toEqual({ fees: 50_000, principal: 50_000 });
  });

  it('a loan reported with a total only holds it all as principal', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, newLoan({ overdue: 400_000 }), standard);
    expect(opened.arrears).toEqual({ legalCosts: 0, fees: 0, penaltyInterest: 0, interest: 0, principal: 400_000 });
  });
});

describe('outcomes', () => {
  it('cured: the arrears cleared while a balance not yet due remains', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents(), standard);
    const paid = await pay(opened.caseId, 1_000_000);
    expect(paid.case).toMatchObject({ stage: 'recovered', outcome: 'cured', overdue: 0, outstanding: 4_000_000, recovered: 1_000_000, creditToReturn: 0 });
    const row = await createCasesRepository(h.db).findCase(opened.caseId);
    expect(row).toMatchObject({ outcome: 'cured', overdue: 0 });
  });

  it('repaid, and an overpayment is a credit to return, never recovered', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents({ outstanding: 1_000_000 }), standard);
    const paid = await pay(opened.caseId, 1_250_000);
    expect(paid.case).toMatchObject({ outcome: 'repaid', overdue: 0, outstanding: 0, recovered: 1_000_000, creditToReturn: 250_000 });
    expect((await paymentRow(opened.caseId, paid.reference))?.allocation).toMatchObject({ toBalance: 0, creditToReturn: 250_000 });
    const [recovered] = await h.db
      .select()
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, opened.caseId), eq(caseEvents.type, 'case_recovered')));
    expect(recovered?.payload).toMatchObject({ outcome: 'repaid', recovered: 1_000_000 });
  });

  it('a prepayment beyond the arrears pays down the balance, not the credit', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents({ outstanding: 1_500_000 }), standard);
    const paid = await pay(opened.caseId, 1_200_000);
    expect(paid.case).toMatchObject({ outcome: 'cured', outstanding: 300_000, recovered: 1_200_000, creditToReturn: 0 });
    expect((await paymentRow(opened.caseId, paid.reference))?.allocation).toMatchObject({ toBalance: 200_000, creditToReturn: 0 });
  });

  it('a back-dated payment ends collection as of its date', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents(), standard);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const paidAt = new Date(Date.parse(opened.openedAt) + 500).toISOString();
    const paid = await pay(opened.caseId, 1_000_000, { paidAt });
    expect(paid.case.closedAt).toBe(paidAt);
    // Paid before the case was opened: closed as of the opening, never before it.
    const { case: early } = await open(h.client, h.taskQueue, loanWithComponents(), standard);
    const before = await pay(early.caseId, 1_000_000, { paidAt: new Date(Date.parse(early.openedAt) - DAY).toISOString() });
    expect(before.case.closedAt).toBe(early.openedAt);
  });

  it('the ledger filters by outcome and by policy version', async () => {
    const repository = createCasesRepository(h.db);
    const cured = await repository.listCases({ outcome: 'cured', policyName: standard.name, policyVersion: standard.version }, null, 100);
    expect(cured.length).toBeGreaterThanOrEqual(3);
    expect(cured.every((c) => c.outcome === 'cured' && c.policyName === standard.name)).toBe(true);
    const consumerCases = await repository.listCases({ policyName: consumer.name }, null, 100);
    expect(consumerCases.map((c) => c.policyVersion)).toEqual([consumer.version]);
  });
});

describe('a suit: legal costs recovered first, and a settlement that ends the case', () => {
  async function suitFor(caseId: string) {
    const handle = h.client.workflow.getHandle(caseId);
    const measureId = randomUUID();
    await handle.executeUpdate(proposeMeasureUpdate, {
      args: [{ requestId: randomUUID(), by: OFFICER, measureId, type: 'litigation', rationale: 'no contact for months', expectedRecovery: 600_000 }],
    });
    await handle.executeUpdate(decideMeasureUpdate, {
      args: [{ requestId: randomUUID(), by: SUPERVISOR, measureId, decision: 'approve', reason: 'file it' }],
    });
    await handle.executeUpdate(reportMeasureUpdate, {
      args: [{ requestId: randomUUID(), by: OFFICER, measureId, status: 'in_progress', note: 'lawyer instructed' }],
    });
    const suit = h.client.workflow.getHandle(litigationWorkflowId(caseId, measureId));
    await eventually(() => suit.query(litigationStateQuery));
    return { measureId, suit };
  }

  it('charges a legal cost to the borrower and recovers it before the interest', async () => {
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents(), standard);
    const { suit } = await suitFor(opened.caseId);
    await suit.executeUpdate(recordLegalCostUpdate, { args: [{ requestId: randomUUID(), by: LAWYER, amount: 40_000, description: 'court fee' }] });
    const handle = h.client.workflow.getHandle(opened.caseId);
    const charged = await eventually(async () => {
      const view = await handle.query(caseStateQuery);
      return view.arrears.legalCosts === 40_000 ? view : undefined;
    });
    expect(charged).toMatchObject({ overdue: 1_040_000, outstanding: 5_040_000, legalCosts: 40_000 });
    const paid = await pay(opened.caseId, 100_000);
    expect((await paymentRow(opened.caseId, paid.reference))?.allocation?.components).toEqual({ legalCosts: 40_000, fees: 50_000, penaltyInterest: 10_000 });
    await saveHistory('v4-legal-costs-recovered-first', await handle.fetchHistory());
  });

  it('a policy that does not recover legal costs records them without charging the borrower', async () => {
    const policy = await addPolicyVersion(h.db, { ...standard, allocationOrder: ['fees', 'penaltyInterest', 'interest', 'principal'] });
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents(), policy);
    const { suit } = await suitFor(opened.caseId);
    await suit.executeUpdate(recordLegalCostUpdate, { args: [{ requestId: randomUUID(), by: LAWYER, amount: 40_000, description: 'court fee' }] });
    const handle = h.client.workflow.getHandle(opened.caseId);
    const recorded = await eventually(async () => {
      const view = await handle.query(caseStateQuery);
      return view.legalCosts === 40_000 ? view : undefined;
    });
    expect(recorded).toMatchObject({ overdue: 1_000_000, arrears: { legalCosts: 0 } });
  });

  it('a settlement after filing: once its amount is paid the rest is waived and the case ends settled', async () => {
    const branch = `ST${randomUUID().slice(0, 6)}`;
    const { case: opened } = await open(h.client, h.taskQueue, loanWithComponents({ branch }), standard);
    const { measureId, suit } = await suitFor(opened.caseId);
    for (const [step, date] of [['assess', '2025-03-01'], ['file_prepared', '2025-03-08'], ['lawyer_assigned', '2025-03-10'], ['filed', '2025-03-20']] as const) {
      await suit.executeUpdate(reportLitigationStepUpdate, { args: [{ requestId: randomUUID(), by: LAWYER, step, date, documents: ['(2025)京0105民初1号'] }] });
    }
    await suit.executeUpdate(settleLitigationUpdate, { args: [{ requestId: randomUUID(), by: LAWYER, terms: 'pays 700,000 by month end', amount: 700_000 }] });
    const handle = h.client.workflow.getHandle(opened.caseId);
    const agreed = await eventually(async () => {
      const view = await handle.query(caseStateQuery);
      return view.settlement ? view : undefined;
    });
    expect(agreed.settlement).toMatchObject({ measureId, amount: 700_000, paid: 0 });

    const part = await pay(opened.caseId, 400_000);
    expect(part.case).toMatchObject({ stage: 'collecting', outcome: null, settlement: { paid: 400_000 } });
    const rest = await pay(opened.caseId, 300_000);
    expect(rest.case).toMatchObject({ stage: 'recovered', outcome: 'settled', overdue: 0, recovered: 700_000, outstanding: 4_000_000 });
    const [waived] = await h.db
      .select()
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, opened.caseId), eq(caseEvents.type, 'arrears_waived')));
    expect(waived?.payload).toMatchObject({ measureId, settlement: 700_000, paid: 700_000, total: 300_000 });
    const row = await createCasesRepository(h.db).findCase(opened.caseId);
    expect(row).toMatchObject({ outcome: 'settled', overdue: 0 });
    // The portfolio, rebuilt from the trail, sees the waiver too.
    const tomorrow = new Date(Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`) + DAY);
    expect(await caseStatesAsOf(h.db, tomorrow, branch)).toEqual([
      expect.objectContaining({ caseId: opened.caseId, stage: 'recovered', outcome: 'settled', overdue: 0, outstanding: 4_000_000, recovered: 700_000 }),
    ]);
    await saveHistory('v4-settlement-honoured', await handle.fetchHistory());
  });
});
