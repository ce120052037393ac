import type { SearchAttributePair, SearchAttributeUpdatePair, TypedSearchAttributes } from '@temporalio/common';
import {
  amountTierKey,
  branchKey,
  CASE_SEARCH_ATTRIBUTES,
  caseStageKey,
  collectionHandKey,
  dateToMs,
  daysPastDueKey,
  officerIdKey,
  overdueAmountKey,
  overdueSinceKey,
  recoveryLikelihoodKey,
  type CaseOpening,
  type CaseView,
} from '../../domain';
import { CaseEntity } from './entity';

/** What the case shows Temporal's visibility; null clears an attribute. */
export function caseAttributePairs(view: CaseView, behaviour: { engine2: boolean; classifying: boolean }): SearchAttributeUpdatePair[] {
  return [
    { key: caseStageKey, value: view.stage },
    { key: collectionHandKey, value: view.hand },
    { key: branchKey, value: view.branch },
    { key: officerIdKey, value: view.officerId },
    ...(behaviour.engine2
      ? [
          { key: overdueSinceKey, value: new Date(dateToMs(view.overdueSince)) },
          { key: daysPastDueKey, value: null },
        ]
      : [{ key: daysPastDueKey, value: view.daysPastDue }]),
    { key: overdueAmountKey, value: view.overdue },
    ...(behaviour.classifying
      ? [
          { key: recoveryLikelihoodKey, value: view.classification?.likelihood ?? null },
          { key: amountTierKey, value: view.tier },
        ]
      : []),
  ];
}

/** An attribute's value as the case compares it: a Date by its instant. */
export function comparableAttribute(value: unknown): unknown {
  return value instanceof Date ? value.getTime() : value;
}

/**
 * The attributes a new run of the case starts with (the start request carries them), as its first
 * batch will show them: the case is found by branch, officer and hand from the moment Temporal
 * accepts it, and a run started with them (SEEDED_ATTRIBUTES_PATCH) upserts only what differs.
 * Computed by the case's own code at the caller's clock; should a hand fall due between that and
 * the run's first task, the run upserts the difference.
 */
export function openingAttributes(opening: CaseOpening, caseId: string, nowMs: number): SearchAttributePair[] {
  const entity = CaseEntity.open(opening, caseId, '', nowMs, { engine: 2, planProposals: true, classifying: true });
  entity.advance(nowMs);
  return caseAttributePairs(entity.view(nowMs), { engine2: true, classifying: true }).filter(
    (pair): pair is SearchAttributePair => pair.value !== null,
  );
}

/** The case's attributes as its run started with them, an unset one as null (what a null
 * upsert leaves): what the run's upserts compare against. */
export function startedAttributes(attributes: TypedSearchAttributes): Map<string, unknown> {
  return new Map(CASE_SEARCH_ATTRIBUTES.map((key) => [key.name, comparableAttribute(attributes.get(key) ?? null)]));
}
