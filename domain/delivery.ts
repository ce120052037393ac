/**
 * Where notifications are delivered. Pure: the case workflow imports it to schedule delivery on
 * a task queue of its own, so a slow gateway never holds up the workers that run cases.
 */

/** The task queue of the delivery activities beside a case task queue. */
export function deliveryTaskQueue(caseTaskQueue: string): string {
  return `${caseTaskQueue}-delivery`;
}
