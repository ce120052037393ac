/** The business trail: every case event type that lands in `case_events`. */
export const CASE_EVENT_TYPES = [
  'case_opened',
  'hand_entered',
  'hand_entered_late',
  'task_repeated',
  'contact_recorded',
  'payment_recorded',
  'promise_made',
  'promise_kept',
  'promise_broken',
  'note_added',
  'officer_assigned',
  'case_paused',
  'case_resumed',
  'case_recovered',
  'message_rejected',
] as const;
export type CaseEventType = (typeof CASE_EVENT_TYPES)[number];

/** Why the workflow refused an officer's message. */
export const REJECTION_REASONS = [
  'case_closed',
  'duplicate_reference',
  'promise_already_open',
  'promise_date_not_ahead',
  'promise_date_too_far',
  'already_paused',
  'not_paused',
  'pause_end_not_ahead',
  'paid_at_in_future',
  'invalid_amount',
  'same_officer',
  'invalid_text',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Refusals of what the message says (a date, an amount, a text): the API answers 422. The
 * others are refusals by the case's state, answered 409. */
export const UNACCEPTABLE_VALUE_REASONS: readonly RejectionReason[] = [
  'promise_date_not_ahead',
  'promise_date_too_far',
  'pause_end_not_ahead',
  'paid_at_in_future',
  'invalid_amount',
  'invalid_text',
];
