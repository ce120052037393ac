/**
 * Arrears by component (欠款构成) and how a payment pays them. A partial payment pays the
 * components in the order the policy states; what the arrears do not take pays down the balance
 * not yet due, and only what exceeds everything owed is a credit to return to the payer.
 */

/** `legalCosts`: costs of suits charged to the borrower, where the policy recovers them. */
export const ARREARS_COMPONENTS = ['legalCosts', 'fees', 'penaltyInterest', 'interest', 'principal'] as const;
export type ArrearsComponent = (typeof ARREARS_COMPONENTS)[number];
export type Arrears = Record<ArrearsComponent, number>;

/** What the repayment-fund check reports: every component but legal costs, which suits add. */
export const REPORTED_COMPONENTS = ['fees', 'penaltyInterest', 'interest', 'principal'] as const;
export type ReportedComponent = (typeof REPORTED_COMPONENTS)[number];
export type ReportedArrears = Partial<Record<ReportedComponent, number>>;

/** The usual order (costs → interest → principal) and the consumer-loan variant (costs →
 * principal → interest). Legal costs are recovered only where the order names them. */
export const ALLOCATION_ORDERS = {
  standard: ['legalCosts', 'fees', 'penaltyInterest', 'interest', 'principal'],
  consumer: ['legalCosts', 'fees', 'principal', 'interest', 'penaltyInterest'],
} as const satisfies Record<string, readonly ArrearsComponent[]>;
export const DEFAULT_ALLOCATION_ORDER: readonly ArrearsComponent[] = ALLOCATION_ORDERS.standard;

/** How collection ended: the arrears cleared and the loan current again (cured), nothing left
 * owing (repaid), a settlement agreement honoured (settled), or the debt written off. */
export const CASE_OUTCOMES = ['cured', 'repaid', 'settled', 'written_off'] as const;
export type CaseOutcome = (typeof CASE_OUTCOMES)[number];

export function noArrears(): Arrears {
  return { legalCosts: 0, fees: 0, penaltyInterest: 0, interest: 0, principal: 0 };
}

/** The opening arrears: as reported, or, where intake reports only a total, all principal. */
export function openingArrears(overdue: number, reported: ReportedArrears | undefined): Arrears {
  const arrears = noArrears();
  if (!reported || Object.keys(reported).length === 0) {
    arrears.principal = overdue;
    return arrears;
  }
  for (const component of REPORTED_COMPONENTS) arrears[component] = reported[component] ?? 0;
  return arrears;
}

export function totalOf(arrears: Partial<Arrears>): number {
  return ARREARS_COMPONENTS.reduce((sum, c) => sum + (arrears[c] ?? 0), 0);
}

/** Why reported components cannot stand for a total overdue; null when they can. */
export function reportedArrearsProblem(overdue: number, reported: ReportedArrears | undefined): string | null {
  if (!reported || Object.keys(reported).length === 0) return null;
  const sum = totalOf(reported);
  return sum === overdue ? null : `components sum to ${sum}, not to overdue (${overdue})`;
}

export interface PaymentAllocation {
  /** What the payment paid of each component (components it did not reach are absent). */
  components: Partial<Arrears>;
  /** Paid towards the balance not yet due (a prepayment). */
  toBalance: number;
  /** Beyond everything owed: recorded to return, never counted as recovered. */
  creditToReturn: number;
}

/**
 * Pays `amount` into `arrears` (changed in place) in `order`, then into `notYetDue`. Components
 * the order leaves out are not paid by it.
 */
export function payArrears(
  arrears: Arrears,
  amount: number,
  notYetDue: number,
  order: readonly ArrearsComponent[],
): PaymentAllocation {
  let left = amount;
  const components: Partial<Arrears> = {};
  for (const component of order) {
    const paid = Math.min(left, arrears[component]);
    if (paid === 0) continue;
    arrears[component] -= paid;
    components[component] = paid;
    left -= paid;
  }
  const toBalance = Math.min(left, Math.max(0, notYetDue));
  return { components, toBalance, creditToReturn: left - toBalance };
}

/** Every reason an allocation order is unusable; empty when it is valid. */
export function allocationOrderProblems(order: unknown, field = 'allocationOrder'): string[] {
  if (!Array.isArray(order)) return [`${field} must be a list of arrears components`];
  const problems: string[] = [];
  order.forEach((c, i) => {
    if (!(ARREARS_COMPONENTS as readonly unknown[]).includes(c)) {
      problems.push(`${field}[${i}] must be one of ${ARREARS_COMPONENTS.join(', ')}`);
    } else if (order.indexOf(c) !== i) problems.push(`${field}[${i}] repeats ${String(c)}`);
  });
  for (const c of REPORTED_COMPONENTS) {
    if (!order.includes(c)) problems.push(`${field} must name ${c}: a payment must be able to pay every reported component`);
  }
  return problems;
}
