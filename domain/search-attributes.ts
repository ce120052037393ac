import { defineSearchAttributeKey } from '@temporalio/common';

/** Case search attributes: what operators filter on in the Temporal UI and CLI. Never personal
 * data: search attribute values are stored unencoded. */
export const caseStageKey = defineSearchAttributeKey('CaseStage', 'KEYWORD');
export const collectionHandKey = defineSearchAttributeKey('CollectionHand', 'INT');
export const branchKey = defineSearchAttributeKey('Branch', 'KEYWORD');
export const officerIdKey = defineSearchAttributeKey('OfficerId', 'KEYWORD');
export const daysPastDueKey = defineSearchAttributeKey('DaysPastDue', 'INT');
export const overdueAmountKey = defineSearchAttributeKey('OverdueAmount', 'INT');

export const CASE_SEARCH_ATTRIBUTES = [
  caseStageKey,
  collectionHandKey,
  branchKey,
  officerIdKey,
  daysPastDueKey,
  overdueAmountKey,
] as const;
