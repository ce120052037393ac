/**
 * The benchmark's baseline: the least a long-lived workflow can do per wake. It waits on one
 * timer (a fixed number of times), then on messages alone (a signal or an update, no timer
 * pending, as a quiet case at hand 6), and records one local-activity marker per wake, as the
 * case records one projection per wake. Bundled on its own, apart from the case workflows.
 */
import { condition, defineQuery, defineSignal, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export interface BaselineActivities {
  mark(wake: number): Promise<void>;
}

export const pokeSignal = defineSignal<[]>('poke');
/** Answers once the wake it caused has recorded its marker, as the case's updates answer once
 * the ledger holds the change. */
export const pokeUpdate = defineUpdate<number, []>('poke');
export const wakesQuery = defineQuery<number>('wakes');
/** Answers once an ordinary activity has run, the shape of a case's update since its projection
 * became an activity scheduled by the completed task (patch `projection-after-task`). */
export const pokeByActivityUpdate = defineUpdate<number, []>('pokeByActivity');

const { mark } = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '10s' });
const { mark: markByActivity } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '10s' });

export async function minimalWorkflow({ timerWakes, timerMs }: { timerWakes: number; timerMs: number }): Promise<void> {
  let pokes = 0;
  let wakes = 0;
  setHandler(pokeSignal, () => void pokes++);
  setHandler(pokeUpdate, async () => {
    const wake = wakes;
    pokes++;
    await condition(() => wakes > wake);
    return wakes;
  });
  setHandler(wakesQuery, () => wakes);
  setHandler(pokeByActivityUpdate, async () => {
    await markByActivity(wakes);
    return wakes;
  });
  // Pokes counted from the start: an update-with-start's poke lands before the loop first waits.
  let seen = 0;
  for (;;) {
    if (wakes < timerWakes) await condition(() => pokes > seen, timerMs);
    else await condition(() => pokes > seen);
    seen = pokes;
    await mark(wakes);
    wakes++;
  }
}
