/**
 * The guarantor claim (要求担保人代偿): a child workflow of the case that demands of each
 * guarantor at most what they guaranteed, waits for their payments until a deadline, and tells
 * the case how it ended. Its contract, shared by both workflows and the tests.
 */
import { defineSignal } from '@temporalio/workflow';

export const GUARANTOR_CLAIM_WORKFLOW_TYPE = 'guarantorClaim';

/** The claim's workflow id: one per measure, under the case's. */
export function guarantorClaimWorkflowId(caseId: string, measureId: string): string {
  return `${caseId}/guarantor-claim/${measureId}`;
}

export interface GuarantorDemand {
  /** `guarantor:<n>`, the n-th guarantor (from 1). */
  payer: string;
  /** The most demanded of them: what they guaranteed, in minor units. */
  cap: number;
}

export interface GuarantorClaimInput {
  caseId: string;
  measureId: string;
  currency: string;
  demands: GuarantorDemand[];
  /** Wall-clock instant (ISO) at which an unpaid demand is missed. */
  deadlineAt: string;
}

export type GuarantorClaimOutcome = 'paid' | 'deadline_missed' | 'withdrawn';

export interface GuarantorClaimResult {
  measureId: string;
  outcome: GuarantorClaimOutcome;
  /** What each guarantor paid toward the claim. */
  paid: Record<string, number>;
}

/** The case tells the claim of a guarantor's payment, already capped and credited. */
export const guarantorPaymentSignal = defineSignal<[{ payer: string; amount: number; reference: string }]>('guarantorPayment');
/** The case withdraws the claim (the measure ended otherwise). */
export const claimWithdrawnSignal = defineSignal<[{ reason: string }]>('claimWithdrawn');
/** The claim tells the case how it ended; sent to the case's current run, so it crosses continue-as-new. */
export const guarantorClaimEndedSignal = defineSignal<[GuarantorClaimResult]>('guarantorClaimEnded');
