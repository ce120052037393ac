import { Type, type Static } from 'typebox';
import {
  ARREARS_COMPONENTS,
  CASE_EVENT_TYPES,
  CASE_OUTCOMES,
  LIKELIHOODS,
  REPORTED_COMPONENTS,
  CASE_STAGES,
  COLLATERAL_KINDS,
  COLLATERAL_STATUSES,
  CURRENCY_PATTERN,
  LAST_HAND,
  NEXT_ACTION_TYPES,
  PAUSE_REASONS,
  type CaseView,
  type LoanFacts,
} from '../../domain';
import {
  ActorSchema,
  BranchSchema,
  CaseIdSchema,
  CursorSchema,
  DateSchema,
  DaysPastDueFilterSchema,
  JsonObjectSchema,
  LimitSchema,
  LoanIdSchema,
  MinorUnitsSchema,
  Nullable,
  PositiveMinorUnitsSchema,
  ShortTextSchema,
  StringEnum,
  SubjectSchema,
  Text,
} from './common';
import { HOUSEHOLD_ID_PATTERN } from '../household';
import { MeasureSchema } from './measures';
import { WriteOffSchema } from './write-off';

export const HouseholdIdSchema = Type.String({
  pattern: HOUSEHOLD_ID_PATTERN,
  description: "The borrower's household (一户): a keyed hash of the ID number, never the number itself",
  examples: ['hh_0123456789abcdef0123456789abcdef'],
});
export const HandSchema = Type.Integer({ minimum: 1, maximum: LAST_HAND, description: 'Collection hand 1–6' });
export const StageSchema = StringEnum(CASE_STAGES, { description: 'Case stage' });

// ---- intake -------------------------------------------------------------------------------

export const PartySchema = Type.Object(
  {
    name: ShortTextSchema,
    idNumber: Type.String({ pattern: '^[A-Za-z0-9-]{4,32}$', description: 'Identity document number (never shown back)' }),
    phone: Type.String({ pattern: '^\\+?[0-9][0-9 -]{4,23}$', description: 'Phone number (never shown back)' }),
  },
  { additionalProperties: false },
);

export const GuarantorSchema = Type.Object(
  {
    ...PartySchema.properties,
    guaranteedAmount: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'What the guarantor guaranteed, in minor units: the most a guarantor claim demands of them, and the most credited from them',
      }),
    ),
  },
  { additionalProperties: false },
);

export const OriginationSchema = Type.Object(
  {
    officerId: SubjectSchema,
    approvedBy: Type.Array(SubjectSchema, { maxItems: 20, description: 'Who approved the loan' }),
    riskFlags: Type.Array(Text({ minLength: 1, maxLength: 200 }), {
      maxItems: 50,
      description: 'Risk flags known at origination (officer\'s doubts, non-compliant purpose, pushed through against review advice…)',
    }),
  },
  { additionalProperties: false, description: 'Who made the loan and what was known then; a write-off\'s accountability finding names them' },
);

export const CollateralSchema = Type.Object(
  {
    kind: StringEnum(COLLATERAL_KINDS),
    description: Text({ minLength: 1, maxLength: 500 }),
    value: MinorUnitsSchema,
  },
  { additionalProperties: false },
);

export const POLICY_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';

/** `overdue` by component, as the repayment-fund check reports it. */
export const ReportedArrearsSchema = Type.Object(
  Object.fromEntries(REPORTED_COMPONENTS.map((c) => [c, Type.Optional(MinorUnitsSchema)])) as Record<
    (typeof REPORTED_COMPONENTS)[number],
    ReturnType<typeof Type.Optional<typeof MinorUnitsSchema>>
  >,
  {
    additionalProperties: false,
    description: '`overdue` by component (fees, penaltyInterest, interest, principal), summing to it; without it the whole of `overdue` is principal',
  },
);

export const ArrearsSchema = Type.Object(
  Object.fromEntries(ARREARS_COMPONENTS.map((c) => [c, MinorUnitsSchema])) as Record<(typeof ARREARS_COMPONENTS)[number], typeof MinorUnitsSchema>,
  { description: 'Arrears by component, in minor units; legalCosts are costs of suits charged to the borrower where the policy recovers them' },
);

export const OutcomeSchema = StringEnum(CASE_OUTCOMES, {
  description: 'How collection ended: cured (arrears cleared, the loan current again), repaid (nothing outstanding), settled (a settlement agreement honoured, the rest waived) or written_off',
});

export const LikelihoodSchema = StringEnum(LIKELIHOODS, { description: 'Recovery likelihood: likely (回收可能性大), difficult (较难), unlikely (不可能)' });

