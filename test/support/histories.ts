import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { workflowIdForLoan } from '../../domain';
import { openPayload, payloadKeyring } from '../../temporal/codec';

type History = temporal.api.history.v1.IHistory;
type Payload = temporal.api.common.v1.IPayload;

/** The key tests run with (test/support/harness.ts testDataConverter): the development key. */
const TEST_KEYRING = payloadKeyring({});

/**
 * The history with its payloads decrypted in place: saved histories are plain JSON, readable and
 * replayable without a key, whichever key the run that recorded them used.
 */
export function decryptHistory(history: History): History {
  const visit = (value: unknown, depth: number): void => {
    if (depth > 64 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
    if (Array.isArray(value)) return value.forEach((item) => visit(item, depth + 1));
    const payload = value as Payload;
    if (payload.data instanceof Uint8Array && typeof payload.metadata === 'object' && payload.metadata !== null) {
      const opened = openPayload(TEST_KEYRING, payload as never);
      payload.metadata = opened.metadata ?? {};
      payload.data = opened.data ?? new Uint8Array();
      return;
    }
    for (const item of Object.values(value)) visit(item, depth + 1);
  };
  visit(history, 0);
  return history;
}

/** Histories of real test cases, committed so every later change to the workflow must replay
 * them: a running case's past cannot change. */
export const HISTORIES_DIR = fileURLToPath(new URL('../histories', import.meta.url));

/** Writes a history only when asked (RECORD_HISTORIES=1), so ordinary runs leave the committed
 * ones alone. Record anew only alongside a deliberate, patched change. */
export async function saveHistory(name: string, history: History): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(join(HISTORIES_DIR, `${name}.json`), historyToJSON(decryptHistory(history)));
}

export function savedHistories(): { name: string; workflowId: string; history: temporal.api.history.v1.IHistory }[] {
  return readdirSync(HISTORIES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const history = decryptHistory(historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'))));
      return { name: file, workflowId: workflowIdOf(history) ?? file, history };
    });
}

/** A case's workflow id, from its input: the case derives its children's ids from it, so a
 * replay must run under the id the history was recorded with. */
function workflowIdOf(history: temporal.api.history.v1.IHistory): string | undefined {
  const data = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    const input = JSON.parse(Buffer.from(data).toString('utf8')) as { opening?: { loan?: { loanId?: string } }; continued?: { caseId?: string }; caseId?: string };
    if (input.opening?.loan?.loanId) return workflowIdForLoan(input.opening.loan.loanId);
    return input.continued?.caseId;
  } catch {
    return undefined;
  }
}
