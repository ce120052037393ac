import { Type, type Static } from 'typebox';
import { CONTACT_CHANNELS, CONTACT_OUTCOMES, PAUSE_REASONS } from '../../domain';
import { LikelihoodSchema } from './cases';
import {
  DateSchema,
  DateTimeSchema,
  LongTextSchema,
  Nullable,
  PositiveMinorUnitsSchema,
  StringEnum,
  SubjectSchema,
  Text,
} from './common';

/** Officers' messages to a case: what the HTTP body carries (sender and request id are added). */
export const RecordContactSchema = Type.Object(
  {
    channel: StringEnum(CONTACT_CHANNELS),
    outcome: StringEnum(CONTACT_OUTCOMES),
    note: Type.Optional(LongTextSchema),
  },
  { additionalProperties: false },
);

export const RecordPaymentSchema = Type.Object(
  {
    amount: PositiveMinorUnitsSchema,
    paidAt: Type.String({ ...DateTimeSchema, description: 'When the borrower paid; never in the future' }),
    reference: Text({ minLength: 1, maxLength: 100, description: 'The payment\'s reference; unique within the case' }),
    payer: Type.Optional(
      Type.String({
        pattern: '^(borrower|guarantor:[1-9][0-9]?)$',
        maxLength: 11,
        default: 'borrower',
        description: 'Who paid: `borrower`, or `guarantor:<n>` for the n-th guarantor (from 1), credited up to what they guaranteed',
      }),
    ),
  },
  { additionalProperties: false },
);

export const PromiseToPaySchema = Type.Object(
  {
    amount: PositiveMinorUnitsSchema,
    dueDate: Type.String({ ...DateSchema, description: 'Date by the end of which the amount is due; not in the past' }),
  },
  { additionalProperties: false },
);

export const AddNoteSchema = Type.Object(
  {
    summary: LongTextSchema,
    problems: Type.Optional(LongTextSchema),
    nextSteps: Type.Optional(LongTextSchema),
  },
  { additionalProperties: false },
);

export const ClassifyCaseSchema = Type.Object(
  {
    likelihood: Nullable(LikelihoodSchema, { description: 'The officer\'s judgement; null withdraws an override and hands the classification back to the policy\'s rules' }),
    reason: LongTextSchema,
  },
  { additionalProperties: false },
);

export const AssignOfficerSchema = Type.Object({ officerId: SubjectSchema }, { additionalProperties: false });

export const PauseCaseSchema = Type.Object(
  {
    reason: StringEnum(PAUSE_REASONS),
    until: Type.Optional(Type.String({ ...DateSchema, description: 'Date on which the case resumes by itself; not in the past' })),
    note: Type.Optional(LongTextSchema),
  },
  { additionalProperties: false },
);

/** A JSON object, `{}` at least: the route takes no missing body, and the document says
 * `requestBody.required: true`. (Wrap it in `OptionalBody()` only if the route takes none.) */
export const ResumeCaseSchema = Type.Object({ note: Type.Optional(LongTextSchema) }, { additionalProperties: false });

export const MessageQuerySchema = Type.Object(
  {
    async: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'Queue the message durably instead of waiting for the case (202): it is applied when a worker runs, as of when it was sent, and a refusal is recorded in the business trail',
      }),
    ),
  },
  { additionalProperties: false },
);

export type RecordContactBody = Static<typeof RecordContactSchema>;
export type RecordPaymentBody = Static<typeof RecordPaymentSchema>;
export type PromiseToPayBody = Static<typeof PromiseToPaySchema>;
export type AddNoteBody = Static<typeof AddNoteSchema>;
export type AssignOfficerBody = Static<typeof AssignOfficerSchema>;
export type PauseCaseBody = Static<typeof PauseCaseSchema>;
export type ResumeCaseBody = Static<typeof ResumeCaseSchema>;
