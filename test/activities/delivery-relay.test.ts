import { describe, expect, it } from 'vitest';
import type { CaseDelivery } from '../../activities/delivery';
import { createDeliveryRelay } from '../../activities/delivery-relay';
import { createLogger } from '../../logger';

const logger = createLogger('silent');
const OPTIONS = { concurrency: 2, retryBaseMs: 50, retryMaxMs: 200 };
const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

/** An outbox whose deliveries the test answers one by one (PostgreSQL's own behaviour is
 * tested against PostgreSQL in delivery.test.ts). */
function heldOutbox() {
  const calls: { caseId: string; answer: (result: CaseDelivery | Error) => void }[] = [];
  return {
    calls,
    deliverCase: (caseId: string) =>
      new Promise<CaseDelivery>((resolve, reject) => {
        calls.push({ caseId, answer: (result) => (result instanceof Error ? reject(result) : resolve(result)) });
      }),
  };
}
const SENT: CaseDelivery = { sent: 1, retrying: [] };

describe('the delivery relay', () => {
  it('sends a case kicked while it is being sent once more after it, and no more', async () => {
    const outbox = heldOutbox();
    const relay = createDeliveryRelay(outbox, OPTIONS, logger);
    relay.kick('case-A');
    relay.kick('case-A');
    relay.kick('case-A');
    expect(outbox.calls.map((c) => c.caseId)).toEqual(['case-A']);
    outbox.calls[0]!.answer(SENT);
    await settle();
    expect(outbox.calls.map((c) => c.caseId)).toEqual(['case-A', 'case-A']);
    outbox.calls[1]!.answer(SENT);
    await settle(100);
    expect(outbox.calls).toHaveLength(2);
    await relay.stop();
  });

  it('sends as many cases at a time as it is allowed, the rest as they finish', async () => {
    const outbox = heldOutbox();
    const relay = createDeliveryRelay(outbox, OPTIONS, logger);
    for (const caseId of ['case-A', 'case-B', 'case-C']) relay.kick(caseId);
    expect(outbox.calls.map((c) => c.caseId)).toEqual(['case-A', 'case-B']);
    outbox.calls[1]!.answer(SENT);
    await settle();
    expect(outbox.calls.map((c) => c.caseId)).toEqual(['case-A', 'case-B', 'case-C']);
    outbox.calls[0]!.answer(SENT);
    outbox.calls[2]!.answer(SENT);
    await relay.stop();
  });

  it('tries a case again after a row’s backoff, and after its own growing one when the outbox cannot be reached', async () => {
    const outbox = heldOutbox();
    const relay = createDeliveryRelay(outbox, OPTIONS, logger);
    relay.kick('case-A');
    outbox.calls[0]!.answer({ sent: 0, retrying: [{ id: 'row-1', error: 'busy', retryInMs: 80 }] });
    await settle(40);
    expect(outbox.calls).toHaveLength(1);
    await settle(80);
    expect(outbox.calls).toHaveLength(2);
    outbox.calls[1]!.answer(new Error('connection refused'));
    await settle(90); // 50 ms, the first failure's wait
    expect(outbox.calls).toHaveLength(3);
    outbox.calls[2]!.answer(new Error('connection refused'));
    await settle(60);
    expect(outbox.calls).toHaveLength(3); // 100 ms, the second's
    await settle(80);
    expect(outbox.calls).toHaveLength(4);
    outbox.calls[3]!.answer(SENT);
    await relay.stop();
  });

  it('waits on stop for the sends under way, and then neither retries nor takes kicks', async () => {
    const outbox = heldOutbox();
    const relay = createDeliveryRelay(outbox, OPTIONS, logger);
    relay.kick('case-A');
    let stopped = false;
    const stopping = relay.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    outbox.calls[0]!.answer({ sent: 0, retrying: [{ id: 'row-1', error: 'busy', retryInMs: 10 }] });
    await stopping;
    relay.kick('case-B');
    await settle(60);
    expect(outbox.calls.map((c) => c.caseId)).toEqual(['case-A']);
  });
});
