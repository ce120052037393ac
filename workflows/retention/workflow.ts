import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../../activities';

type Activities = ReturnType<typeof createActivities>;

export const RETENTION_WORKFLOW_TYPE = 'personalDataRetention';
/** Cases erased per activity call: one call stays well inside its timeout. */
export const ERASURE_BATCH = 100;

const { erasePersonalData } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '5m' },
});

export interface RetentionOutcome {
  /** Cases whose parties' personal data this run erased. */
  erased: number;
}

/**
 * One pass of the retention policy, started by its Temporal Schedule
 * (temporal/retention-schedule.ts): erases, batch by batch, the parties' personal data of every
 * case closed longer than its policy keeps it.
 */
export async function personalDataRetention(): Promise<RetentionOutcome> {
  let erased = 0;
  for (;;) {
    const batch = await erasePersonalData({ limit: ERASURE_BATCH });
    erased += batch.erased;
    // A batch that erased nothing (every case in it taken by a new episode) would repeat itself.
    if (!batch.more || batch.erased === 0) return { erased };
  }
}
