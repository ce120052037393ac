import { Type, type Static } from 'typebox';
import { CaseDetailSchema, HandSchema, HouseholdIdSchema } from './cases';
import { described, MinorUnitsSchema, Nullable } from './common';

export const HouseholdParamsSchema = Type.Object({ householdId: HouseholdIdSchema });

/** What the household owes and has paid in one currency (amounts never mix currencies). */
export const HouseholdTotalsSchema = Type.Object({
  currency: Type.String({ description: 'ISO 4217 code' }),
  cases: Type.Integer({ minimum: 0, description: 'Cases of the household in this currency, open or closed' }),
  openCases: Type.Integer({ minimum: 0, description: 'Of them, cases still in collection (not recovered or written off)' }),
  outstanding: described(MinorUnitsSchema, 'Outstanding of the open cases, in minor units'),
  overdue: described(MinorUnitsSchema, 'Arrears of the open cases, in minor units'),
  recovered: described(MinorUnitsSchema, 'Recovered by every case listed (current episodes, open or closed), in minor units'),
  highestHand: Nullable(HandSchema, {
    description: 'The highest hand among the open cases (the hand the borrower hears: one voice per borrower); null when none is open',
  }),
});
export type HouseholdTotals = Static<typeof HouseholdTotalsSchema>;

/** A household (一户): one borrower's cases, their plans and what they add up to. */
export const HouseholdSchema = Type.Object({
  householdId: HouseholdIdSchema,
  cases: Type.Array(CaseDetailSchema, {
    description: "The household's cases in case id order, each as the ledger shows it (its current episode), with its measures",
  }),
  totals: Type.Array(HouseholdTotalsSchema, { description: 'Per currency, in currency order' }),
});
export type HouseholdView = Static<typeof HouseholdSchema>;
