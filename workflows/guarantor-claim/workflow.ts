import { condition, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import {
  claimWithdrawnSignal,
  guarantorClaimEndedSignal,
  guarantorPaymentSignal,
  type GuarantorClaimInput,
  type GuarantorClaimOutcome,
  type GuarantorClaimResult,
} from '../../domain';

/**
 * One guarantor claim: waits until every guarantor has paid what they guaranteed, the deadline
 * passes, or the case withdraws it, then tells the case. Its payments are the case's to credit:
 * the claim only keeps count.
 */
export async function guarantorClaim(input: GuarantorClaimInput): Promise<GuarantorClaimResult> {
  const paid: Record<string, number> = Object.fromEntries(input.demands.map((d) => [d.payer, 0]));
  let withdrawn = false;
  setHandler(guarantorPaymentSignal, ({ payer, amount }) => {
    if (payer in paid) paid[payer] = (paid[payer] ?? 0) + amount;
  });
  setHandler(claimWithdrawnSignal, () => {
    withdrawn = true;
  });
  const allPaid = () => input.demands.every((d) => (paid[d.payer] ?? 0) >= d.cap);
  const untilDeadline = Math.max(1, Date.parse(input.deadlineAt) - Date.now());
  await condition(() => withdrawn || allPaid(), untilDeadline);
  const outcome: GuarantorClaimOutcome = withdrawn ? 'withdrawn' : allPaid() ? 'paid' : 'deadline_missed';
  const result = { measureId: input.measureId, outcome, paid };
  if (!withdrawn) await getExternalWorkflowHandle(input.caseId).signal(guarantorClaimEndedSignal, result);
  return result;
}
