import { UNACCEPTABLE_VALUE_REASONS, type Refusal } from '../domain';
import { HttpProblem, PROBLEM_TYPES } from './errors';

/** What a refusal says to a person: the reason, the case's side of it, and what it would accept. */
function sentence(refusal: Refusal): string {
  const d = refusal.detail as Record<string, string | number | undefined>;
  switch (refusal.reason) {
    case 'case_closed':
      return `The case is closed (${d.stage ?? 'recovered'}) and takes no more messages`;
    case 'duplicate_reference':
      return `Payment reference ${d.reference} is already credited to this case`;
    case 'promise_already_open':
      return `A promise to pay ${d.amount} by ${d.dueDate} is still open; record its payment or wait for its date`;
    case 'promise_date_not_ahead':
      return `dueDate is before the case's date ${d.caseDate}: a promise may fall due from ${d.earliestDueDate} to ${d.latestDueDate} (YYYY-MM-DD, on the case's calendar)`;
    case 'promise_date_too_far':
      return `dueDate lies more than ${d.maxPromiseDays} days after the case's date ${d.caseDate}: the latest allowed is ${d.latestDueDate} (YYYY-MM-DD)`;
    case 'already_paused':
      return `The case is already paused since ${d.since}${d.until ? ` until ${d.until}` : ''}`;
    case 'not_paused':
      return 'The case is not paused';
    case 'pause_end_not_ahead':
      return `until must be after the case's date ${d.caseDate}: the earliest allowed is ${d.earliestUntil} (YYYY-MM-DD)`;
    case 'paid_at_in_future':
      return d.expected ? `paidAt must be an ${d.expected}` : `paidAt ${d.paidAt} lies after now (${d.now}): payments are recorded once made`;
    case 'invalid_amount':
      return `amount must be ${d.expected ?? 'a positive integer of minor units'}`;
    case 'same_officer':
      return `The case is already assigned to ${d.officerId}`;
    case 'invalid_text':
      return `${refusal.field ?? 'a text'} must not contain NUL (\\u0000) characters`;
    case 'duplicate_measure':
      return `Measure ${d.measureId} is already part of the plan`;
    case 'unknown_measure':
      return `The plan has no measure ${d.measureId}`;
    case 'measure_already_open':
      return `A measure of this type is already open (${d.measureId}, ${d.state}): one at a time`;
    case 'measure_already_decided':
      return `Measure ${d.measureId} is no longer awaiting a decision (${d.state})`;
    case 'measure_not_allowed_at_hand':
      return `A ${d.type} measure may be proposed from hand ${d.minHand}; the case is at hand ${d.hand}`;
    case 'measure_transition_not_allowed':
      return `A ${d.state} measure may move to ${(d.allowed as unknown as string[]).join(', ') || 'nothing'}`;
    case 'compliance_flag_off':
      return `Policy ${d.policy} v${d.version} does not allow this measure: its ${d.flag} flag is off`;
    case 'four_eyes':
      return 'The decision must come from someone other than the proposer (four eyes)';
    case 'case_paused':
      return `The case is paused since ${d.since}: decisions wait until it resumes`;
    case 'write_off_pending':
      return `A write-off requested by ${(d.requestedBy as unknown as { sub: string }).sub} awaits its decision`;
    case 'write_off_not_exhausted':
      return 'Litigation and enforcement are not exhausted (no litigation has failed): a write-off needs a supervisor\'s overrideReason';
    case 'no_write_off_request':
      return 'No write-off awaits a decision';
    case 'finding_required':
      return 'Approving a write-off records the accountability finding: finding { conclusion, reasoning, riskFlags } is required';
    case 'classification_unchanged':
      return d.classification === null
        ? 'The case has not been classified yet'
        : `The override changes nothing: the case's likelihood is ${d.likelihood}${d.override ? ' by an officer\'s override' : ' by the policy\'s rules, with no override to withdraw'}`;
    case 'unknown_payer':
      return `payer must be one of ${(d.known as unknown as string[]).join(', ')}`;
    case 'guarantee_exhausted':
      return `${d.payer} has already paid all ${d.guaranteed} they guaranteed`;
    case 'schedule_invalid':
      return `schedule ${d.problem}`;
    case 'idempotency_key_reused':
      return 'This Idempotency-Key was already used for another message of this case';
    case 'proceeds_invalid':
      return `proceeds ${d.problem}`;
    case 'unknown_collateral':
      return `collateral.index must name one of the loan's ${d.collateral} collateral items (from 0)`;
    case 'covers_invalid':
      return `covers must name ${d.expected}`;
    case 'litigation_ended':
      return `The suit has ended (${d.outcome}) and takes no more reports`;
    case 'litigation_step_out_of_order':
      return `Steps are reported in order, one at a time: the next step is ${d.expected}${d.lastStep ? ` (the last reported was ${d.lastStep})` : ''}`;
    case 'litigation_step_date':
      return d.earliestDate
        ? `date must be a real calendar date (YYYY-MM-DD) not before ${d.earliestDate}, the date of ${d.previousStep}`
        : 'date must be a real calendar date (YYYY-MM-DD)';
    case 'litigation_closing_required':
      return `The closed step says how the suit ended: closing must be one of ${(d.closings as unknown as string[]).join(', ')}`;
    case 'litigation_closing_not_allowed':
      return `closing is given only with the closed step, not with ${d.step}`;
    case 'litigation_not_filed':
      return `A settlement ends a suit once it is filed (negotiating after filing recovers far more); the last step reported is ${d.lastStep ?? 'none'}`;
    case 'currency_mismatch':
      return `currency must be the case's, ${d.currency}`;
    case 'overdue_since_invalid':
      return `overdueSince must be a real calendar date (YYYY-MM-DD) not after the case's date ${d.caseDate}`;
    case 'arrears_unchanged':
      return 'The report repeats the arrears and overdue date the case holds';
  }
}

/**
 * The answer to a message the case refused: 422 when what the message says is unacceptable
 * (a date, an amount, a text), naming the field; 409 when the case's state forbids it. Both
 * carry the reason and what the case would accept (`accepted`).
 */
export function refusalProblem(refusal: Refusal): HttpProblem {
  const unacceptable = UNACCEPTABLE_VALUE_REASONS.includes(refusal.reason);
  const detail = sentence(refusal);
  return new HttpProblem(unacceptable ? 422 : 409, detail, {
    type: PROBLEM_TYPES.rejected,
    title: unacceptable ? 'The case cannot accept this value' : "Not allowed in the case's state",
    reason: refusal.reason,
    accepted: refusal.detail,
    ...(unacceptable && refusal.field ? { errors: [{ field: refusal.field, reason: detail }] } : {}),
  });
}