export const ClassificationSchema = Type.Object({
  likelihood: LikelihoodSchema,
  computed: Type.Object(
    {
      likelihood: LikelihoodSchema,
      rule: Type.String({ description: 'The policy rule that gave it (`otherwise` when none held)' }),
      policy: Type.Object({ name: Type.String(), version: Type.Integer() }),
    },
    { description: 'What the policy\'s rules give' },
  ),
  override: Nullable(
    Type.Object({ likelihood: LikelihoodSchema, reason: Type.String(), by: ActorSchema, at: Type.String() }),
    { description: 'An officer\'s override, which wins while it stands' },
  ),
});

/** The facts of an overdue loan, and the policy to run its case with. */
export const OpenCaseSchema = Type.Object(
  {
    loanId: LoanIdSchema,
    borrower: PartySchema,
    branch: BranchSchema,
    product: Text({ minLength: 1, maxLength: 100 }),
    secured: Type.Boolean({ description: 'Secured by collateral; a secured loan lists at least one collateral' }),
    currency: Type.String({ pattern: CURRENCY_PATTERN, description: 'ISO 4217 code', examples: ['CNY'] }),
    principal: PositiveMinorUnitsSchema,
    outstanding: PositiveMinorUnitsSchema,
    overdue: PositiveMinorUnitsSchema,
    arrears: Type.Optional(ReportedArrearsSchema),
    overdueSince: DateSchema,
    collateral: Type.Optional(Type.Array(CollateralSchema, { maxItems: 50, default: [] })),
    guarantors: Type.Optional(Type.Array(GuarantorSchema, { maxItems: 20, default: [] })),
    officerId: Type.Optional(
      Nullable(SubjectSchema, { description: 'The officer to assign the case to; without one, the least-loaded active officer of the branch' }),
    ),
    origination: Type.Optional(OriginationSchema),
    policy: Type.Optional(
      Type.String({ pattern: POLICY_NAME_PATTERN, description: 'Collection policy name; its latest version is used', default: 'standard' }),
    ),
  },
  { additionalProperties: false },
);
export type OpenCaseBody = Static<typeof OpenCaseSchema>;

// ---- the case view --------------------------------------------------------------------------

export const OpenPromiseSchema = Type.Object({
  amount: MinorUnitsSchema,
  dueDate: Type.String(),
  promisedAt: Type.String(),
  paidSoFar: MinorUnitsSchema,
});

export const PauseViewSchema = Type.Object({
  reason: StringEnum(PAUSE_REASONS),
  since: Type.String(),
  until: Nullable(Type.String()),
});

export const NextActionSchema = Type.Object({
  type: StringEnum(NEXT_ACTION_TYPES),
  at: Type.String({ description: 'When (ISO date-time, wall clock)' }),
  hand: Nullable(HandSchema),
});

export const ProjectionIncidentSchema = Type.Object({
  version: Type.Integer({ description: 'The refused batch' }),
  at: Type.String(),
  error: Type.String(),
  eventTypes: Type.Array(Type.String(), { description: 'The events the batch carried, set aside' }),
});

const caseViewProperties = {
  caseId: CaseIdSchema,
  loanId: Type.String(),
  householdId: Nullable(HouseholdIdSchema, { description: "The borrower's household (`GET /v1/households/{householdId}`); null for cases opened before households" }),
  stage: StageSchema,
  hand: HandSchema,
  caseDate: Type.String({
    description: "The case's own date (YYYY-MM-DD): promise and pause dates are judged against it. A compressed demo calendar runs ahead of the wall-clock date",
  }),
  daysPastDue: Type.Integer({ description: 'Days since the first missed due date, on the case calendar, as of now (as of closing, once closed)' }),
  pausedDays: Type.Integer({ description: 'Days spent paused, a running pause included' }),
  overdueSince: Type.String(),
  currency: Type.String(),
  principal: MinorUnitsSchema,
  overdue: MinorUnitsSchema,
  arrears: ArrearsSchema,
  outstanding: MinorUnitsSchema,
  recovered: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Credited to the loan, in minor units (an overpayment is in `creditToReturn`, not here)' }),
  creditToReturn: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Paid beyond everything owed, to return to the payer, in minor units' }),
  outcome: Nullable(OutcomeSchema),
  settlement: Nullable(
    Type.Object({
      measureId: Type.String(),
      amount: MinorUnitsSchema,
      paid: MinorUnitsSchema,
      agreedAt: Type.String(),
    }),
    { description: 'A settlement agreement the case holds the borrower to: once `paid` reaches `amount`, the rest of the arrears is waived' },
  ),
  classification: Nullable(ClassificationSchema, { description: 'Recovery likelihood (回收可能性); null before the case is classified' }),
  tier: Nullable(Type.String(), { description: 'Amount tier by outstanding balance, by the policy\'s thresholds (large, medium, small by default)' }),
  branch: Type.String(),
  product: Type.String(),
  secured: Type.Boolean(),
  officerId: Nullable(Type.String()),
  policy: Type.Object({ name: Type.String(), version: Type.Integer() }),
  openPromise: Nullable(OpenPromiseSchema),
  pause: Nullable(PauseViewSchema),
  nextAction: Nullable(NextActionSchema),
  measures: Type.Array(MeasureSchema, { description: 'The plan (一户一策): every measure of this episode, oldest first' }),
  writeOff: Nullable(WriteOffSchema, { description: 'The latest write-off request and its decision' }),
  recoveredAfterWriteOff: Type.Integer({
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'Recovered after the write-off, in minor units (counted in `recovered` too)',
  }),
  legalCosts: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Legal costs the suits recorded, in minor units' }),
  collateralStatus: Type.Array(StringEnum(COLLATERAL_STATUSES), {
    description: 'Each collateral item\'s status, by its position in `collateral` (held, seized, for_sale, sold)',
  }),
  incidents: Type.Array(ProjectionIncidentSchema, {
    description: 'Batches the ledger refused for their data (set aside for a supervisor; the case went on), newest last',
  }),
  openedAt: Type.String(),
  closedAt: Nullable(Type.String()),
};

