import { Type, type Static } from 'typebox';

import { HandSchema, LikelihoodSchema, ListCasesQuerySchema, OutcomeSchema, StageSchema } from './cases';
import { BranchSchema, DateSchema, DaysPastDueFilterSchema, described, MinorUnitsSchema, Nullable, StringEnum, SubjectSchema } from './common';

export const PortfolioQuerySchema = Type.Object(
  {
    asOf: described(DateSchema, 'The report shows each case as of the end of this UTC date (events that occurred before the next midnight UTC)'),
    branch: Type.Optional(described(BranchSchema, 'Only this branch (officers and supervisors: their own branch, which is the default)')),
  },
  { additionalProperties: false },
);
export type PortfolioQuery = Static<typeof PortfolioQuerySchema>;

export const RollRatesQuerySchema = Type.Object(
  {
    from: described(DateSchema, 'Rows: each case as of the end of this UTC date'),
    to: described(DateSchema, 'Columns: the same case as of the end of this UTC date; not before `from`'),
    branch: Type.Optional(described(BranchSchema, 'Only this branch (officers and supervisors: their own branch, which is the default)')),
  },
  { additionalProperties: false },
);
export type RollRatesQuery = Static<typeof RollRatesQuerySchema>;

const CountSchema = Type.Integer({ minimum: 0, description: 'Number of cases' });
const CurrencySchema = Type.String({ minLength: 3, maxLength: 3, description: 'ISO 4217 code' });
const RateSchema = Nullable(Type.Number({ minimum: 0, maximum: 1 }), { description: 'A ratio between 0 and 1; null when its denominator is 0' });

/** The figures of one group of cases in one currency (amounts never mix currencies). */
const figures = {
  currency: CurrencySchema,
  cases: CountSchema,
  outstanding: described(MinorUnitsSchema, 'Outstanding balance as of the date (the last `payment_recorded.outstandingAfter`, else the amount at opening), in minor units'),
  overdue: described(MinorUnitsSchema, 'Arrears as of the date (the last `payment_recorded.overdueAfter`, else the arrears at opening), in minor units'),
  recovered: described(MinorUnitsSchema, 'Recovered in the episode as of the date (the last `payment_recorded.recoveredAfter`, else 0), in minor units'),
};

export const PortfolioTotalsSchema = Type.Object({
  ...figures,
  recoveryRate: Nullable(Type.Number({ minimum: 0, maximum: 1 }), {
    description: 'recovered / (recovered + overdue): the share of the arrears brought into collection that has been paid, as of the date; null when both are 0',
  }),
});
export type PortfolioTotals = Static<typeof PortfolioTotalsSchema>;

export const PortfolioSchema = Type.Object({
  asOf: DateSchema,
  branch: Nullable(BranchSchema, { description: 'The branch the report is limited to; null for every branch' }),
  totals: Type.Array(PortfolioTotalsSchema, { description: 'Every case of the report, per currency, in currency order' }),
  byStage: Type.Array(Type.Object({ stage: StageSchema, ...figures }), { description: 'Per stage and currency' }),
  byHand: Type.Array(Type.Object({ hand: HandSchema, ...figures }), {
    description: 'Per hand and currency: every case at the hand it was in as of the date (a closed case at the hand it closed in)',
  }),
  byBranch: Type.Array(Type.Object({ branch: BranchSchema, ...figures }), { description: 'Per branch and currency' }),
  byOfficer: Type.Array(Type.Object({ officerId: Nullable(SubjectSchema, { description: 'null: no officer assigned' }), ...figures }), {
    description: 'Per assigned officer (as of the date) and currency',
  }),
  byLikelihood: Type.Array(Type.Object({ likelihood: Nullable(LikelihoodSchema, { description: 'null: not classified by then' }), ...figures }), {
    description: 'Per recovery likelihood (an override included) as of the date, and currency',
  }),
  byTier: Type.Array(Type.Object({ tier: Nullable(Type.String(), { description: 'null: not classified by then' }), ...figures }), {
    description: 'Per amount tier as of the date, and currency',
  }),
  byOutcome: Type.Array(Type.Object({ outcome: Nullable(OutcomeSchema, { description: 'null: still in collection (or closed before outcomes were told apart)' }), ...figures }), {
    description: 'Per outcome (cured, repaid, settled, written_off) as of the date, and currency',
  }),
  promises: Type.Object(
    {
      kept: CountSchema,
      broken: CountSchema,
      keptRate: RateSchema,
    },
    { description: '`promise_kept` and `promise_broken` events of the report\'s cases (every episode) that occurred up to the end of `asOf`; keptRate = kept / (kept + broken)' },
  ),
});
export type PortfolioView = Static<typeof PortfolioSchema>;

export const ROLL_TARGETS = ['1', '2', '3', '4', '5', '6', 'recovered', 'written_off'] as const;
export type RollTarget = (typeof ROLL_TARGETS)[number];

export const RollCellSchema = Type.Object({
  fromHand: HandSchema,
  to: StringEnum(ROLL_TARGETS, { description: 'The hand (1–6) the case was in at `to`, or `recovered` / `written_off` when its collection had ended by then' }),
  currency: CurrencySchema,
  cases: CountSchema,
  outstanding: described(MinorUnitsSchema, 'Outstanding of these cases as of `from`, in minor units'),
  overdue: described(MinorUnitsSchema, 'Arrears of these cases as of `from`, in minor units'),
});
export type RollCell = Static<typeof RollCellSchema>;

export const RollRatesSchema = Type.Object({
  from: DateSchema,
  to: DateSchema,
  branch: Nullable(BranchSchema, { description: 'The branch the report is limited to; null for every branch' }),
  cells: Type.Array(RollCellSchema, {
    description: 'The non-empty cells of the matrix, by fromHand, then `to` (1–6, recovered, written_off), then currency',
  }),
  rows: Type.Array(
    Type.Object({
      fromHand: HandSchema,
      cases: CountSchema,
      rolledForward: CountSchema,
      stayed: CountSchema,
      closed: CountSchema,
    }),
    { description: 'Per row (hand at `from`): the cases in it, and how many were in a higher hand, the same hand, or closed (recovered / written off) at `to`' },
  ),
});
export type RollRatesView = Static<typeof RollRatesSchema>;


/** `GET /v1/cases/export.csv`: the filters of `GET /v1/cases`, without the page (the export streams every page). */
export const ExportCasesQuerySchema = Type.Omit(ListCasesQuerySchema, ['cursor', 'limit'], { additionalProperties: false });
export type ExportCasesQuery = Static<typeof ExportCasesQuerySchema>;
