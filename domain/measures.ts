/**
 * The plan per household (一户一策): the measures chosen for a case, each with its own
 * lifecycle. Pure: the workflow, the activities and the API share it.
 */
import type { Actor, Hand } from './case';
import type { LitigationStep } from './litigation';

/** 上门催收, 要求担保人代偿, 变现抵押资产, 代收租金, 贷款重组, 贷款展期, 司法起诉, 张贴大字报, other. */
export const MEASURE_TYPES = [
  'field_visit',
  'guarantor_claim',
  'collateral_sale',
  'rent_collection',
  'restructuring',
  'extension',
  'litigation',
  'public_notice',
  'other',
] as const;
export type MeasureType = (typeof MEASURE_TYPES)[number];

export const MEASURE_STATES = ['proposed', 'approved', 'rejected', 'in_progress', 'succeeded', 'failed', 'cancelled'] as const;
export type MeasureState = (typeof MEASURE_STATES)[number];

/** A measure still under way: at most one of each type per case. */
export const OPEN_MEASURE_STATES: readonly MeasureState[] = ['proposed', 'approved', 'in_progress'];

/** Measures that carry their own schedule: while one is in progress the ladder waits. */
export const SCHEDULED_MEASURE_TYPES: readonly MeasureType[] = ['restructuring', 'extension', 'litigation'];

/** The states a progress report may move a measure to, from each state. */
export const MEASURE_TRANSITIONS: Readonly<Partial<Record<MeasureState, readonly MeasureState[]>>> = {
  approved: ['in_progress', 'cancelled'],
  in_progress: ['in_progress', 'succeeded', 'failed', 'cancelled'],
};

export const MEASURE_DECISIONS = ['approve', 'reject'] as const;
export type MeasureDecision = (typeof MEASURE_DECISIONS)[number];

/** A policy's own proposal: on entering `atHand`, when the loan has what `when` names. */
export interface AutoProposalRule {
  rule: string;
  atHand: Hand;
  type: MeasureType;
  when: 'always' | 'has_guarantors' | 'secured';
  rationale: string;
}

/** What a policy says about measures. Policies written before measures carry none and run by
 * `DEFAULT_MEASURE_RULES`. */
export interface MeasureRules {
  /** The lowest hand at which each type may be proposed (law only from the law hands: 靠法). */
  minHand: Partial<Record<MeasureType, Hand>>;
  /** Compliance flags: public notices (张贴大字报) are legally sensitive and off unless allowed. */
  compliance: { publicNotice: boolean };
  autoPropose: AutoProposalRule[];
  /** Case days a guarantor has to pay a claim before it is missed (absent: 15). */
  guarantorClaimDays?: number;
  /** Case days each step of a suit may take after the one before (absent: the defaults). */
  litigationStepDays?: Partial<Record<LitigationStep, number>>;
  /** A restructuring's (or extension's) watch: case days of grace after an instalment's date,
   * and the misses after which it fails (absent: 3 and 2). */
  restructuring?: { graceDays: number; maxMisses: number };
  /** Where escalation resumes when a measure the ladder waited for fails (absent: the hand the
   * case left). */
  reentryHand?: Hand;
}

export const DEFAULT_RESTRUCTURING = { graceDays: 3, maxMisses: 2 } as const;

/** Measures whose proceeds (a collateral sale, collected rent) are recorded and allocated to the
 * household's cases they cover. */
export const PROCEEDS_MEASURE_TYPES: readonly MeasureType[] = ['collateral_sale', 'rent_collection'];

/** Measures that may cover several cases of the household: proceeds shared among them, or a
 * guarantor backing several loans whose payments under the claim are shared likewise. */
export const COVERING_MEASURE_TYPES: readonly MeasureType[] = [...PROCEEDS_MEASURE_TYPES, 'guarantor_claim'];

/** How a measure covering several cases shares what it recovers: pro rata to each case's
 * arrears, or the case overdue longest first. */
export const ALLOCATION_RULES = ['pro_rata', 'oldest_first'] as const;
export type AllocationRule = (typeof ALLOCATION_RULES)[number];

export const COLLATERAL_STATUSES = ['held', 'seized', 'for_sale', 'sold'] as const;
export type CollateralStatus = (typeof COLLATERAL_STATUSES)[number];

export interface ProceedsView {
  reference: string;
  gross: number;
  costs: number;
  net: number;
  /** The net, shared among the cases the measure covers. */
  allocated: { caseId: string; amount: number }[];
  at: string;
}

