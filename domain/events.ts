/** The business trail: every case event type that lands in `case_events`. */
export const CASE_EVENT_TYPES = [
  'case_opened',
  'hand_entered',
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

/** Why the workflow refused an officer's message; the API answers these with 409. */
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
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];
