import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { createActivities } from '../../activities';
import { answerFields, PROJECTION_REFUSED, type ProjectionBatch, type WithBatch } from '../../activities/contract';
import {
  MESSAGE_REFUSED,
  addNoteSignal,
  addNoteUpdate,
  assignOfficerSignal,
  assignOfficerUpdate,
  caseStateQuery,
  claimWithdrawnSignal,
  guarantorClaimEndedSignal,
  guarantorClaimWorkflowId,
  guarantorPaymentSignal,
  LITIGATION_WORKFLOW_TYPE,
  legalCostSignal,
  litigationEndedSignal,
  litigationWithdrawnSignal,
  litigationWorkflowId,
  deliveryTaskQueue,
  openCaseUpdate,
  decideMeasureSignal,
  decideMeasureUpdate,
  pauseSignal,
  pauseUpdate,
  proposeMeasureSignal,
  proposeMeasureUpdate,
  reportMeasureSignal,
  reportMeasureUpdate,
  requestWriteOffSignal,
  requestWriteOffUpdate,
  decideWriteOffSignal,
  decideWriteOffUpdate,
  classifySignal,
  classifyUpdate,
  promiseToPaySignal,
  promiseToPayUpdate,
  recordContactSignal,
  recordContactUpdate,
  recordPaymentSignal,
  recordPaymentUpdate,
  reportArrearsUpdate,
  resumeSignal,
  resumeUpdate,
  watchLinkedSignal,
  type CaseOpening,
  type CaseStage,
  type MessageResult,
  type OpenCaseResult,
  type Refusal,
} from '../../domain';
import { guarantorClaim } from '../guarantor-claim/workflow';
import { CaseEntity, type Effect, type MessageName, type Messages } from './entity';
import { caseAttributePairs, comparableAttribute, startedAttributes } from './search-attributes';
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

/**
 * The quiet-case engine (engine 2): wakes only when something falls due, applies time before
 * each message, enters every hand it passed when late, answers officers through updates, and
 * sets a batch the ledger refuses aside as an incident. Runs recorded before it replay as
 * engine 1; see docs/upgrading-workflows.md for how to retire it.
 */
export const ENGINE_2_PATCH = 'quiet-case-engine';

/** The policy proposes measures on entering a hand (a guarantor claim at hand 4…): cases that
 * entered those hands before the plan replay without proposals. */
export const PLAN_PROPOSALS_PATCH = 'plan-proposals';

/** Intake keeps the parties in PostgreSQL: a case opened before that, whose state still carries
 * their personal data, drops it before it continues as new. */
export const PARTIES_OUT_PATCH = 'parties-out-of-temporal';

/** The loan's risk watch hands over to the case, which records the link in its trail. */
export const WATCH_LINK_PATCH = 'watch-link';

/** Runs that took a report from the daily overdue list (`reportArrears`). */
export const ARREARS_REPORT_PATCH = 'arrears-report';

/** Legal costs charged to the borrower where the policy recovers them, and settlements that
 * close the case once paid: runs recorded before them replay as they ran. */
export const ARREARS_BY_COMPONENT_PATCH = 'arrears-by-component';

/** Recovery likelihood and amount tier by the policy's rules, recorded and upserted as search
 * attributes: runs recorded before them replay without either. */
export const CLASSIFICATION_PATCH = 'classification';

/** Engine 2 projects through an ordinary activity, which runs only once the workflow task that
 * scheduled it is in the history. A local activity wrote the ledger before that: when the task's
 * completion was lost (Temporal restarted, the worker died), the ledger kept a batch the history
 * never had, and the re-run task's batch under the same version was dropped as not newer (the
 * failure drills, test/drills). Runs recorded before replay their local activities. */
export const PROJECTION_AFTER_TASK_PATCH = 'projection-after-task';

/** An update answers with the batch that holds its message as soon as the batch is taken, and
 * the API writes it to the ledger itself (db/answered-batch.ts), guarded like the activity
 * that writes it too: the officer's answer costs one workflow task instead of three. The answer
 * leaves only once the task that took the batch is in the history, so the ledger still never
 * holds what the history does not. Runs recorded before answered after the activity. */
export const ANSWER_WITH_BATCH_PATCH = 'answer-with-batch';