/** Shares `net` among cases by the rule: pro rata to their arrears (the remainder to the
 * largest), or the longest overdue first; never more than a case's arrears. Pure. */
export function allocate(
  net: number,
  cases: { caseId: string; overdue: number; overdueSince: string }[],
  rule: AllocationRule,
): { caseId: string; amount: number }[] {
  const owed = cases.filter((c) => c.overdue > 0);
  const total = owed.reduce((sum, c) => sum + c.overdue, 0);
  const available = Math.min(net, total);
  if (available <= 0) return [];
  if (rule === 'oldest_first') {
    let left = available;
    return [...owed]
      .sort((a, b) => (a.overdueSince < b.overdueSince ? -1 : a.overdueSince > b.overdueSince ? 1 : a.caseId < b.caseId ? -1 : 1))
      .map((c) => {
        const amount = Math.min(left, c.overdue);
        left -= amount;
        return { caseId: c.caseId, amount };
      })
      .filter((x) => x.amount > 0);
  }
  const shares = owed.map((c) => ({ caseId: c.caseId, amount: Math.floor((available * c.overdue) / total), overdue: c.overdue }));
  let remainder = available - shares.reduce((sum, x) => sum + x.amount, 0);
  for (const share of [...shares].sort((a, b) => b.overdue - a.overdue)) {
    if (remainder === 0) break;
    const extra = Math.min(remainder, share.overdue - share.amount);
    share.amount += extra;
    remainder -= extra;
  }
  return shares.filter((x) => x.amount > 0).map(({ caseId, amount }) => ({ caseId, amount }));
}

/** Measures that replace the arrears with a schedule of instalments. */
export const SCHEDULED_REPAYMENT_TYPES: readonly MeasureType[] = ['restructuring', 'extension'];

export interface InstalmentView {
  /** The case-calendar date by the end of which (plus grace) it is due. */
  dueDate: string;
  amount: number;
  paid: number;
  status: 'due' | 'paid' | 'missed';
}

export const DEFAULT_LITIGATION_STEP_DAYS: Record<LitigationStep, number> = {
  assess: 5,
  file_prepared: 10,
  lawyer_assigned: 5,
  filed: 10,
  hearing: 60,
  judgment: 30,
  enforcement: 30,
  closed: 180,
};

export const DEFAULT_GUARANTOR_CLAIM_DAYS = 15;

export const DEFAULT_MEASURE_RULES: MeasureRules = {
  minHand: { litigation: 5, public_notice: 5 },
  compliance: { publicNotice: false },
  autoPropose: [
    {
      rule: 'guarantor_claim_at_hand_4',
      atHand: 4,
      type: 'guarantor_claim',
      when: 'has_guarantors',
      rationale: 'Hand 4 with guarantors: demand that the guarantors pay in the borrower\'s place',
    },
    {
      rule: 'litigation_at_hand_6_secured',
      atHand: 6,
      type: 'litigation',
      when: 'secured',
      rationale: 'Hand 6 on a secured loan: file suit first, negotiate afterwards',
    },
  ],
};

export interface MeasureDecisionView {
  decision: MeasureDecision;
  by: Actor;
  at: string;
  reason: string;
}

/** One measure of the plan, as the case, the ledger and the API show it. */
export interface MeasureView {
  measureId: string;
  type: MeasureType;
  state: MeasureState;
  rationale: string;
  /** Minor units of the case currency the proposer expects it to recover. */
  expectedRecovery: number;
  proposedBy: Actor;
  proposedAt: string;
  /** The policy rule that proposed it, when the policy did. */
  rule: { policy: string; version: number; rule: string } | null;
  decision: MeasureDecisionView | null;
  startedAt: string | null;
  endedAt: string | null;
  /** The last progress note. */
  lastNote: string | null;
  /** Whom it is against, where it names them: `borrower`, `guarantor:<n>` (litigation after a
   * failed guarantor claim includes the guarantors). Absent on measures before parties. */
  parties?: string[];
  /** Restructuring and extension: the new schedule, watched instalment by instalment. */
  schedule?: InstalmentView[];
  /** A measure covering several cases of the household: their ids (this case's first) and how
   * its recoveries are shared. */
  covers?: string[];
  allocation?: AllocationRule;
  /** Collateral sale and rent collection: what they brought in, and where it went. */
  proceeds?: ProceedsView[];
}
