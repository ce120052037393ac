/** The vocabulary of a collection case, shared by workflows, activities and the API. */

/** `restructured`: a restructuring or extension replaced the arrears with a schedule the case
 * watches; the ladder waits meanwhile. */
export const CASE_STAGES = ['collecting', 'paused', 'restructured', 'recovered', 'written_off'] as const;
export type CaseStage = (typeof CASE_STAGES)[number];
/** Collection has ended: arrears recovered, or the debt written off (呆账核销). A written-off case
 * still takes payments, credited as recovery of written-off debt. */
export const CLOSED_STAGES: readonly CaseStage[] = ['recovered', 'written_off'];

/** The conclusion of an accountability finding (责任认定) after a write-off. */
export const FINDING_CONCLUSIONS = ['no_fault', 'process_failure', 'individual_fault'] as const;
export type FindingConclusion = (typeof FINDING_CONCLUSIONS)[number];

/** Hands 1–6: rounds of collection pressure (一手 … 六手). */
export const HANDS = [1, 2, 3, 4, 5, 6] as const;
export type Hand = (typeof HANDS)[number];
export const LAST_HAND: Hand = 6;

/** Hands 1–2 deter (靠吓), 3–4 persist (靠磨), 5–6 use the law (靠法). */
export const APPROACHES = ['deterrence', 'persistence', 'law'] as const;
export type Approach = (typeof APPROACHES)[number];

export const CONTACT_CHANNELS = ['phone', 'sms', 'visit', 'letter', 'email', 'wechat'] as const;
export type ContactChannel = (typeof CONTACT_CHANNELS)[number];

export const CONTACT_OUTCOMES = [
  'answered',
  'no_answer',
  'promise_to_pay',
  'refused',
  'dispute',
  'wrong_number',
] as const;
export type ContactOutcome = (typeof CONTACT_OUTCOMES)[number];

export const PAUSE_REASONS = ['dispute', 'hardship', 'legal_hold', 'bankruptcy', 'complaint'] as const;
export type PauseReason = (typeof PAUSE_REASONS)[number];

export const ROLES = ['officer', 'supervisor', 'admin', 'system'] as const;
export type Role = (typeof ROLES)[number];

export const COLLATERAL_KINDS = ['real_estate', 'vehicle', 'equipment', 'deposit', 'receivables', 'other'] as const;
export type CollateralKind = (typeof COLLATERAL_KINDS)[number];

/** Who sent a message: the authenticated caller, carried in the payload because a signal's
 * Temporal identity names the API process, not the person. */
export interface Actor {
  sub: string;
  role: Role;
}

export interface Collateral {
  kind: CollateralKind;
  description: string;
  value: number;
}

export interface Party {
  name: string;
  idNumber: string;
  phone: string;
}

export function workflowIdForLoan(loanId: string): string {
  return `case-${loanId}`;
}
