import { defineSearchAttributeKey } from '@temporalio/common';

/** Case search attributes: what operators filter on in the Temporal UI and CLI. Never personal
 * data: search attribute values are stored unencoded. */
export const caseStageKey = defineSearchAttributeKey('CaseStage', 'KEYWORD');
export const collectionHandKey = defineSearchAttributeKey('CollectionHand', 'INT');
export const branchKey = defineSearchAttributeKey('Branch', 'KEYWORD');
export const officerIdKey = defineSearchAttributeKey('OfficerId', 'KEYWORD');
/** The loan's first missed due date: visibility queries filter by age with it
 * (`OverdueSince < "2026-09-01T00:00:00Z"`); days past due follow from it at read time. */
export const overdueSinceKey = defineSearchAttributeKey('OverdueSince', 'DATETIME');
/** Retired: cases on the first engine still upsert it until they finish; new cases never do. */
export const daysPastDueKey = defineSearchAttributeKey('DaysPastDue', 'INT');
export const overdueAmountKey = defineSearchAttributeKey('OverdueAmount', 'INT');
/** likely / difficult / unlikely, as the case holds it (an override included). */
export const recoveryLikelihoodKey = defineSearchAttributeKey('RecoveryLikelihood', 'KEYWORD');
export const amountTierKey = defineSearchAttributeKey('AmountTier', 'KEYWORD');

export const CASE_SEARCH_ATTRIBUTES = [
  caseStageKey,
  collectionHandKey,
  branchKey,
  officerIdKey,
  overdueSinceKey,
  daysPastDueKey,
  overdueAmountKey,
  recoveryLikelihoodKey,
  amountTierKey,
] as const;
