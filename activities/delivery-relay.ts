import { describeDatabaseError } from '../db/errors';
import type { Logger } from '../logger';
import type { Outbox } from './delivery';

/**
 * Sends a case's letters from the outbox once the projection has put them there, in the worker
 * that projected them, without an activity of their own: a case whose run asks for the relay
 * (RELAYED_DELIVERY in the case workflow) saves an activity and a workflow task, six history
 * events, on every batch that carries letters.
 *
 * What Temporal's activity retry did for a failed letter, the relay does while its process lives:
 * it sends the case's rows again after the row's backoff, or after its own when PostgreSQL could
 * not be reached. A process that dies leaves pending rows to the sweeper, which takes a row its
 * case's delivery never tried once `sweepGraceMs` has passed. The claims keep the relay, the
 * sweeper and the delivery activity of older runs from sending one row twice.
 */
export interface DeliveryRelay {
  /** The case has pending rows: send them soon. Never throws; a kick while the case is being
   * sent sends once more after it, for rows written meanwhile. */
  kick(caseId: string): void;
  /** Stops taking kicks and retries, and waits for the sends under way. */
  stop(): Promise<void>;
}

export interface DeliveryRelayOptions {
  /** Cases sent at a time. */
  concurrency: number;
  /** The wait before trying a case again whose delivery failed outright (PostgreSQL down):
   * base × 2^(failures − 1), at most max. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export function createDeliveryRelay(outbox: Pick<Outbox, 'deliverCase'>, options: DeliveryRelayOptions, logger: Logger): DeliveryRelay {
  const queue = new Set<string>();
  const sending = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const failures = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const later = (caseId: string, delayMs: number) => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      relay.kick(caseId);
    }, delayMs);
    timer.unref();
    timers.add(timer);
  };

  const send = async (caseId: string) => {
    try {
      const { retrying } = await outbox.deliverCase(caseId);
      failures.delete(caseId);
      if (retrying.length > 0) later(caseId, Math.min(...retrying.map((r) => r.retryInMs)));
    } catch (err) {
      const failed = (failures.get(caseId) ?? 0) + 1;
      failures.set(caseId, failed);
      const delayMs = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (failed - 1));
      logger.warn({ caseId, delayMs, error: describeDatabaseError(err).message }, 'letters not sent; the relay tries the case again');
      later(caseId, delayMs);
    }
  };

  const pump = () => {
    for (const caseId of queue) {
      if (stopped || sending.size >= options.concurrency) return;
      queue.delete(caseId);
      const done = send(caseId).finally(() => {
        sending.delete(caseId);
        if (again.delete(caseId)) relay.kick(caseId);
        pump();
      });
      sending.set(caseId, done);
    }
  };

  const relay: DeliveryRelay = {
    kick(caseId) {
      if (stopped) return;
      if (sending.has(caseId)) again.add(caseId);
      else queue.add(caseId);
      pump();
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      queue.clear();
      await Promise.all(sending.values());
    },
  };
  return relay;
}
