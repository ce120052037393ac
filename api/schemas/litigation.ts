import { Type, type Static } from 'typebox';
import { LITIGATION_CLOSINGS, LITIGATION_STEPS } from '../../domain';
import {
  ActorSchema,
  CaseIdSchema,
  DateSchema,
  LongTextSchema,
  MinorUnitsSchema,
  Nullable,
  PositiveMinorUnitsSchema,
  StringEnum,
  Text,
  described,
} from './common';
import { CASE_ERROR_RESPONSES, CONFLICT_RESPONSE, ProblemSchema, withRetryAfter } from './problem';

export const MEASURE_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export const LitigationParamsSchema = Type.Object({
  caseId: CaseIdSchema,
  measureId: Type.String({
    pattern: MEASURE_ID_PATTERN,
    description: 'The litigation measure of the case\'s plan (a lowercase UUID)',
    examples: ['3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e'],
  }),
});

export const MAX_DOCUMENTS = 20;
export const DocumentsSchema = Type.Array(
  Text({ minLength: 1, maxLength: 200, description: 'A document reference: a court file number, a filing, a judgment' }),
  { maxItems: MAX_DOCUMENTS, description: `Document references (up to ${MAX_DOCUMENTS}), e.g. \`(2025)京0105民初1234号\`` },
);

export const ReportLitigationStepSchema = Type.Object(
  {
    step: StringEnum(LITIGATION_STEPS, {
      description: 'The step reached, the next one after the last reported: assess → file_prepared → lawyer_assigned → filed → hearing → judgment → enforcement → closed',
    }),
    date: Type.String({ ...DateSchema, description: 'When it happened (YYYY-MM-DD): not before the previous step\'s date' }),
    documents: DocumentsSchema,
    note: Type.Optional(LongTextSchema),
    closing: Type.Optional(
      StringEnum(LITIGATION_CLOSINGS, {
        description: 'With `closed` only, and required there: `recovered` (through judgment and enforcement) or `exhausted` (enforcement found nothing more: the way to a write-off)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RecordLegalCostSchema = Type.Object(
  {
    amount: PositiveMinorUnitsSchema,
    description: Text({ minLength: 1, maxLength: 500, description: 'What it paid for: court fees, the lawyer, enforcement, an appraisal…' }),
  },
  { additionalProperties: false },
);

export const SettleLitigationSchema = Type.Object(
  {
    terms: LongTextSchema,
    amount: described(PositiveMinorUnitsSchema, 'What the settlement agreement recovers (more than zero), in minor units of the case currency'),
  },
  { additionalProperties: false },
);

const StepRecordSchema = Type.Object({
  step: StringEnum(LITIGATION_STEPS),
  date: Type.String({ description: 'YYYY-MM-DD' }),
  documents: Type.Array(Type.String()),
  note: Nullable(Type.String()),
  by: ActorSchema,
  at: Type.String({ description: 'When the suit recorded it' }),
  requestId: Type.String(),
});

export const LitigationViewSchema = Type.Object({
  caseId: CaseIdSchema,
  measureId: Type.String(),
  parties: Type.Array(Type.String(), { description: 'Whom the suit is against: borrower, guarantor:<n>' }),
  steps: Type.Array(StepRecordSchema, { description: 'Steps reported, in order' }),
  nextStep: Nullable(StringEnum(LITIGATION_STEPS), { description: 'The step expected next; null once the suit has ended' }),
  nextStepDueAt: Nullable(Type.String(), {
    description: 'When the next step is due (ISO, wall clock); past it the case\'s officer gets an overdue task. Null without a deadline',
  }),
  legalCosts: MinorUnitsSchema,
  currency: Type.String(),
  costs: Type.Array(
    Type.Object({ amount: MinorUnitsSchema, description: Type.String(), by: ActorSchema, at: Type.String(), requestId: Type.String() }),
    { description: 'Legal costs recorded, oldest first' },
  ),
  settlement: Nullable(
    Type.Object({ terms: Type.String(), amount: MinorUnitsSchema, by: ActorSchema, at: Type.String(), requestId: Type.String() }),
  ),
  overdue: Type.Array(
    Type.Object({
      step: StringEnum(LITIGATION_STEPS),
      dueAt: Type.String(),
      raisedAt: Type.String(),
      taskId: Nullable(Type.String(), { description: 'The officer task raised (null when the ledger could not take it)' }),
      officerId: Nullable(Type.String()),
    }),
    { description: 'Steps that ran late, each with the overdue task it raised' },
  ),
  outcome: Nullable(StringEnum(['recovered', 'exhausted', 'settled', 'withdrawn'] as const), {
    description: 'How the suit ended; null while it runs',
  }),
  startedAt: Type.String(),
  endedAt: Nullable(Type.String()),
  withdrawnReason: Nullable(Type.String(), { description: 'Why the case withdrew the suit (its measure ended otherwise)' }),
});

/** What the suit's routes may answer besides their success. */
export const LITIGATION_ERROR_RESPONSES = {
  ...CASE_ERROR_RESPONSES,
  404: described(ProblemSchema, 'No such case, or no suit runs for this measure (never started, or not a litigation measure)'),
} as const;

export const LITIGATION_MESSAGE_RESPONSES = {
  ...LITIGATION_ERROR_RESPONSES,
  409: CONFLICT_RESPONSE,
  422: described(ProblemSchema, 'The suit cannot accept what the report says (a date before the previous step\'s, a closing…); `errors` names the field, `accepted` what it would take'),
  503: withRetryAfter(
    described(ProblemSchema, 'No worker answered in time (retry with the same Idempotency-Key for the answer), or Temporal or PostgreSQL is unavailable; see `Retry-After`'),
  ),
} as const;

export type ReportLitigationStepBody = Static<typeof ReportLitigationStepSchema>;