/** The live state of a case, as the case workflow answers it. */
export const CaseViewSchema = Type.Object(caseViewProperties);

/** A case from the ledger: the view, its episode and its last business event. */
export const CaseDetailSchema = Type.Object({
  ...caseViewProperties,
  episode: Type.Integer({ minimum: 1, description: 'Collection episode: a loan overdue again after recovery opens a new one' }),
  lastEvent: Nullable(Type.Object({ type: Type.String(), at: Type.String() })),
});
export type CaseDetail = Static<typeof CaseDetailSchema>;

export const OpenCaseResultSchema = Type.Object({
  created: Type.Boolean({ description: 'True when this request opened the case' }),
  case: CaseViewSchema,
});

export const MessageAcceptedSchema = Type.Object({
  caseId: CaseIdSchema,
  requestId: Type.String({ description: 'The id the case records this message under (the Idempotency-Key when given)' }),
});

// ---- listing ----------------------------------------------------------------------------------

export const ListCasesQuerySchema = Type.Object(
  {
    stage: Type.Optional(StageSchema),
    outcome: Type.Optional(OutcomeSchema),
    likelihood: Type.Optional(LikelihoodSchema),
    tier: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', description: 'Amount tier' })),
    policyName: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'Cases running this collection policy' })),
    policyVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, description: 'With `policyName`: cases running this version of it' })),
    hand: Type.Optional(HandSchema),
    branch: Type.Optional(BranchSchema),
    officerId: Type.Optional(SubjectSchema),
    minDaysPastDue: Type.Optional(DaysPastDueFilterSchema),
    maxDaysPastDue: Type.Optional(DaysPastDueFilterSchema),
    cursor: Type.Optional(CursorSchema),
    limit: Type.Optional(LimitSchema),
  },
  { additionalProperties: false },
);
export type ListCasesQuery = Static<typeof ListCasesQuerySchema>;

export const CasePageSchema = Type.Object({
  items: Type.Array(CaseDetailSchema),
  nextCursor: Nullable(Type.String(), { description: 'Pass as `cursor` for the next page; null on the last page' }),
});

// ---- events -------------------------------------------------------------------------------------

export const PageQuerySchema = Type.Object(
  { cursor: Type.Optional(CursorSchema), limit: Type.Optional(LimitSchema) },
  { additionalProperties: false },
);

export const CaseEventSchema = Type.Object({
  eventId: Type.String(),
  episode: Type.Integer(),
  seq: Type.Integer(),
  type: Type.String({ description: `One of ${CASE_EVENT_TYPES.join(', ')}` }),
  actor: ActorSchema,
  requestId: Nullable(Type.String()),
  occurredAt: Type.String(),
  recordedAt: Type.String(),
  payload: JsonObjectSchema,
});
export type CaseEventView = Static<typeof CaseEventSchema>;

export const EventPageSchema = Type.Object({
  items: Type.Array(CaseEventSchema),
  nextCursor: Nullable(Type.String()),
});

// Compile-time checks: the schemas describe the domain's types.
type Assignable<T extends U, U> = T;
export type CaseViewFitsSchema = Assignable<CaseView, Static<typeof CaseViewSchema>>;
export type BodyFitsLoanFacts = Assignable<
  Omit<OpenCaseBody, 'policy' | 'collateral' | 'guarantors'>,
  Omit<LoanFacts, 'collateral' | 'guarantors'>
>;
