import { Type, type Static } from 'typebox';
import { ALLOCATION_RULES, COLLATERAL_STATUSES, MEASURE_DECISIONS, MEASURE_STATES, MEASURE_TYPES } from '../../domain';
import { ActorSchema, CaseIdSchema, LongTextSchema, MinorUnitsSchema, Nullable, StringEnum, Text } from './common';

export const MeasureIdSchema = Type.String({ format: 'uuid', description: 'A measure of the plan' });
export const MeasureParamsSchema = Type.Object({ caseId: CaseIdSchema, measureId: MeasureIdSchema });

export const ProposeMeasureSchema = Type.Object(
  {
    type: StringEnum(MEASURE_TYPES, { description: 'The measure: 上门催收 field_visit, 要求担保人代偿 guarantor_claim, … (public_notice only where the policy allows it)' }),
    rationale: LongTextSchema,
    expectedRecovery: Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'What it is expected to recover, in minor units of the case currency (12.50 CNY is 1250)',
    }),
    schedule: Type.Optional(
      Type.Array(
        Type.Object(
          {
            dueDate: Type.String({ format: 'date', maxLength: 10, description: 'A case-calendar date, YYYY-MM-DD' }),
            amount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Minor units' }),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 1,
          maxItems: 360,
          description: 'Restructuring and extension only: instalments in date order that sum to the arrears they replace',
        },
      ),
    ),
    covers: Type.Optional(
      Type.Array(CaseIdSchema, {
        minItems: 1,
        maxItems: 50,
        description: 'Collateral sale, rent collection, and a guarantor claim where one guarantor backs several loans: other cases of the same household the measure also recovers; what it recovers is shared among them by `allocation`',
      }),
    ),
    allocation: Type.Optional(
      StringEnum(ALLOCATION_RULES, { description: 'How recoveries are shared among the covered cases: pro_rata to arrears (default) or oldest_first' }),
    ),
  },
  { additionalProperties: false },
);

export const DecideMeasureSchema = Type.Object(
  { decision: StringEnum(MEASURE_DECISIONS), reason: LongTextSchema },
  { additionalProperties: false },
);

export const ReportMeasureSchema = Type.Object(
  {
    status: StringEnum(['in_progress', 'succeeded', 'failed', 'cancelled'] as const, {
      description: 'in_progress starts an approved measure (or reports progress on a running one); the others end it',
    }),
    note: LongTextSchema,
    proceeds: Type.Optional(
      Type.Object(
        {
          reference: Text({ minLength: 1, maxLength: 100, description: 'The proceeds\' reference (the sale, the rent receipt); unique within the measure' }),
          gross: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'What the sale or the rent brought in, in minor units' }),
          costs: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Its costs (fees, taxes), in minor units' }),
        },
        { additionalProperties: false, description: 'Collateral sale and rent collection: the net is shared among the covered cases by the measure\'s rule' },
      ),
    ),
    collateral: Type.Optional(
      Type.Object(
        { index: Type.Integer({ minimum: 0, maximum: 49 }), status: StringEnum(COLLATERAL_STATUSES) },
        { additionalProperties: false, description: 'A collateral item\'s status, by its position in the loan\'s list' },
      ),
    ),
  },
  { additionalProperties: false },
);

export const MeasureSchema = Type.Object({
  measureId: Type.String(),
  type: StringEnum(MEASURE_TYPES),
  state: StringEnum(MEASURE_STATES),
  rationale: Type.String(),
  expectedRecovery: MinorUnitsSchema,
  proposedBy: ActorSchema,
  proposedAt: Type.String(),
  rule: Nullable(Type.Object({ policy: Type.String(), version: Type.Integer(), rule: Type.String() }), {
    description: 'The policy rule that proposed it, when the policy did',
  }),
  decision: Nullable(
    Type.Object({ decision: StringEnum(MEASURE_DECISIONS), by: ActorSchema, at: Type.String(), reason: Type.String() }),
  ),
  startedAt: Nullable(Type.String()),
  endedAt: Nullable(Type.String()),
  lastNote: Nullable(Type.String()),
  schedule: Type.Optional(
    Type.Array(
      Type.Object({
        dueDate: Type.String(),
        amount: Type.Integer(),
        paid: Type.Integer(),
        status: StringEnum(['due', 'paid', 'missed'] as const),
      }),
      { description: 'Restructuring and extension: the schedule, instalment by instalment' },
    ),
  ),
  covers: Type.Optional(Type.Array(Type.String(), { description: 'The cases it covers, this case first' })),
  allocation: Type.Optional(StringEnum(ALLOCATION_RULES)),
  proceeds: Type.Optional(
    Type.Array(
      Type.Object({
        reference: Type.String(),
        gross: Type.Integer(),
        costs: Type.Integer(),
        net: Type.Integer(),
        allocated: Type.Array(Type.Object({ caseId: Type.String(), amount: Type.Integer() })),
        at: Type.String(),
      }),
    ),
  ),
  parties: Type.Optional(
    Type.Array(Type.String(), { description: 'Whom it is against, where it names them: borrower, guarantor:<n>' }),
  ),
});

export const ApprovalSchema = Type.Object({
  caseId: CaseIdSchema,
  branch: Type.String(),
  measure: MeasureSchema,
});
export const ApprovalListSchema = Type.Object({ items: Type.Array(ApprovalSchema) });

export type ProposeMeasureBody = Static<typeof ProposeMeasureSchema>;
