import { proxyActivities, uuid4 } from '@temporalio/workflow';
import type { createActivities } from '../../activities';
import type { IntakeRunSummary } from '../../api/schemas/intake';

type Activities = ReturnType<typeof createActivities>;

export const INTAKE_WORKFLOW_TYPE = 'dailyIntake';

const { listIntakeFiles } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 10 },
});
// A file of 10,000 rows takes minutes; the heartbeat (every row) catches a dead worker sooner.
// A retried attempt repeats the run under its id: rows already applied answer as before.
const { takeInIntakeFile } = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '10s', maximumInterval: '5m', maximumAttempts: 20 },
});

/**
 * The daily intake, started by its Temporal Schedule (temporal/intake-schedule.ts): every list
 * file waiting in the intake folder, oldest name first, taken in as the endpoint takes a list in
 * (api/intake), each run recorded with its report, each file then moved aside.
 */
export async function dailyIntake(): Promise<IntakeRunSummary[]> {
  const files = await listIntakeFiles();
  const runs: IntakeRunSummary[] = [];
  for (const file of files) runs.push(await takeInIntakeFile({ file, runId: `schedule-${uuid4()}` }));
  return runs;
}
