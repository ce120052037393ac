import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { createActivities } from '../../activities';
import {
  addNoteSignal,
  assignOfficerSignal,
  branchKey,
  caseStageKey,
  caseStateQuery,
  collectionHandKey,
  daysPastDueKey,
  officerIdKey,
  openCaseUpdate,
  overdueAmountKey,
  pauseSignal,
  promiseToPaySignal,
  recordContactSignal,
  recordPaymentSignal,
  resumeSignal,
  type CaseOpening,
  type CaseStage,
} from '../../domain';
import { CaseEntity } from './entity';
import type { CaseState } from './state';

/** Opens with `{ opening }`; each continue-as-new carries `{ continued }`. */
export type CaseInput = { opening: CaseOpening } | { continued: CaseState };

export interface CaseOutcome {
  caseId: string;
  stage: CaseStage;
  recovered: number;
  closedAt: string | null;
}

type Activities = ReturnType<typeof createActivities>;

// The ledger must eventually hold every event: projection retries until PostgreSQL answers.
const { projectCase } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

// A channel that stays down must not hold the case up: its rows stay pending in the outbox.
const { deliverNotifications } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '5m', maximumAttempts: 10 },
});

/**
 * One collection case: an entity workflow that lives until the arrears are recovered.
 * Handlers only change the entity; this loop alone talks to the outside world, so events reach
 * PostgreSQL in the order they happened.
 */
export async function collectionCase(input: CaseInput): Promise<CaseOutcome> {
  const info = workflowInfo();
  const entity =
    'opening' in input
      ? CaseEntity.open(input.opening, info.workflowId, info.firstExecutionRunId, Date.now())
      : CaseEntity.continued(input.continued);
  const { state } = entity;

  setHandler(openCaseUpdate, async (request) => {
    // The caller reads the ledger next: answer once the case is in it.
    await condition(() => state.projectedVersion >= 1);
    return { created: request.requestId === state.openingRequestId, case: entity.view(Date.now()) };
  });
  setHandler(recordContactSignal, (msg) => entity.recordContact(msg, Date.now()));
  setHandler(recordPaymentSignal, (msg) => entity.recordPayment(msg, Date.now()));
  setHandler(promiseToPaySignal, (msg) => entity.promiseToPay(msg, Date.now()));
  setHandler(addNoteSignal, (msg) => entity.addNote(msg, Date.now()));
  setHandler(assignOfficerSignal, (msg) => entity.assignOfficer(msg, Date.now()));
  setHandler(pauseSignal, (msg) => entity.pause(msg, Date.now()));
  setHandler(resumeSignal, (msg) => entity.resume(msg, Date.now()));
  // A query sees the workflow clock of the last activation: fields that follow from time alone
  // (days past due) are as of then; the ledger is refreshed at least daily.
  setHandler(caseStateQuery, () => entity.view(Date.now()));

  let deliveries: Promise<void> = Promise.resolve();
  const lastAttributes = new Map<string, unknown>();

  async function flush(): Promise<void> {
    for (let batch = entity.takeBatch(info.runId, Date.now()); batch; batch = entity.takeBatch(info.runId, Date.now())) {
      await projectCase(batch);
      entity.markProjected(batch.version);
      upsertChangedAttributes(entity.view(Date.now()));
      if (batch.notifications.length > 0) {
        deliveries = deliveries.then(() =>
          deliverNotifications({ caseId: state.caseId }).then(
            () => undefined,
            (err) => log.warn('notification delivery failed; the outbox keeps the rows', { error: String(err) }),
          ),
        );
      }
    }
  }

  function upsertChangedAttributes(view: ReturnType<CaseEntity['view']>): void {
    const pairs: SearchAttributeUpdatePair[] = [
      { key: caseStageKey, value: view.stage },
      { key: collectionHandKey, value: view.hand },
      { key: branchKey, value: view.branch },
      { key: officerIdKey, value: view.officerId },
      { key: daysPastDueKey, value: view.daysPastDue },
      { key: overdueAmountKey, value: view.overdue },
    ];
    const changed = pairs.filter((p) => lastAttributes.get(p.key.name) !== p.value);
    if (changed.length === 0) return;
    for (const p of changed) lastAttributes.set(p.key.name, p.value);
    upsertSearchAttributes(changed);
  }

  const continueAsNewDue = (): boolean => {
    const { continueAsNewSuggested, historyLength } = workflowInfo();
    const forcedAt = state.continueAsNewAfterEvents;
    return continueAsNewSuggested || (forcedAt !== null && historyLength >= forcedAt);
  };

  // A wake-up by time alone still rewrites the ledger row: days past due moved on.
  let timedOut = false;
  for (;;) {
    entity.advance(Date.now(), timedOut);
    await flush();
    if (entity.closed || continueAsNewDue()) break;
    const wakeAt = entity.nextWakeMs(Date.now());
    const timeout = wakeAt === null ? undefined : Math.max(1, wakeAt - Date.now());
    timedOut = !(await condition(() => entity.hasPending(), timeout));
  }

  // Messages that arrive while the case closes or continues are still handled and recorded.
  do {
    await condition(allHandlersFinished);
    await flush();
    await deliveries;
  } while (entity.hasPending());
  if (!entity.closed) {
    await continueAsNew<typeof collectionCase>({ continued: state });
  }
  return { caseId: state.caseId, stage: state.stage, recovered: state.recovered, closedAt: state.closedAt };
}
