import { Type, type Static } from 'typebox';
import { EXIT_MEASURE_TYPES, MEASURE_DECISIONS, MEASURE_STATES, WATCH_EVENT_TYPES, WATCH_STATES, WATCH_TRIGGERS } from '../../domain';
import {
  ActorSchema,
  BranchSchema,
  CaseIdSchema,
  CursorSchema,
  DateTimeSchema,
  LimitSchema,
  LoanIdSchema,
  LongTextSchema,
  MinorUnitsSchema,
  Nullable,
  StringEnum,
  SubjectSchema,
} from './common';

export const WATCH_ID_PATTERN = '^watch-[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const WatchIdSchema = Type.String({ pattern: WATCH_ID_PATTERN, description: 'A watch id: `watch-` and the loan id', examples: ['watch-LOAN123'] });
export const WatchParamsSchema = Type.Object({ watchId: WatchIdSchema });
export const ExitMeasureIdSchema = Type.String({ format: 'uuid', description: 'A measure of the exit plan' });
export const ExitMeasureParamsSchema = Type.Object({ watchId: WatchIdSchema, measureId: ExitMeasureIdSchema });

const TriggerSchema = StringEnum(WATCH_TRIGGERS, {
  description:
    'Why the loan is watched: fund_misuse, business_deterioration, second_mortgage (二押), small_loan_linkage (小额联动), false_entrusted_payment (虚假受托支付), or an origination flag (officer_doubts, non_compliant_purpose, against_review_advice)',
});
const CurrencySchema = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code', examples: ['CNY'] });

export const OpenWatchSchema = Type.Object(
  {
    loanId: LoanIdSchema,
    branch: BranchSchema,
    currency: CurrencySchema,
    outstanding: MinorUnitsSchema,
    officerId: Type.Optional(SubjectSchema),
    trigger: TriggerSchema,
    note: Type.Optional(LongTextSchema),
    visitEveryDays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 365, description: 'Large customers (大客户) only: days between visits (default: the configured rhythm)' }),
    ),
    policy: Type.Optional(
      Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$', description: 'The collection policy whose calendar (length of a day) the watch keeps; default `standard`' }),
    ),
  },
  { additionalProperties: false },
);
export type OpenWatchBody = Static<typeof OpenWatchSchema>;

export const ProposeExitMeasureSchema = Type.Object(
  {
    type: StringEnum(EXIT_MEASURE_TYPES, {
      description: '转他行贷款 transfer_to_other_bank, 售楼结清 property_sale_settlement, 贷款重组 restructuring, 转期贷 term_loan_conversion, 贷后要素变更 post_loan_terms_change, 提高支用利率 drawdown_rate_increase',
    }),
    rationale: LongTextSchema,
  },
  { additionalProperties: false },
);
export const DecideExitMeasureSchema = Type.Object({ decision: StringEnum(MEASURE_DECISIONS), reason: LongTextSchema }, { additionalProperties: false });
export const ReportVisitSchema = Type.Object({ summary: LongTextSchema }, { additionalProperties: false });
export const ResolveWatchSchema = Type.Object({ note: LongTextSchema }, { additionalProperties: false });
export const ExitWatchSchema = Type.Object(
  { measureId: ExitMeasureIdSchema, note: LongTextSchema },
  { additionalProperties: false, description: 'The customer exits by an approved measure of the plan' },
);

export const ExitMeasureSchema = Type.Object({
  measureId: Type.String(),
  type: StringEnum(EXIT_MEASURE_TYPES),
  state: StringEnum(MEASURE_STATES),
  rationale: Type.String(),
  proposedBy: ActorSchema,
  proposedAt: DateTimeSchema,
  decision: Nullable(Type.Object({ decision: StringEnum(MEASURE_DECISIONS), by: ActorSchema, at: DateTimeSchema, reason: Type.String() })),
  endedAt: Nullable(DateTimeSchema),
});

export const WatchSchema = Type.Object({
  watchId: Type.String(),
  loanId: Type.String(),
  branch: Type.String(),
  currency: Type.String(),
  outstanding: MinorUnitsSchema,
  officerId: Nullable(Type.String()),
  trigger: StringEnum(WATCH_TRIGGERS),
  state: StringEnum(WATCH_STATES),
  exitPlan: Type.Array(ExitMeasureSchema),
  visitEveryDays: Nullable(Type.Integer()),
  nextVisitAt: Nullable(DateTimeSchema),
  visits: Type.Integer({ description: 'Visits reported' }),
  caseId: Nullable(CaseIdSchema, { description: 'The collection case the watch handed over to' }),
  openedAt: DateTimeSchema,
  closedAt: Nullable(DateTimeSchema),
});

export const OpenWatchResultSchema = Type.Object({ created: Type.Boolean(), watch: WatchSchema });

export const ListWatchesQuerySchema = Type.Object(
  {
    state: Type.Optional(StringEnum(WATCH_STATES)),
    trigger: Type.Optional(TriggerSchema),
    branch: Type.Optional(BranchSchema),
    officerId: Type.Optional(SubjectSchema),
    cursor: Type.Optional(CursorSchema),
    limit: Type.Optional(LimitSchema),
  },
  { additionalProperties: false },
);

export const WatchPageSchema = Type.Object({ items: Type.Array(WatchSchema), nextCursor: Nullable(Type.String()) });

export const WatchEventSchema = Type.Object({
  eventId: Type.String(),
  seq: Type.Integer(),
  type: StringEnum(WATCH_EVENT_TYPES),
  actor: ActorSchema,
  requestId: Nullable(Type.String()),
  occurredAt: DateTimeSchema,
  payload: Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true }),
});

export const WatchDetailSchema = Type.Object({ ...WatchSchema.properties, events: Type.Array(WatchEventSchema, { description: 'The trail, oldest first' }) });
