import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CLOSED_STAGES, allocate, recordPaymentUpdate, type CaseStage } from '../../../../domain';
import { serviceUnavailable } from '../../../errors';
import { callerOf } from '../../../plugins/app/authorization';
import { sendMessageToLedger } from '../../../temporal/cases';

export interface Share {
  caseId: string;
  amount: number;
}

/** The shares of what a measure recovered among the open cases it covers, by its rule, from
 * their arrears in the ledger now. */
export async function allocationOf(fastify: FastifyInstance, caseId: string, measureId: string, net: number): Promise<Share[]> {
  const own = await fastify.casesRepository.findCase(caseId);
  const measure = own?.measures.find((m) => m.measureId === measureId);
  if (!own || !measure) return [];
  const covered = await Promise.all((measure.covers ?? [caseId]).map((id) => fastify.casesRepository.findCase(id)));
  const open = covered.filter((row): row is NonNullable<typeof row> => row !== undefined && !CLOSED_STAGES.includes(row.stage as CaseStage));
  return allocate(net, open.map((row) => ({ caseId: row.caseId, overdue: row.overdue, overdueSince: row.overdueSince })), measure.allocation ?? 'pro_rata');
}

/**
 * Credits the other covered cases their shares, each once: its request id and reference follow
 * from the request that recovered the money, so a retry with the same Idempotency-Key finishes
 * what a timeout left and credits nothing twice.
 */
export async function creditShares(
  fastify: FastifyInstance,
  request: FastifyRequest,
  requestId: string,
  shares: Share[],
  reference: string,
  measureId: string,
): Promise<void> {
  const caller = callerOf(request);
  for (const share of shares) {
    const credited = await sendMessageToLedger(fastify.temporal, fastify.db, share.caseId, recordPaymentUpdate, {
      requestId: `${requestId}:${share.caseId}`,
      by: { sub: caller.sub, role: caller.role },
      sentAt: new Date().toISOString(),
      amount: share.amount,
      paidAt: new Date().toISOString(),
      reference: `${reference}@${measureId}`,
      payer: `measure:${measureId}`,
    });
    if (credited.kind === 'timeout') {
      throw serviceUnavailable(`The share of ${share.caseId} is not credited yet; retry with the same Idempotency-Key to finish (nothing is credited twice)`);
    }
    if (credited.kind === 'refused' && credited.refusal.reason !== 'duplicate_reference') {
      request.log.warn({ caseId: share.caseId, reason: credited.refusal.reason }, 'a covered case refused its share');
    }
  }
}
