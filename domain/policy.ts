import { allocationOrderProblems, type ArrearsComponent } from './arrears';
import type { Approach, Hand } from './case';
import { classificationProblems, type AmountTier, type ClassificationRules } from './classification';
import { HANDS } from './case';
import type { MeasureRules } from './measures';

export const NOTIFICATION_CHANNELS = ['sms', 'letter', 'email', 'wechat'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export const RECIPIENTS = ['borrower', 'guarantors'] as const;
export type Recipient = (typeof RECIPIENTS)[number];

export const TASK_TYPES = [
  'call',
  'visit',
  'small_payment_plan',
  'legal_review',
  'litigation_referral',
  'litigation_step_overdue',
  'phone_follow_up',
] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export interface NotifyAction {
  kind: 'notify';
  channel: NotificationChannel;
  template: string;
  recipient: Recipient;
}

export interface TaskAction {
  kind: 'task';
  task: TaskType;
  /** Case days from entering the hand until the task is due. */
  dueInDays: number;
  /** Set for work that repeats while the case stays in the hand (hand 4's repeated visits). */
  repeatEveryDays?: number;
}

export type HandAction = NotifyAction | TaskAction;

export interface HandRule {
  hand: Hand;
  /** Days past due, less paused days, at which the case enters this hand. */
  entersAtDay: number;
  approach: Approach;
  actions: HandAction[];
}

/** One version of a named collection policy: the escalation ladder as data. Versions are
 * immutable; a case keeps the version it opened with. */
export interface CollectionPolicy {
  name: string;
  version: number;
  description: string;
  /** Length of one case day in milliseconds. A real policy uses 86 400 000; demo and test
   * policies run a compressed calendar so that a whole ladder takes seconds. */
  dayMs: number;
  /** Furthest a promise to pay may lie ahead, in case days. */
  maxPromiseDays: number;
  hands: HandRule[];
  /** What the policy says about the plan's measures; absent in policies written before them. */
  measureRules?: MeasureRules;
  /** The order in which a partial payment pays the arrears' components; legal costs are charged
   * to the borrower and recovered only where it names them. Absent: `DEFAULT_ALLOCATION_ORDER`. */
  allocationOrder?: ArrearsComponent[];
  /** Supervisors' phone follow-ups on officers' work (定期电话回访): a task for the branch's
   * supervisors every `everyDays` case days once the case reaches `fromHand`. Absent: none. */
  followUps?: FollowUpRule;
  /** Recovery likelihood rules (absent: `DEFAULT_CLASSIFICATION`). */
  classification?: ClassificationRules;
  /** Amount tiers, largest first (absent: `DEFAULT_AMOUNT_TIERS`). */
  amountTiers?: AmountTier[];
  /** Case days a closed case keeps its borrower's and guarantors' personal data before the
   * retention job erases it (the ledger's figures and the business trail stay). Absent: kept. */
  personalDataRetentionDays?: number;
}

export interface FollowUpRule {
  everyDays: number;
  fromHand: Hand;
}

export const DAY_MS = 86_400_000;
/** A century of case days: the longest retention a policy may set. */
export const MAX_RETENTION_DAYS = 36_500;

/** Every reason a policy version is unusable, each starting with the field it concerns; empty
 * when the policy is valid. Checks what a schema cannot: order, completeness, consistency. */
export function policyProblems(
  policy: Omit<CollectionPolicy, 'name' | 'version' | 'description'>,
): string[] {
  const problems: string[] = [];
  const retention = policy.personalDataRetentionDays;
  if (retention !== undefined && !(Number.isSafeInteger(retention) && retention >= 1 && retention <= MAX_RETENTION_DAYS)) {
    problems.push(`personalDataRetentionDays must be an integer from 1 to ${MAX_RETENTION_DAYS}`);
  }
  if (policy.allocationOrder !== undefined) problems.push(...allocationOrderProblems(policy.allocationOrder));
  if (!Number.isSafeInteger(policy.dayMs) || policy.dayMs < 100) problems.push('dayMs must be an integer of at least 100');
  if (!Number.isSafeInteger(policy.maxPromiseDays) || policy.maxPromiseDays < 1) {
    problems.push('maxPromiseDays must be a positive integer');
  }
  if (policy.hands.length !== HANDS.length) problems.push(`hands must list all ${HANDS.length} hands`);
  policy.hands.forEach((rule, i) => {
    if (rule.hand !== HANDS[i]) problems.push(`hands[${i}].hand must be ${HANDS[i]}`);
    if (i === 0 && rule.entersAtDay !== 0) problems.push('hands[0].entersAtDay must be 0: a case starts in hand 1');
    const previous = policy.hands[i - 1];
    if (previous && !(rule.entersAtDay > previous.entersAtDay)) {
      problems.push(`hands[${i}].entersAtDay must be later than hands[${i - 1}].entersAtDay`);
    }
    problems.push(...actionProblems(rule, `hands[${i}]`));
  });
  if (policy.measureRules) problems.push(...measureRuleProblems(policy.measureRules));
  problems.push(...classificationProblems(policy.classification, policy.amountTiers));
  return problems;
}

function actionProblems(rule: HandRule, at: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  rule.actions.forEach((action, j) => {
    const key = action.kind === 'notify' ? `notify:${action.channel}:${action.template}:${action.recipient}` : `task:${action.task}`;
    if (seen.has(key)) problems.push(`${at}.actions[${j}] repeats an earlier action of the hand (${key})`);
    seen.add(key);
    if (action.kind === 'task' && action.repeatEveryDays !== undefined && !(action.repeatEveryDays >= 1)) {
      problems.push(`${at}.actions[${j}].repeatEveryDays must be at least 1`);
    }
  });
  return problems;
}

function measureRuleProblems(rules: MeasureRules): string[] {
  const problems: string[] = [];
  rules.autoPropose.forEach((proposal, i) => {
    const minHand = rules.minHand[proposal.type];
    if (minHand !== undefined && proposal.atHand < minHand) {
      problems.push(`measureRules.autoPropose[${i}].atHand must be at least ${minHand}, the lowest hand for ${proposal.type} (measureRules.minHand)`);
    }
    if (proposal.type === 'public_notice' && !rules.compliance.publicNotice) {
      problems.push(`measureRules.autoPropose[${i}].type must not be public_notice while measureRules.compliance.publicNotice is false`);
    }
    if (rules.autoPropose.findIndex((x) => x.rule === proposal.rule) !== i) {
      problems.push(`measureRules.autoPropose[${i}].rule repeats the rule name ${proposal.rule}`);
    }
  });
  if (rules.restructuring && !(rules.restructuring.maxMisses >= 1)) problems.push('measureRules.restructuring.maxMisses must be at least 1');
  return problems;
}

/** The hand a case's days dictate: the last hand whose entry point the days have reached. */
export function handForLadderDays(policy: CollectionPolicy, ladderDays: number): Hand {
  let hand: Hand = 1;
  for (const rule of policy.hands) if (ladderDays >= rule.entersAtDay) hand = rule.hand;
  return hand;
}

export function ruleFor(policy: CollectionPolicy, hand: Hand): HandRule {
  const rule = policy.hands.find((r) => r.hand === hand);
  if (!rule) throw new Error(`policy ${policy.name} v${policy.version} has no hand ${hand}`);
  return rule;
}
