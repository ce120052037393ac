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
