import { Type, type Static } from 'typebox';
import { CaseIdSchema, DateTimeSchema, Nullable, RoleSchema, StringEnum } from './common';
import { OpenCaseSchema, ReportedArrearsSchema } from './cases';
import { FieldErrorSchema } from './problem';

export const INTAKE_OUTCOMES = ['created', 'updated', 'unchanged', 'rejected'] as const;
export type IntakeOutcome = (typeof INTAKE_OUTCOMES)[number];
export const INTAKE_SOURCES = ['api', 'schedule'] as const;
export type IntakeSource = (typeof INTAKE_SOURCES)[number];

/** The most rows one request or one file may carry. */
export const MAX_INTAKE_ROWS = 20_000;

const { overdue: _overdue, arrears: _arrears, ...loanProperties } = OpenCaseSchema.properties;

/** One row of the daily overdue list: the loan's facts as for opening its case, with its
 * arrears as a total and, where the list breaks them down, by component. */
export const IntakeRowSchema = Type.Object(
  {
    ...loanProperties,
    overdueAmount: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Total overdue, in minor units' }),
    /** By component, summing to `overdueAmount`; without it the whole amount is principal. */
    arrears: Type.Optional(ReportedArrearsSchema),
  },
  { additionalProperties: false },
);
export type IntakeRow = Static<typeof IntakeRowSchema>;

/** Each row is checked on its own (a bad row is reported, never refuses the list). */
export const IntakeJsonBodySchema = Type.Object(
  {
    rows: Type.Array(Type.Unsafe<unknown>({ description: 'An overdue-list row (see IntakeRow)' }), { minItems: 1, maxItems: MAX_INTAKE_ROWS }),
  },
  { additionalProperties: false },
);

export const IntakeRowResultSchema = Type.Object({
  row: Type.Integer({ minimum: 1, description: 'The row\'s position in the list (1 = the first data row)' }),
  loanId: Nullable(Type.String()),
  caseId: Nullable(CaseIdSchema),
  outcome: StringEnum(INTAKE_OUTCOMES),
  errors: Type.Array(FieldErrorSchema, { description: 'Why a row was rejected: the column (CSV) or field (JSON) and the reason' }),
});
export type IntakeRowResult = Static<typeof IntakeRowResultSchema>;

export const IntakeCountsSchema = Type.Object({
  rows: Type.Integer(),
  created: Type.Integer(),
  updated: Type.Integer(),
  unchanged: Type.Integer(),
  rejected: Type.Integer(),
});
export type IntakeCounts = Static<typeof IntakeCountsSchema>;

export const IntakeRunSummarySchema = Type.Object({
  runId: Type.String(),
  source: StringEnum(INTAKE_SOURCES),
  /** The file a scheduled run read. */
  file: Nullable(Type.String()),
  actor: Type.Object({ sub: Type.String(), role: RoleSchema }),
  startedAt: DateTimeSchema,
  finishedAt: Nullable(DateTimeSchema),
  counts: IntakeCountsSchema,
});
export type IntakeRunSummary = Static<typeof IntakeRunSummarySchema>;

export const IntakeReportSchema = Type.Object({
  ...IntakeRunSummarySchema.properties,
  results: Type.Array(IntakeRowResultSchema),
});
export type IntakeReport = Static<typeof IntakeReportSchema>;

export const IntakeRunListSchema = Type.Object({
  items: Type.Array(IntakeRunSummarySchema),
  nextCursor: Nullable(Type.String()),
});

export const IntakeRunParamsSchema = Type.Object({ runId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' }) });
