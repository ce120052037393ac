import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { INTAKE_WORKFLOW_TYPE } from '../workflows/intake/workflow';

export interface IntakeScheduleSettings {
  taskQueue: string;
  /** Cron (minute hour day month weekday), e.g. `30 6 * * *`. */
  cron: string;
  timezone: string;
}

/** One schedule per namespace and task queue: every worker that boots ensures the same one. */
export function intakeScheduleId(taskQueue: string): string {
  return `daily-overdue-intake-${taskQueue}`;
}

function scheduleOptions({ taskQueue, cron, timezone }: IntakeScheduleSettings): ScheduleOptions {
  return {
    scheduleId: intakeScheduleId(taskQueue),
    spec: { cronExpressions: [cron], timezone },
    action: {
      type: 'startWorkflow',
      workflowType: INTAKE_WORKFLOW_TYPE,
      workflowId: intakeScheduleId(taskQueue),
      taskQueue,
      args: [],
    },
    // A run still taking a long list in when the next falls due finishes first; the next one
    // is dropped (the files it would have read are still there for the one after).
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
  };
}

/**
 * Creates the daily intake's Temporal Schedule, or brings an existing one to the configured
 * time and task queue, leaving it paused if an operator paused it: safe at every boot of every
 * worker. Answers whether it was created.
 */
export async function ensureIntakeSchedule(client: Client, settings: IntakeScheduleSettings): Promise<boolean> {
  const options = scheduleOptions(settings);
  try {
    await client.schedule.create(options);
    return true;
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action }));
  return false;
}
