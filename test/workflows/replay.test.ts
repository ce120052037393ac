import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { savedHistories } from '../support/histories';
import { workflowBundle } from '../support/harness';

describe('replay of saved histories', () => {
  const histories = savedHistories();

  it('has histories to replay', () => {
    expect(histories.map((h) => h.name).length).toBeGreaterThanOrEqual(6);
  });

  it.each(histories.map((h) => [h.name, h] as const))('replays %s without nondeterminism', async (_name, { workflowId, history }) => {
    const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, [{ workflowId, history }]);
    for await (const result of results) expect(result.error).toBeUndefined();
  });
});
