import { Type, type Static } from 'typebox';
import {
  APPROACHES,
  CONTACT_OUTCOMES,
  LIKELIHOODS,
  ARREARS_COMPONENTS,
  HANDS,
  LITIGATION_STEPS,
  MAX_RETENTION_DAYS,
  MEASURE_TYPES,
  NOTIFICATION_CHANNELS,
  RECIPIENTS,
  TASK_TYPES,
  type CollectionPolicy,
} from '../../domain';
import { POLICY_NAME_PATTERN } from './cases';
import { Nullable, StringEnum, Text } from './common';

const HandNumberSchema = Type.Integer({ minimum: 1, maximum: HANDS.length });
const CaseDaysSchema = Type.Integer({ minimum: 0, maximum: 36_500, description: 'Case days' });

export const PolicyNameSchema = Type.String({ pattern: POLICY_NAME_PATTERN, description: 'Collection policy name' });
export const PolicyVersionSchema = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

const NotifyActionSchema = Type.Object(
  {
    kind: Type.Literal('notify'),
    channel: StringEnum(NOTIFICATION_CHANNELS),
    template: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'The message template the channel renders' }),
    recipient: StringEnum(RECIPIENTS),
  },
  { additionalProperties: false },
);

const TaskActionSchema = Type.Object(
  {
    kind: Type.Literal('task'),
    task: StringEnum(TASK_TYPES),
    dueInDays: CaseDaysSchema,
    repeatEveryDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365, description: 'Repeats while the case stays in the hand' })),
  },
  { additionalProperties: false },
);

const HandRuleSchema = Type.Object(
  {
    hand: HandNumberSchema,
    entersAtDay: CaseDaysSchema,
    approach: StringEnum(APPROACHES),
    actions: Type.Array(Type.Union([NotifyActionSchema, TaskActionSchema]), { maxItems: 20 }),
  },
  { additionalProperties: false },
);

const MeasureRulesSchema = Type.Object(
  {
    minHand: Type.Object(Object.fromEntries(MEASURE_TYPES.map((t) => [t, Type.Optional(HandNumberSchema)])), {
      additionalProperties: false,
      description: 'The lowest hand at which each measure type may be proposed',
    }),
    compliance: Type.Object({ publicNotice: Type.Boolean() }, { additionalProperties: false }),
    autoPropose: Type.Array(
      Type.Object(
        {
          rule: Type.String({ pattern: '^[a-z0-9][a-z0-9_]{0,63}$' }),
          atHand: HandNumberSchema,
          type: StringEnum(MEASURE_TYPES),
          when: StringEnum(['always', 'has_guarantors', 'secured'] as const),
          rationale: Text({ minLength: 1, maxLength: 500 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 20 },
    ),
    guarantorClaimDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 })),
    litigationStepDays: Type.Optional(
      Type.Object(Object.fromEntries(LITIGATION_STEPS.map((s) => [s, Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 }))])), {
        additionalProperties: false,
      }),
    ),
    restructuring: Type.Optional(
      Type.Object(
        { graceDays: Type.Integer({ minimum: 0, maximum: 90 }), maxMisses: Type.Integer({ minimum: 1, maximum: 24 }) },
        { additionalProperties: false },
      ),
    ),
    reentryHand: Type.Optional({ ...HandNumberSchema, description: 'Where escalation resumes when a restructuring, extension or suit fails (absent: the hand the case left)' }),
  },
  { additionalProperties: false },
);

