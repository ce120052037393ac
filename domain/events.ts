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
  'measure_proposed',
  'measure_approved',
  'measure_rejected',
  'measure_started',
  'measure_progress',
  'measure_succeeded',
  'measure_failed',
  'measure_cancelled',
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
  'duplicate_measure',
  'unknown_measure',
  'measure_already_open',
  'measure_already_decided',
  'measure_not_allowed_at_hand',
  'measure_transition_not_allowed',
  'compliance_flag_off',
  'four_eyes',
  'case_paused',
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
  'compliance_flag_off',
];
