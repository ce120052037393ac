/**
 * Recovery likelihood (回收可能性: 大 / 较难 / 不可能) and amount tiers for large-customer
 * management, both computed by the policy's rules from what the case knows, so that every
 * automatic classification names the rule and the policy version that made it.
 */
import type { ContactOutcome } from './case';

export const LIKELIHOODS = ['likely', 'difficult', 'unlikely'] as const;
export type Likelihood = (typeof LIKELIHOODS)[number];

/** What a rule looks at; every condition it names must hold. */
export interface ClassificationCondition {
  /** Collateral value as a percentage of the outstanding balance. */
  minCollateralCoveragePct?: number;
  maxCollateralCoveragePct?: number;
  minDaysPastDue?: number;
  maxDaysPastDue?: number;
  /** Promises to pay broken in this episode. */
  minBrokenPromises?: number;
  hasGuarantors?: boolean;
  /** The outcome of the latest contact is one of these. */
  lastContactOutcomes?: ContactOutcome[];
}

export interface ClassificationRule {
  rule: string;
  likelihood: Likelihood;
  when: ClassificationCondition;
}

/** Rules in order, the first that holds decides; `otherwise` when none does. */
export interface ClassificationRules {
  rules: ClassificationRule[];
  otherwise: Likelihood;
}

/** Tiers by outstanding balance (minor units), largest first; below the last: `small`. */
export interface AmountTier {
  tier: string;
  minOutstanding: number;
}

export const DEFAULT_CLASSIFICATION: ClassificationRules = {
  rules: [
    { rule: 'collateral_covers_balance', likelihood: 'likely', when: { minCollateralCoveragePct: 100 } },
    { rule: 'promises_broken_repeatedly', likelihood: 'unlikely', when: { minBrokenPromises: 3 } },
    { rule: 'long_overdue_unsecured', likelihood: 'unlikely', when: { minDaysPastDue: 180, maxCollateralCoveragePct: 50, hasGuarantors: false } },
    { rule: 'borrower_unreachable', likelihood: 'difficult', when: { lastContactOutcomes: ['refused', 'wrong_number'] } },
    { rule: 'guaranteed_early', likelihood: 'likely', when: { hasGuarantors: true, maxDaysPastDue: 90 } },
  ],
  otherwise: 'difficult',
};

/** 10 million and 1 million in minor units of the case's currency (e.g. CNY fen). */
export const DEFAULT_AMOUNT_TIERS: AmountTier[] = [
  { tier: 'large', minOutstanding: 1_000_000_000 },
  { tier: 'medium', minOutstanding: 100_000_000 },
];
export const SMALLEST_TIER = 'small';

export interface ClassificationFacts {
  collateralCoveragePct: number;
  daysPastDue: number;
  brokenPromises: number;
  hasGuarantors: boolean;
  lastContactOutcome: ContactOutcome | null;
}

function holds(when: ClassificationCondition, facts: ClassificationFacts): boolean {
  return (
    (when.minCollateralCoveragePct === undefined || facts.collateralCoveragePct >= when.minCollateralCoveragePct) &&
    (when.maxCollateralCoveragePct === undefined || facts.collateralCoveragePct <= when.maxCollateralCoveragePct) &&
    (when.minDaysPastDue === undefined || facts.daysPastDue >= when.minDaysPastDue) &&
    (when.maxDaysPastDue === undefined || facts.daysPastDue <= when.maxDaysPastDue) &&
    (when.minBrokenPromises === undefined || facts.brokenPromises >= when.minBrokenPromises) &&
    (when.hasGuarantors === undefined || facts.hasGuarantors === when.hasGuarantors) &&
    (when.lastContactOutcomes === undefined || (facts.lastContactOutcome !== null && when.lastContactOutcomes.includes(facts.lastContactOutcome)))
  );
}

/** The likelihood the rules give, and the rule that gave it (`otherwise` when none held). */
export function classify(rules: ClassificationRules, facts: ClassificationFacts): { likelihood: Likelihood; rule: string } {
  const match = rules.rules.find((r) => holds(r.when, facts));
  return match ? { likelihood: match.likelihood, rule: match.rule } : { likelihood: rules.otherwise, rule: 'otherwise' };
}

export function amountTier(tiers: readonly AmountTier[], outstanding: number): string {
  return tiers.find((t) => outstanding >= t.minOutstanding)?.tier ?? SMALLEST_TIER;
}

/** Every reason a policy's classification rules or tiers are unusable. */
export function classificationProblems(rules: ClassificationRules | undefined, tiers: AmountTier[] | undefined): string[] {
  const problems: string[] = [];
  rules?.rules.forEach((r, i) => {
    if (rules.rules.findIndex((x) => x.rule === r.rule) !== i) problems.push(`classification.rules[${i}].rule repeats the rule name ${r.rule}`);
    const w = r.when;
    if (Object.keys(w).length === 0) problems.push(`classification.rules[${i}].when must name at least one condition`);
    if (w.minDaysPastDue !== undefined && w.maxDaysPastDue !== undefined && w.minDaysPastDue > w.maxDaysPastDue) {
      problems.push(`classification.rules[${i}].when.maxDaysPastDue must not be less than minDaysPastDue`);
    }
    if (w.minCollateralCoveragePct !== undefined && w.maxCollateralCoveragePct !== undefined && w.minCollateralCoveragePct > w.maxCollateralCoveragePct) {
      problems.push(`classification.rules[${i}].when.maxCollateralCoveragePct must not be less than minCollateralCoveragePct`);
    }
  });
  tiers?.forEach((t, i) => {
    const previous = tiers[i - 1];
    if (previous && !(t.minOutstanding < previous.minOutstanding)) {
      problems.push(`amountTiers[${i}].minOutstanding must be below amountTiers[${i - 1}].minOutstanding: tiers run largest first`);
    }
    if (t.tier === SMALLEST_TIER || tiers.findIndex((x) => x.tier === t.tier) !== i) {
      problems.push(`amountTiers[${i}].tier must be unique and not "${SMALLEST_TIER}" (the tier below the last)`);
    }
  });
  return problems;
}