/**
 * A run that starts with this marker runs with every patch above except PARTIES_OUT_PATCH
 * (which only a case still carrying parties asks for). It records one marker instead of up to
 * eight, and each marker it no longer records saved the history two events and Temporal a
 * visibility write. Runs recorded before it replay by their own markers, as they did. A patch
 * added later is asked for as before. Code that predates this marker already refuses these
 * runs, since they lack the markers it asks for at the first task.
 */
export const CASE_BASELINE_PATCH = 'case-baseline-2026-11';

/**
 * The worker's relay sends a batch's letters once the projection has written them
 * (activities/delivery-relay.ts): the run schedules no delivery activity, which saves an activity,
 * a workflow task and six history events on every batch with letters. A run that starts with this marker also runs with
 * everything CASE_BASELINE_PATCH stands for, and records only this one. Runs recorded before it
 * keep their delivery activity; code that predates it refuses these runs at their first task, as
 * it refuses those of CASE_BASELINE_PATCH.
 */
export const RELAYED_DELIVERY_PATCH = 'case-baseline-relayed-delivery';

/**
 * A run's search attributes are compared with those it started with (the API's start carries
 * them, `openingAttributes`; a continued run keeps its predecessor's), so its first batch upserts
 * only what differs: an opening saves an upsert event and Temporal a visibility write, and the
 * case is found by branch and hand from its start. A run that starts with this marker also runs
 * with everything RELAYED_DELIVERY_PATCH stands for, and records only this one. Runs recorded
 * before it compare with nothing, as they did; code that predates it refuses these runs at their
 * first task.
 */
export const SEEDED_ATTRIBUTES_PATCH = 'case-baseline-seeded-attributes';

// The ledger must eventually hold every event: projection retries until PostgreSQL answers.
// A data error is not retried (the activity fails non-retryably) and becomes an incident.
const projectionOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
} as const;
const { projectCase: projectCaseAfterTask } = proxyActivities<Activities>(projectionOptions);
const { projectCase, recordProjectionIncident } = proxyLocalActivities<Activities>(projectionOptions);

const deliveryOptions = {
  // Several letters through a slow gateway; the heartbeat catches a dead worker sooner.
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', maximumInterval: '5m', maximumAttempts: 10 },
} as const;
// Engine 1 delivered on the case task queue.
const { deliverNotifications: deliverEngine1 } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '5m', maximumAttempts: 10 },
});

const MESSAGES: { [N in MessageName]: { signal: SignalDefinition<[Messages[N]]>; update: UpdateDefinition<MessageResult, [Messages[N]]> } } = {
  recordContact: { signal: recordContactSignal, update: recordContactUpdate },
  recordPayment: { signal: recordPaymentSignal, update: recordPaymentUpdate },
  promiseToPay: { signal: promiseToPaySignal, update: promiseToPayUpdate },
  addNote: { signal: addNoteSignal, update: addNoteUpdate },
  assignOfficer: { signal: assignOfficerSignal, update: assignOfficerUpdate },
  pause: { signal: pauseSignal, update: pauseUpdate },
  resume: { signal: resumeSignal, update: resumeUpdate },
  proposeMeasure: { signal: proposeMeasureSignal, update: proposeMeasureUpdate },
  decideMeasure: { signal: decideMeasureSignal, update: decideMeasureUpdate },
  reportMeasure: { signal: reportMeasureSignal, update: reportMeasureUpdate },
  requestWriteOff: { signal: requestWriteOffSignal, update: requestWriteOffUpdate },
  decideWriteOff: { signal: decideWriteOffSignal, update: decideWriteOffUpdate },
  classify: { signal: classifySignal, update: classifyUpdate },
};

function refused(refusal: Refusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: MESSAGE_REFUSED,
    message: `refused: ${refusal.reason}${refusal.field ? ` (${refusal.field})` : ''}`,
    details: [refusal],
    nonRetryable: true,
  });
}

/** The ledger's refusal, however the activity's failure reaches the workflow (wrapped in an
 * ActivityFailure or not). */
function projectionRefusal(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type === PROJECTION_REFUSED) return e;
  }
  return undefined;
}

/**
 * One collection case: an entity workflow that lives until the arrears are recovered (or, once
 * written off, until nothing is left to recover).
 * Handlers only change the entity; this loop alone talks to the outside world, so events reach
 * PostgreSQL in the order they happened.
 */
