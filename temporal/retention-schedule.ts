import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { RETENTION_WORKFLOW_TYPE } from '../workflows/retention/workflow';

/** One schedule per namespace and task queue: every worker that boots ensures the same one. */
export function retentionScheduleId(taskQueue: string): string {
  return `personal-data-retention-${taskQueue}`;
}

function scheduleOptions(taskQueue: string, everyMinutes: number): ScheduleOptions {
  return {
    scheduleId: retentionScheduleId(taskQueue),
    spec: { intervals: [{ every: `${everyMinutes} minutes` }] },
    action: {
      type: 'startWorkflow',
      workflowType: RETENTION_WORKFLOW_TYPE,
      workflowId: retentionScheduleId(taskQueue),
      taskQueue,
      args: [],
    },
    // A pass still running when the next falls due finishes first: the next one is dropped.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  };
}

/**
 * Creates the retention job's Temporal Schedule, or brings an existing one to the configured
 * interval and task queue: safe at every boot of every worker. Answers whether it was created.
 */
export async function ensureRetentionSchedule(client: Client, taskQueue: string, everyMinutes: number): Promise<boolean> {
  const options = scheduleOptions(taskQueue, everyMinutes);
  try {
    await client.schedule.create(options);
    return true;
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action }));
  return false;
}
