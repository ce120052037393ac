import { Type } from 'typebox';
import { FINDING_CONCLUSIONS, MEASURE_DECISIONS } from '../../domain';
import { ActorSchema, LongTextSchema, Nullable, StringEnum, Text } from './common';

export const RequestWriteOffSchema = Type.Object(
  {
    reason: LongTextSchema,
    amount: Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'The loss to write off, in minor units (12.50 CNY is 1250); at most the outstanding',
    }),
    overrideReason: Type.Optional(
      Text({
        minLength: 1,
        maxLength: 4000,
        description: 'A supervisor\'s reason to write off before litigation and enforcement are exhausted',
      }),
    ),
  },
  { additionalProperties: false },
);

export const FindingSchema = Type.Object(
  {
    conclusion: StringEnum(FINDING_CONCLUSIONS, { description: 'no_fault, process_failure or individual_fault' }),
    reasoning: LongTextSchema,
    riskFlags: Type.Array(Text({ minLength: 1, maxLength: 200 }), { maxItems: 50, description: 'Risk flags known at origination and in collection' }),
  },
  { additionalProperties: false },
);

export const DecideWriteOffSchema = Type.Object(
  {
    decision: StringEnum(MEASURE_DECISIONS),
    reason: LongTextSchema,
    finding: Type.Optional(FindingSchema),
  },
  { additionalProperties: false },
);

export const WriteOffSchema = Type.Object({
  state: StringEnum(['requested', 'approved', 'rejected'] as const),
  reason: Type.String(),
  amount: Type.Integer(),
  overrideReason: Nullable(Type.String()),
  requestedBy: ActorSchema,
  requestedAt: Type.String(),
  decision: Nullable(Type.Object({ decision: StringEnum(MEASURE_DECISIONS), by: ActorSchema, at: Type.String(), reason: Type.String() })),
  finding: Nullable(
    Type.Object({
      conclusion: StringEnum(FINDING_CONCLUSIONS),
      reasoning: Type.String(),
      riskFlags: Type.Array(Type.String()),
      involved: Type.Object({
        officers: Type.Array(Type.String()),
        approvers: Type.Array(Type.String()),
        origination: Nullable(Type.Object({ officerId: Type.String(), approvedBy: Type.Array(Type.String()), riskFlags: Type.Array(Type.String()) })),
      }),
    }),
  ),
});
