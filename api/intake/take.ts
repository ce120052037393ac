import type { Caller } from '../auth/tokens';
import type { FieldError } from '../errors';
import type { IntakeReport, IntakeSource } from '../schemas/intake';
import { runIntake, type IntakeDeps } from './run';
import { finishRun, keptRows, recordRows, startRun } from './runs';

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

/** One run, recorded: its start, its rows chunk by chunk as they are answered, and its end. The
 * endpoint and the schedule's activity both come here; an attempt after one that stopped midway
 * takes only the rows the first did not keep. */
export async function takeIntake(deps: IntakeDeps, intake: TakeIntake): Promise<IntakeReport> {
  await startRun(deps.db, { runId: intake.runId, source: intake.source, file: intake.file, caller: intake.caller });
  const kept = await keptRows(deps.db, intake.runId);
  const results = await runIntake(deps, { ...intake, kept, record: (taken) => recordRows(deps.db, intake.runId, taken) });
  const summary = await finishRun(deps.db, intake.runId);
  return { ...summary, results };
}
