import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Caller } from '../api/auth/tokens';
import { csvRows } from '../api/intake/csv';
import { findRun } from '../api/intake/runs';
import { takeIntake } from '../api/intake/take';
import type { IntakeRunSummary } from '../api/schemas/intake';
import type { Config } from '../config';
import type { Database } from '../db/client';

/** Who takes the scheduled list in: the schedule, not a person. */
export const INTAKE_SCHEDULE_CALLER: Caller = { sub: 'intake-schedule', role: 'system', branch: null };
/** Where a file goes once taken in, inside the intake folder: never taken twice. */
export const PROCESSED_FOLDER = 'processed';

export interface IntakeSettings {
  /** The folder the schedule reads `*.csv` lists from. */
  directory: string;
  householdKey: string;
  concurrency: number;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

/** The schedule's activities; the case task queue and the worker's client open and update the cases. */
export function createIntakeActivities(db: Database, settings: IntakeSettings | undefined) {
  const configured = (): IntakeSettings => {
    if (!settings) throw ApplicationFailure.nonRetryable('this worker has no intake settings (INTAKE_DIRECTORY)', 'IntakeNotConfigured');
    return settings;
  };

  /** Moves the file aside; a name already there (the same list sent again) keeps the run's id. */
  async function moveAside(directory: string, file: string, runId: string): Promise<void> {
    const processed = join(directory, PROCESSED_FOLDER);
    await mkdir(processed, { recursive: true });
    const taken = new Set(await readdir(processed));
    try {
      await rename(join(directory, file), join(processed, taken.has(file) ? `${runId}-${file}` : file));
    } catch (err) {
      if (!isMissing(err)) throw err; // moved by an earlier attempt
    }
  }

  return {
    /** The list files waiting in the folder, by name. */
    async listIntakeFiles(): Promise<string[]> {
      const { directory } = configured();
      await mkdir(directory, { recursive: true });
      const entries = await readdir(directory, { withFileTypes: true });
      return entries.filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.csv')).map((e) => e.name).sort();
    },

    async takeInIntakeFile({ file, runId }: { file: string; runId: string }): Promise<IntakeRunSummary> {
      const { directory, householdKey, concurrency } = configured();
      const context = Context.current();
      const kept = await findRun(db, runId);
      // An earlier attempt recorded the run and stopped before moving the file.
      if (kept?.finishedAt) {
        await moveAside(directory, file, runId);
        const { results: _results, ...summary } = kept;
        return summary;
      }
      let text: string;
      try {
        text = await readFile(join(directory, file), 'utf8');
      } catch (err) {
        if (isMissing(err)) throw ApplicationFailure.nonRetryable(`the list ${file} is no longer in the intake folder`, 'IntakeFileGone');
        throw err;
      }
      const parsed = csvRows(text);
      // A file that is not an overdue list (its header, or not CSV at all) is one rejected row, moved aside.
      const list = Array.isArray(parsed) ? { rows: [{}], lineErrors: [parsed] } : parsed;
      const deps = { db, temporal: context.client, taskQueue: context.info.taskQueue, householdKey, concurrency };
      const report = await takeIntake(deps, {
        runId,
        source: 'schedule',
        file,
        caller: INTAKE_SCHEDULE_CALLER,
        ...list,
        onProgress: (done, total) => context.heartbeat({ done, total }),
      });
      await moveAside(directory, file, runId);
      const { results: _results, ...summary } = report;
      return summary;
    },
  };
}

export function intakeSettingsFrom(config: Pick<Config, 'INTAKE_DIRECTORY' | 'HOUSEHOLD_KEY' | 'INTAKE_CONCURRENCY'>): IntakeSettings {
  return { directory: config.INTAKE_DIRECTORY, householdKey: config.HOUSEHOLD_KEY, concurrency: config.INTAKE_CONCURRENCY };
}
