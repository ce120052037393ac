import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { createActivities } from '../../activities';
import { PROJECTION_REFUSED } from '../../activities/contract';
import {
  WATCH_MESSAGE_REFUSED,
  decideExitMeasureUpdate,
  exitWatchUpdate,
  handOverWatchSignal,
  openWatchUpdate,
  proposeExitMeasureUpdate,
  reportVisitUpdate,
  resolveWatchUpdate,
  watchLinkedSignal,
  watchStateQuery,
  type WatchMessageName,
  type WatchMessages,
  type WatchOpening,
  type WatchRefusal,
  type WatchResult,
  type WatchState,
} from '../../domain';
import { WatchEntity } from './entity';
import type { WatchData } from './state';

/** Opens with `{ opening }`; each continue-as-new carries `{ continued }`. */
export type WatchInput = { opening: WatchOpening } | { continued: WatchData };

export interface WatchOutcome {
  watchId: string;
  state: WatchState;
  caseId: string | null;
}

type Activities = ReturnType<typeof createActivities>;

// The trail must eventually hold every event: projection retries until PostgreSQL answers.
const { projectWatch } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

const UPDATES: { [N in WatchMessageName]: UpdateDefinition<WatchResult, [WatchMessages[N]]> } = {
  proposeExitMeasure: proposeExitMeasureUpdate,
  decideExitMeasure: decideExitMeasureUpdate,
  reportVisit: reportVisitUpdate,
  resolve: resolveWatchUpdate,
  exit: exitWatchUpdate,
};

function refused(refusal: WatchRefusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: WATCH_MESSAGE_REFUSED,
    message: `refused: ${refusal.reason}${refusal.field ? ` (${refusal.field})` : ''}`,
    details: [refusal],
    nonRetryable: true,
  });
}

/** The table refused the batch for its data, however the failure reaches the workflow. */
function refusedByLedger(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type === PROJECTION_REFUSED) return true;
  }
  return false;
}

/**
 * One risk watch (风险预警): an entity workflow that lives until the risk is resolved, the customer
 * exits, or the loan goes overdue and its collection case takes over. Handlers only change the
 * entity; this loop alone talks to the outside world, so events reach PostgreSQL in order.
 */
export async function riskWatch(input: WatchInput): Promise<WatchOutcome> {
  const info = workflowInfo();
  const entity =
    'opening' in input
      ? WatchEntity.open(input.opening, info.workflowId, info.firstExecutionRunId, Date.now())
      : WatchEntity.continued(input.continued);
  const { state } = entity;

  setHandler(openWatchUpdate, async (request) => {
    // The caller reads the table next: answer once the watch is in it.
    await condition(() => state.projectedVersion >= 1);
    return { created: request.requestId === state.openingRequestId, watch: entity.view() };
  });
  for (const name of Object.keys(UPDATES) as WatchMessageName[]) {
    setHandler(
      UPDATES[name],
      async (msg: WatchMessages[typeof name]): Promise<WatchResult> => {
        const outcome = entity.accept(name, msg, Date.now());
        if (outcome === 'duplicate') return { applied: false, watch: entity.view() };
        if (outcome) throw refused(outcome);
        const version = entity.nextVersion;
        await condition(() => state.projectedVersion >= version);
        return { applied: true, watch: entity.view() };
      },
      {
        // Refused here, a message costs the watch's history nothing.
        validator: (msg: WatchMessages[typeof name]) => {
          const refusal = entity.validate(name, msg);
          if (refusal) throw refused(refusal);
        },
      },
    );
  }
  setHandler(handOverWatchSignal, (msg) => entity.handOver(msg, Date.now()));
  setHandler(watchStateQuery, () => entity.view());

  async function flush(): Promise<void> {
    for (let batch = entity.takeBatch(); batch; batch = entity.takeBatch()) {
      try {
        await projectWatch(batch);
      } catch (err) {
        if (!refusedByLedger(err)) throw err;
        // The watch goes on: the next batch carries its whole view and rewrites the row.
        log.error('the watches table refused a batch; its events are not in the trail', { watchId: state.watchId, version: batch.version, error: String(err) });
      }
      entity.markProjected(batch.version);
    }
    if (state.state === 'handed_over' && !state.caseTold) {
      // The case records the watch's id and history in its own trail (`watch_linked`).
      await getExternalWorkflowHandle(state.caseId!)
        .signal(watchLinkedSignal, entity.link())
        .catch((err) => log.warn('the case did not take the watch link', { caseId: state.caseId, error: String(err) }));
      entity.markCaseTold();
    }
  }

  for (;;) {
    entity.advance(Date.now());
    await flush();
    if (entity.finished || workflowInfo().continueAsNewSuggested) break;
    const wakeAt = entity.nextWakeMs();
    await condition(() => entity.hasPending(), wakeAt === null ? undefined : Math.max(1, wakeAt - Date.now()));
  }

  // An update waiting for the table is answered before the run ends.
  do {
    await condition(() => allHandlersFinished() || entity.hasPending());
    await flush();
  } while (entity.hasPending() || !allHandlersFinished());
  if (!entity.finished) {
    await continueAsNew<typeof riskWatch>({ continued: state });
  }
  return { watchId: state.watchId, state: state.state, caseId: state.caseId };
}