export async function collectionCase(input: CaseInput): Promise<CaseOutcome> {
  const info = workflowInfo();
  const seededAttributes = patched(SEEDED_ATTRIBUTES_PATCH);
  const relayedDelivery = seededAttributes || patched(RELAYED_DELIVERY_PATCH);
  const baseline = relayedDelivery || patched(CASE_BASELINE_PATCH);
  let engine2 = baseline || patched(ENGINE_2_PATCH);
  let planProposals = baseline || patched(PLAN_PROPOSALS_PATCH);
  let arrearsByComponent = baseline || patched(ARREARS_BY_COMPONENT_PATCH);
  let classifying = baseline || patched(CLASSIFICATION_PATCH);
  let projectionAfterTask = baseline || patched(PROJECTION_AFTER_TASK_PATCH);
  let answerWithBatch = baseline || patched(ANSWER_WITH_BATCH_PATCH);
  const entity =
    'opening' in input
      ? CaseEntity.open(input.opening, info.workflowId, info.firstExecutionRunId, Date.now(), { engine: engine2 ? 2 : 1, planProposals, classifying })
      : CaseEntity.continued(input.continued, Date.now());
  const { state } = entity;
  /** A run recorded by older code takes up the new behaviour once it runs live on this code. */
  const syncEngine = (): void => {
    if (!baseline) {
      engine2 ||= patched(ENGINE_2_PATCH);
      planProposals ||= patched(PLAN_PROPOSALS_PATCH);
      arrearsByComponent ||= patched(ARREARS_BY_COMPONENT_PATCH);
      classifying ||= patched(CLASSIFICATION_PATCH);
      projectionAfterTask ||= patched(PROJECTION_AFTER_TASK_PATCH);
      answerWithBatch ||= patched(ANSWER_WITH_BATCH_PATCH);
    }
    entity.engine = engine2 ? 2 : 1;
    entity.planProposals = planProposals;
    entity.arrearsByComponent = arrearsByComponent;
    entity.classifying = classifying;
  };
  syncEngine();

  /** The batch being projected, by version: an update waiting for the one that holds its message
   * answers with it (ANSWER_WITH_BATCH_PATCH); two messages of one activation share it. */
  const takenBatches = new Map<number, ProjectionBatch>();

  /**
   * The answer to an accepted update whose message the batch of `version` carries. With the
   * patch: as soon as that batch is taken, with the batch, for the API to write. Before it, or
   * when the batch went before the handler saw it: once the ledger holds it.
   */
  async function answerOnceTaken(version: number): Promise<WithBatch<MessageResult>> {
    if (answerWithBatch) {
      await condition(() => takenBatches.has(version) || state.projectedVersion >= version);
      const batch = takenBatches.get(version);
      if (batch) return { applied: true, ...answerFields(batch) };
    }
    await condition(() => state.projectedVersion >= version);
    return { applied: true, case: entity.view(Date.now()) };
  }

  setHandler(openCaseUpdate, async (request): Promise<WithBatch<OpenCaseResult>> => {
    // The caller reads the ledger next: answer once the case is in it, or with its first batch.
    const created = request.requestId === state.openingRequestId;
    if (answerWithBatch) {
      await condition(() => takenBatches.has(1) || state.projectedVersion >= 1);
      const batch = takenBatches.get(1);
      if (batch) return { created, ...answerFields(batch) };
    }
    await condition(() => state.projectedVersion >= 1);
    return { created, case: entity.view(Date.now()) };
  });
  for (const name of Object.keys(MESSAGES) as MessageName[]) {
    const { signal, update } = MESSAGES[name];
    setHandler(signal, (msg: Messages[typeof name]) => {
      syncEngine();
      entity.receive(name, msg, Date.now());
    });
    setHandler(
      update,
      async (msg: Messages[typeof name]): Promise<MessageResult> => {
        syncEngine();
        const outcome = entity.accept(name, msg, Date.now());
        if (outcome === 'duplicate') return { applied: false, case: entity.view(Date.now()) };
        // A message handled between validation and now (same activation) changed the case.
        if (outcome) throw refused(outcome);
        return answerOnceTaken(entity.nextVersion);
      },
      {
        // Refused here, a message costs the case's history nothing.
        validator: (msg: Messages[typeof name]) => {
          const refusal = entity.validate(name, msg, Date.now());
          if (refusal) throw refused(refusal);
        },
      },
    );
  }
  // The daily overdue list's report for an open case. Its validator refuses a repeat of what the
  // case holds, at no cost to the history; one that became a repeat after validation (or a
  // request id already taken) answers `applied: false` and records nothing.
  setHandler(
    reportArrearsUpdate,
    async (msg): Promise<MessageResult> => {
      syncEngine();
      // Marks the runs that took a report, so that code without this handler refuses to replay
      // them; code that old refuses a run with the baseline marker already.
      if (!baseline) patched(ARREARS_REPORT_PATCH);
      const outcome = entity.acceptArrearsReport(msg, Date.now());
      if (outcome === false) return { applied: false, case: entity.view(Date.now()) };
      if (outcome !== true) throw refused(outcome);
      return answerOnceTaken(entity.nextVersion);
    },
    {
      validator: (msg) => {
        const refusal = entity.arrearsReportRefusal(msg, Date.now());
        if (refusal) throw refused(refusal);
      },
    },
  );
  // A query sees the workflow clock of its last activation: the ledger, not the query, is
  // where days past due are current.
  setHandler(caseStateQuery, () => entity.view(Date.now()));
  setHandler(guarantorClaimEndedSignal, (result) => {
    syncEngine();
    entity.advance(Date.now());
    entity.claimEnded(result, Date.now());
  });
  setHandler(litigationEndedSignal, (result) => {
    syncEngine();
    entity.advance(Date.now());
    entity.litigationEnded(result, Date.now());
  });
  setHandler(legalCostSignal, (cost) => {
    syncEngine();
    entity.advance(Date.now());
    entity.legalCost(cost, Date.now());
  });
  setHandler(watchLinkedSignal, (link) => {
    if (!baseline && !patched(WATCH_LINK_PATCH)) return;
    syncEngine();
    entity.advance(Date.now());
    entity.linkWatch(link, Date.now());
  });

  let deliveries: Promise<void> = Promise.resolve();
  const lastAttributes = seededAttributes ? startedAttributes(info.typedSearchAttributes) : new Map<string, unknown>();
  const deliverEngine2 = proxyActivities<Activities>({ ...deliveryOptions, taskQueue: deliveryTaskQueue(info.taskQueue) })
    .deliverNotifications;

  async function project(batch: ProjectionBatch): Promise<void> {
    if (!engine2) return projectCaseAfterTask(batch);
    try {
      await (projectionAfterTask ? projectCaseAfterTask(batch) : projectCase(batch));
    } catch (err) {
      const refusal = projectionRefusal(err);
      if (!refusal) throw err;
      const error = refusal.message;
      log.error('the ledger refused a batch; set aside as an incident', { caseId: state.caseId, version: batch.version, error });
      await recordProjectionIncident({ caseId: state.caseId, runId: info.runId, version: batch.version, error, batch });
      // A batch that carried events is followed by one with the view alone, which rewrites the row.
      entity.recordIncident(batch, error, Date.now(), batch.events.length > 0);
    }
  }

  /** Child workflows of the plan: started once the ledger shows their measure in progress. */
  async function perform(effect: Effect): Promise<void> {
    switch (effect.kind) {
      case 'startGuarantorClaim':
        await startChild(guarantorClaim, {
          workflowId: guarantorClaimWorkflowId(state.caseId, effect.input.measureId),
          args: [effect.input],
          // The claim outlives a continue-as-new of the case and reports to its current run.
          parentClosePolicy: 'ABANDON',
        });
        return;
      case 'startLitigation':
        await startChild(LITIGATION_WORKFLOW_TYPE, {
          workflowId: litigationWorkflowId(state.caseId, effect.input.measureId),
          args: [effect.input],
          parentClosePolicy: 'ABANDON',
        });
        return;
      case 'withdrawLitigation':
        await getExternalWorkflowHandle(litigationWorkflowId(state.caseId, effect.measureId))
          .signal(litigationWithdrawnSignal, { reason: effect.reason })
          .catch((err) => log.warn('the suit did not take the signal', { measureId: effect.measureId, error: String(err) }));
        return;
      case 'guarantorPayment':
      case 'withdrawGuarantorClaim': {
        const claim = getExternalWorkflowHandle(guarantorClaimWorkflowId(state.caseId, effect.measureId));
        const sent =
          effect.kind === 'guarantorPayment'
            ? claim.signal(guarantorPaymentSignal, effect.payment)
            : claim.signal(claimWithdrawnSignal, { reason: effect.reason });
        // A claim that has already ended needs no word of it.
        await sent.catch((err) => log.warn('the guarantor claim did not take the signal', { measureId: effect.measureId, error: String(err) }));
        return;
      }
    }
  }

  async function flush(): Promise<void> {
    for (;;) {
      const batch = entity.takeBatch(info.runId, Date.now());
      const effects = entity.takeEffects();
      if (!batch) {
        for (const effect of effects) await perform(effect);
        if (effects.length === 0) return;
        continue;
      }
      takenBatches.set(batch.version, batch);
      await project(batch);
      takenBatches.delete(batch.version);
      entity.markProjected(batch.version);
      for (const effect of effects) await perform(effect);
      upsertChangedAttributes();
      if (batch.notifications.length > 0 && !relayedDelivery) {
        const deliver = engine2 ? deliverEngine2 : deliverEngine1;
        deliveries = deliveries.then(() =>
          deliver({ caseId: state.caseId }).then(
            () => undefined,
            (err) => log.warn('notification delivery failed; the outbox keeps the rows', { error: String(err) }),
          ),
        );
      }
      // Answered at once, messages can follow each other without a pause in which this loop
      // returns: the run must still continue as new when its history is long.
      if (answerWithBatch && continueAsNewDue()) return;
    }
  }

  function upsertChangedAttributes(): void {
    const pairs = caseAttributePairs(entity.view(Date.now()), { engine2, classifying });
    const changed = pairs.filter((p) => lastAttributes.get(p.key.name) !== comparableAttribute(p.value));
    if (changed.length === 0) return;
    for (const p of changed) lastAttributes.set(p.key.name, comparableAttribute(p.value));
    upsertSearchAttributes(changed);
  }

  const continueAsNewDue = (): boolean => {
    const { continueAsNewSuggested, historyLength } = workflowInfo();
    const forcedAt = state.continueAsNewAfterEvents;
    return continueAsNewSuggested || (forcedAt !== null && historyLength >= forcedAt);
  };

  // Engine 2 keeps one timer for the next due instant; a message that leaves that instant
  // unchanged leaves the timer running.
  let timer: { at: number; fired: boolean; scope: CancellationScope } | undefined;
  const armTimer = (wakeAt: number | null): void => {
    if (timer && (timer.fired || timer.at !== wakeAt)) {
      if (!timer.fired) timer.scope.cancel();
      timer = undefined;
    }
    if (timer || wakeAt === null) return;
    const armed = { at: wakeAt, fired: false, scope: new CancellationScope() };
    armed.scope
      .run(() => sleep(Math.max(1, Math.ceil(wakeAt - Date.now()))))
      .then(
        () => (armed.fired = true),
        () => undefined, // cancelled: a new due instant replaced it
      );
    timer = armed;
  };

  let timedOut = false;
  for (;;) {
    syncEngine();
    if (engine2) entity.advance(Date.now());
    // Engine 1 rewrote the ledger on every wake, due or not.
    else entity.advanceEngine1(Date.now(), timedOut);
    await flush();
    if (entity.finished || continueAsNewDue()) break;
    const wakeAt = entity.nextWakeMs(Date.now());
    if (engine2) {
      armTimer(wakeAt);
      await condition(() => entity.hasPending() || timer?.fired === true);
    } else {
      const timeout = wakeAt === null ? undefined : Math.max(1, wakeAt - Date.now());
      timedOut = !(await condition(() => entity.hasPending(), timeout));
    }
  }

  // Messages that arrive while the case closes or continues are still handled and recorded;
  // an update waiting for the ledger is answered before the run ends.
  do {
    await condition(() => allHandlersFinished() || entity.hasPending());
    await flush();
    if (!allHandlersFinished()) continue;
    await deliveries;
  } while (entity.hasPending() || !allHandlersFinished());
  if (!entity.finished) {
    if (entity.carriesParties && patched(PARTIES_OUT_PATCH)) entity.forgetParties();
    await continueAsNew<typeof collectionCase>({ continued: state });
  }
  return { caseId: state.caseId, stage: state.stage, recovered: state.recovered, closedAt: state.closedAt };
}
