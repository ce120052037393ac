import type { Approach, Hand } from './case';
import { HANDS } from './case';
import type { MeasureRules } from './measures';

export const NOTIFICATION_CHANNELS = ['sms', 'letter', 'email', 'wechat'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export const RECIPIENTS = ['borrower', 'guarantors'] as const;
export type Recipient = (typeof RECIPIENTS)[number];

export const TASK_TYPES = ['call', 'visit', 'small_payment_plan', 'legal_review', 'litigation_referral', 'litigation_step_overdue'] as const;
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
}

export const DAY_MS = 86_400_000;

/** Reasons a ladder is unusable; empty when the policy is valid. */
export function policyProblems(policy: Pick<CollectionPolicy, 'dayMs' | 'maxPromiseDays' | 'hands'>): string[] {
  const problems: string[] = [];
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
  });
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
