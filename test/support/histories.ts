import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';

/** Histories of real test cases, committed so every later change to the workflow must replay
 * them: a running case's past cannot change. */
export const HISTORIES_DIR = fileURLToPath(new URL('../histories', import.meta.url));

/** Writes a history only when asked (RECORD_HISTORIES=1), so ordinary runs leave the committed
 * ones alone. Record anew only alongside a deliberate, patched change. */
export async function saveHistory(name: string, history: temporal.api.history.v1.IHistory): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(history));
}

export function savedHistories(): { name: string; history: temporal.api.history.v1.IHistory }[] {
  return readdirSync(HISTORIES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ name: file, history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))) }));
}