const policyBodyProperties = {
  description: Text({ minLength: 1, maxLength: 500 }),
  dayMs: Type.Integer({
    minimum: 100,
    maximum: 86_400_000,
    description: 'Length of a case day in milliseconds: 86400000 for a real policy; less only for demonstration calendars',
  }),
  maxPromiseDays: Type.Integer({ minimum: 1, maximum: 365, description: 'Furthest a promise to pay may lie ahead, in case days' }),
  hands: Type.Array(HandRuleSchema, { minItems: 1, maxItems: HANDS.length, description: 'The ladder: hands 1 to 6 in order' }),
  measureRules: Type.Optional(MeasureRulesSchema),
  allocationOrder: Type.Optional(
    Type.Array(StringEnum(ARREARS_COMPONENTS), {
      minItems: 4,
      maxItems: ARREARS_COMPONENTS.length,
      description: 'The order a partial payment pays the arrears: every reported component once; legal costs are charged to the borrower and recovered only where named',
    }),
  ),
  classification: Type.Optional(
    Type.Object(
      {
        rules: Type.Array(
          Type.Object(
            {
              rule: Type.String({ pattern: '^[a-z0-9][a-z0-9_]{0,63}$' }),
              likelihood: StringEnum(LIKELIHOODS),
              when: Type.Object(
                {
                  minCollateralCoveragePct: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
                  maxCollateralCoveragePct: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
                  minDaysPastDue: Type.Optional(CaseDaysSchema),
                  maxDaysPastDue: Type.Optional(CaseDaysSchema),
                  minBrokenPromises: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
                  hasGuarantors: Type.Optional(Type.Boolean()),
                  lastContactOutcomes: Type.Optional(Type.Array(StringEnum(CONTACT_OUTCOMES), { minItems: 1, uniqueItems: true })),
                },
                { additionalProperties: false },
              ),
            },
            { additionalProperties: false },
          ),
          { maxItems: 50 },
        ),
        otherwise: StringEnum(LIKELIHOODS),
      },
      { additionalProperties: false, description: 'Recovery likelihood rules in order, the first that holds decides' },
    ),
  ),
  followUps: Type.Optional(
    Type.Object(
      { everyDays: Type.Integer({ minimum: 1, maximum: 365 }), fromHand: HandNumberSchema },
      { additionalProperties: false, description: 'Supervisors\' phone follow-ups on officers\' work (定期电话回访): every `everyDays` case days from `fromHand`' },
    ),
  ),
  amountTiers: Type.Optional(
    Type.Array(
      Type.Object(
        { tier: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }), minOutstanding: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) },
        { additionalProperties: false },
      ),
      { maxItems: 10, description: 'Amount tiers for large-customer management, largest first; below the last: small' },
    ),
  ),
  personalDataRetentionDays: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS, description: 'Case days a closed case keeps its parties\' personal data' }),
  ),
};

/** A new version of a policy: everything but its name (the path) and number (the next one). */
export const PolicyVersionInputSchema = Type.Object(policyBodyProperties, { additionalProperties: false });
export type PolicyVersionInput = Static<typeof PolicyVersionInputSchema>;

export const PolicySchema = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  ...policyBodyProperties,
  createdAt: Type.String(),
});
export type PolicyView = Static<typeof PolicySchema>;

export const PolicySummarySchema = Type.Object({
  name: Type.String(),
  latestVersion: Type.Integer({ description: 'The version new cases open with' }),
  versions: Type.Array(Type.Integer()),
  description: Type.String({ description: 'The latest version\'s description' }),
  updatedAt: Type.String({ description: 'When the latest version was written' }),
});
export const PolicyListSchema = Type.Object({ items: Type.Array(PolicySummarySchema) });

export const PolicyParamsSchema = Type.Object({ name: PolicyNameSchema });
export const PolicyVersionParamsSchema = Type.Object({ name: PolicyNameSchema, version: PolicyVersionSchema });

export const PolicyDiffQuerySchema = Type.Object(
  { from: PolicyVersionSchema, to: PolicyVersionSchema },
  { additionalProperties: false },
);

export const PolicyDiffSchema = Type.Object({
  name: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  changes: Type.Array(
    Type.Object({
      path: Type.String({ description: 'Where the versions differ, e.g. `hands[2].entersAtDay`' }),
      from: Nullable(Type.Unknown(), { description: 'The value in `from` (null where absent)' }),
      to: Nullable(Type.Unknown(), { description: 'The value in `to` (null where absent)' }),
    }),
  ),
});
export type PolicyDiff = Static<typeof PolicyDiffSchema>;

// Compile-time check: a stored policy fits the input schema's shape.
type Assignable<T extends U, U> = T;
export type PolicyFitsSchema = Assignable<Omit<CollectionPolicy, 'name' | 'version'>, Omit<PolicyVersionInput, never>>;
