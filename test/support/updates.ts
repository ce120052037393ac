import type { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { answeredBatch, type WithBatch } from '../../activities/contract';
import { bringLedgerTo } from '../../db/answered-batch';
import type { Database } from '../../db/client';
import type { CaseView } from '../../domain';

/**
 * An update to a case answered as the API answers it: once the ledger holds what it changed.
 * The case answers with the batch that holds the message (ANSWER_WITH_BATCH_PATCH), which the
 * API writes before it answers; a test that reads the ledger next needs the same.
 */
export async function updateCase<R extends { case: CaseView }, A extends [unknown, ...unknown[]]>(
  client: Client,
  db: Database,
  caseId: string,
  update: UpdateDefinition<R, A>,
  options: { args: A; updateId?: string },
): Promise<R> {
  const { result, batch } = answeredBatch((await client.workflow.getHandle(caseId).executeUpdate(update, options)) as WithBatch<R>);
  if (batch && !(await bringLedgerTo(db, batch, 10_000))) throw new Error(`the ledger did not reach version ${batch.version} of ${caseId}`);
  return result;
}
