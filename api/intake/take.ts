import type { Caller } from '../auth/tokens';
import type { FieldError } from '../errors';
import type { IntakeReport, IntakeSource } from '../schemas/intake';
import { runIntake, type IntakeDeps } from './run';
import { finishRun, startRun } from './runs';

export interface TakeIntake {
  runId: string;
  source: IntakeSource;
  file: string | null;
  caller: Caller;
  rows: unknown[];
  lineErrors?: FieldError[][];
  column?: (field: string) => string;
  onProgress?: (done: number, total: number) => void;
}

/** One run, recorded: its start, every row, and its report. The endpoint and the schedule's
 * activity both come here. */
export async function takeIntake(deps: IntakeDeps, intake: TakeIntake): Promise<IntakeReport> {
  await startRun(deps.db, { runId: intake.runId, source: intake.source, file: intake.file, caller: intake.caller });
  const results = await runIntake(deps, intake);
  const summary = await finishRun(deps.db, intake.runId, results);
  return { ...summary, results };
}
