/**
 * Litigation (司法起诉): a child workflow of the case that follows the suit step by step, raises
 * overdue tasks when a step runs late, keeps the legal costs, and tells the case how it ended.
 * After filing, negotiation goes on: a settlement agreement ends the suit. Its contract, shared
 * by both workflows, the activities, the API and the tests.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { MessageMeta } from './messages';

export const LITIGATION_WORKFLOW_TYPE = 'litigation';

export function litigationWorkflowId(caseId: string, measureId: string): string {
  return `${caseId}/litigation/${measureId}`;
}

/** The suit's steps, in order: assess → prepare the file → hand it to a lawyer → file → hearing →
 * judgment → enforcement → closed. */
export const LITIGATION_STEPS = [
  'assess',
  'file_prepared',
  'lawyer_assigned',
  'filed',
  'hearing',
  'judgment',
  'enforcement',
  'closed',
] as const;
export type LitigationStep = (typeof LITIGATION_STEPS)[number];

/** How a suit closes: recovered through judgment and enforcement, or enforcement exhausted
 * (the way to a write-off). */
export const LITIGATION_CLOSINGS = ['recovered', 'exhausted'] as const;
export type LitigationClosing = (typeof LITIGATION_CLOSINGS)[number];

export interface LitigationInput {
  caseId: string;
  measureId: string;
  currency: string;
  /** Whom the suit is against: `borrower`, `guarantor:<n>`. */
  parties: string[];
  /** Case days each step may take after the one before it; a late step raises an overdue task. */
  stepDays: Partial<Record<LitigationStep, number>>;
  /** Wall-clock ms of one case day (the case's calendar). */
  dayMs: number;
}

export interface LitigationStepRecord {
  step: LitigationStep;
  /** When it happened (YYYY-MM-DD). */
  date: string;
  /** Document references (court file numbers, filings). */
  documents: string[];
  note: string | null;
  by: MessageMeta['by'];
  at: string;
  /** The request that reported it (a retry after the suit ended is answered by it). */
  requestId: string;
}

export interface LitigationView {
  caseId: string;
  measureId: string;
  parties: string[];
  steps: LitigationStepRecord[];
  /** The next step expected, or null once closed or settled. */
  nextStep: LitigationStep | null;
  /** When the next step is due (ISO wall clock), or null. */
  nextStepDueAt: string | null;
  legalCosts: number;
  currency: string;
  settlement: { terms: string; amount: number; by: MessageMeta['by']; at: string; requestId: string } | null;
  outcome: LitigationOutcome | null;
  /** Each legal cost recorded, oldest first (`legalCosts` is their total). */
  costs: LitigationCostRecord[];
  /** Steps that ran late: each raised one overdue task for the case's officer. */
  overdue: LitigationOverdueRecord[];
  /** When the suit started (ISO wall clock). */
  startedAt: string;
  /** When it ended (ISO wall clock), or null while it runs. */
  endedAt: string | null;
  /** Why the case withdrew it, when it did. */
  withdrawnReason: string | null;
}

export interface LitigationCostRecord {
  amount: number;
  description: string;
  by: MessageMeta['by'];
  at: string;
  requestId: string;
}

/** A step not reported by its deadline: the overdue task raised for it (`officer_tasks`). */
export interface LitigationOverdueRecord {
  step: LitigationStep;
  /** When the step fell due (ISO wall clock). */
  dueAt: string;
  /** When the suit noticed and raised the task. */
  raisedAt: string;
  /** The task's id (`<measureId>:<step>:overdue`); null when the ledger could not take it. */
  taskId: string | null;
  /** Whom the task went to: the case's officer then (null when unassigned or not raised). */
  officerId: string | null;
}

/** The task an overdue step raises (activities/litigation.ts). */
export function litigationTaskId(measureId: string, step: LitigationStep): string {
  return `${measureId}:${step}:overdue`;
}

export type LitigationOutcome = 'recovered' | 'exhausted' | 'settled' | 'withdrawn';

export interface LitigationResult {
  measureId: string;
  outcome: LitigationOutcome;
  legalCosts: number;
  /** The agreement that ended a settled suit (absent from suits that ended before it was told). */
  settlement?: { amount: number };
}

export interface ReportLitigationStep extends MessageMeta {
  step: LitigationStep;
  date: string;
  documents: string[];
  note?: string;
  /** Required with `closed`: how the suit ended. */
  closing?: LitigationClosing;
}

export interface RecordLegalCost extends MessageMeta {
  amount: number;
  description: string;
}

export interface SettleLitigation extends MessageMeta {
  terms: string;
  /** What the settlement agreement recovers, in minor units. */
  amount: number;
}

export const reportLitigationStepUpdate = defineUpdate<LitigationView, [ReportLitigationStep]>('reportLitigationStep');
export const recordLegalCostUpdate = defineUpdate<LitigationView, [RecordLegalCost]>('recordLegalCost');
export const settleLitigationUpdate = defineUpdate<LitigationView, [SettleLitigation]>('settleLitigation');
export const litigationStateQuery = defineQuery<LitigationView>('litigationState');
/** The case withdraws the suit (its measure ended otherwise). */
export const litigationWithdrawnSignal = defineSignal<[{ reason: string }]>('litigationWithdrawn');
/** The suit tells the case of a legal cost and of how it ended (to the case's current run). */
export const legalCostSignal = defineSignal<[{ measureId: string; amount: number; description: string }]>('legalCost');
export const litigationEndedSignal = defineSignal<[LitigationResult]>('litigationEnded');
