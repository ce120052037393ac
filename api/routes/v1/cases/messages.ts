import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WorkflowNotFoundError, type SignalDefinition } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static, TObject } from 'typebox';
import {
  addNoteSignal,
  addNoteUpdate,
  classifySignal,
  classifyUpdate,
  assignOfficerSignal,
  assignOfficerUpdate,
  pauseSignal,
  pauseUpdate,
  promiseToPaySignal,
  promiseToPayUpdate,
  recordContactSignal,
  recordContactUpdate,
  recordPaymentSignal,
  recordPaymentUpdate,
  resumeSignal,
  resumeUpdate,
  type MessageMeta,
  type MessageResult,
} from '../../../../domain';
import { assertCaseAccess, type Permission } from '../../../auth/access';
import { badRequest, caseConflict, notFound, serviceUnavailable, type FieldError } from '../../../errors';
import { requestIdOf } from '../../../request-id';
import { callerOf } from '../../../plugins/app/authorization';
import { toCaseDetail, type CaseRow } from '../../../plugins/app/cases-repository';
import { refusalProblem } from '../../../refusals';
import { checkCalendarDate, checkPaidAt } from '../../../rules';
import { CaseDetailSchema, MessageAcceptedSchema } from '../../../schemas/cases';
import { BEARER_SECURITY, CaseParamsSchema, described, IdempotencyHeadersSchema } from '../../../schemas/common';
import {
  AddNoteSchema,
  AssignOfficerSchema,
  ClassifyCaseSchema,
  MessageQuerySchema,
  PauseCaseSchema,
  PromiseToPaySchema,
  RecordContactSchema,
  RecordPaymentSchema,
  ResumeCaseSchema,
} from '../../../schemas/messages';
import { CASE_ERROR_RESPONSES, CONFLICT_RESPONSE, ProblemSchema } from '../../../schemas/problem';
import { sendMessageToLedger } from '../../../temporal/cases';
import { allocationOf, creditShares, type Share } from './shares';

interface MessageRoute<S extends TObject, M extends MessageMeta> {
  path: string;
  summary: string;
  description: string;
  body: S;
  permission: Permission;
  update: UpdateDefinition<MessageResult, [M]>;
  signal: SignalDefinition<[M]>;
  /** The message: the body, its request id, its sender and when it was sent. */
  message(body: Static<S>, meta: MessageMeta): M;
  /** Field checks beyond the schema that need no case (formats, the wall clock). */
  check?(body: Static<S>): FieldError[];
  /** Money that a measure covering several cases recovered: this case's part of the body, and
   * the other cases' shares, credited once this case has taken its own. */
  split?(fastify: FastifyInstance, caseId: string, body: Static<S>): Promise<{ body: Static<S>; measureId: string; shares: Share[] } | null>;
}

export const MESSAGE_DESCRIPTION = `

The case answers at once. **200** with the case once the ledger holds the change; **409** when the case's state forbids the message, **422** when the case cannot accept what it says (a date outside what the case's calendar allows, an amount…): both name the \`reason\` and what the case would accept (\`accepted\`), and cost the case nothing. **503** with \`Retry-After\` when no worker answers within a few seconds: the case may still apply the message when a worker returns; retry with the same \`Idempotency-Key\` for its answer (never applied twice), or send with \`?async=true\` to queue it durably (**202**; the case applies it as of when it was sent, or records its refusal in the business trail). The \`Idempotency-Key\` is the request id: a retried call answers as the first did and has no second effect.`;

/** What every message route may answer besides its success. */
export const MESSAGE_RESPONSES = {
  202: described(MessageAcceptedSchema, 'With `?async=true`: queued for the case under `requestId`'),
  ...CASE_ERROR_RESPONSES,
  409: CONFLICT_RESPONSE,
  422: described(ProblemSchema, 'The case cannot accept what the message says; `errors` names the field, `accepted` what it would take'),
  503: described(ProblemSchema, 'No worker answered in time (retry with the same Idempotency-Key for the answer), or Temporal or PostgreSQL is unavailable; see `Retry-After`'),
} as const;

function registerMessageRoute<S extends TObject, M extends MessageMeta>(fastify: FastifyInstance, route: MessageRoute<S, M>): void {
  fastify.post(
    `/:caseId/${route.path}`,
    {
      preValidation: fastify.requireRole(route.permission),
      schema: {
        summary: route.summary,
        description: route.description + MESSAGE_DESCRIPTION,
        tags: ['messages'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: MessageQuerySchema,
        headers: IdempotencyHeadersSchema,
        body: route.body,
        response: {
          200: described(CaseDetailSchema, 'The case after it applied the message'),
          ...MESSAGE_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const { caseId } = request.params as Static<typeof CaseParamsSchema>;
      const { async: queue = false } = request.query as Static<typeof MessageQuerySchema>;
      const sent = request.body as Static<S>;
      const errors = route.check?.(sent) ?? [];
      if (errors.length > 0) throw badRequest(errors);
      const split = queue ? null : ((await route.split?.(fastify, caseId, sent)) ?? null);
      const body = split?.body ?? sent;

      const outcome = await deliverMessage(fastify, request, {
        caseId,
        permission: route.permission,
        update: route.update,
        signal: route.signal,
        queue,
        message: (meta) => route.message(body, meta),
      });
      if (outcome.kind === 'queued') return reply.code(202).send({ caseId, requestId: outcome.requestId });
      if (split) await creditShares(fastify, request, outcome.requestId, split.shares, (sent as { reference: string }).reference, split.measureId);
      return reply.code(200).send(toCaseDetail(outcome.row));
    },
  );
}

/**
 * A guarantor's payment while a guarantor claim covering several cases of the household is in
 * progress (one guarantor backing both loans): shared among the covered cases by the claim's
 * rule. This case credits its share under the guarantor's name (within what they guaranteed);
 * the others theirs as the claim's recovery.
 */
async function guarantorClaimShares(fastify: FastifyInstance, caseId: string, body: Static<typeof RecordPaymentSchema>) {
  if (!body.payer?.startsWith('guarantor:')) return null;
  const row = await fastify.casesRepository.findCase(caseId);
  const claim = row?.measures.find((m) => m.type === 'guarantor_claim' && m.state === 'in_progress' && (m.covers?.length ?? 0) > 1);
  if (!claim) return null;
  const allocated = await allocationOf(fastify, caseId, claim.measureId, body.amount);
  const own = allocated.find((a) => a.caseId === caseId)?.amount ?? 0;
  if (own === 0) return null;
  return { body: { ...body, amount: own }, measureId: claim.measureId, shares: allocated.filter((a) => a.caseId !== caseId) };
}

export type Delivered = { kind: 'queued'; requestId: string } | { kind: 'applied'; requestId: string; result: MessageResult; row: CaseRow };

/**
 * Brings a message to its case, checked against the caller's reach: queued durably as a signal
 * (`queue`), or as an update answered at once. A refusal is recorded and thrown as its problem;
 * a case whose workflow no longer runs is a 409; no worker in time is a 503.
 */
export async function deliverMessage<M extends MessageMeta>(
  fastify: FastifyInstance,
  request: FastifyRequest,
  options: {
    caseId: string;
    permission: Permission;
    update: UpdateDefinition<MessageResult, [M]>;
    signal: SignalDefinition<[M]>;
    queue: boolean;
    message(meta: MessageMeta): M;
  },
): Promise<Delivered> {
  const { caseId } = options;
  const caller = callerOf(request);
  const repository = fastify.casesRepository;
  const row = await repository.findCase(caseId);
  if (!row) throw notFound(`No case ${caseId}`);
  assertCaseAccess(caller, options.permission, row);
  const message = options.message({ requestId: requestIdOf(request), by: { sub: caller.sub, role: caller.role }, sentAt: new Date().toISOString() });

  if (options.queue) {
    try {
      await fastify.temporal.workflow.getHandle(caseId).signal(options.signal, message);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw caseConflict('case_closed', `The workflow of ${caseId} is not running`);
      throw err;
    }
    return { kind: 'queued', requestId: message.requestId };
  }

  const outcome = await sendMessageToLedger(fastify.temporal, fastify.db, caseId, options.update, message);
  switch (outcome.kind) {
    case 'applied':
      return { kind: 'applied', requestId: message.requestId, result: outcome.result, row: (await repository.findCase(caseId)) ?? row };
    case 'refused':
      await repository
        .recordRefusal(caseId, options.update.name, message, outcome.refusal)
        .catch((err: unknown) => request.log.warn({ err }, 'could not record a refused message'));
      throw refusalProblem(outcome.refusal);
    case 'not_running':
      throw caseConflict('case_closed', `The workflow of ${caseId} is not running: the case is closed`);
    case 'timeout':
      // Temporal keeps the update for the case's next worker: a retry with the same key
      // learns its outcome and never applies it twice.
      throw serviceUnavailable(
        `No worker answered for ${caseId} in time; the case may still apply the message when one returns. Retry with Idempotency-Key: ${message.requestId} for its answer (it is never applied twice), or send with ?async=true to queue it`,
      );
  }
}

const messages: FastifyPluginAsyncTypebox = async (fastify) => {
  registerMessageRoute(fastify, {
    path: 'contacts',
    summary: 'Record a contact attempt and its outcome',
    description: 'An officer reached (or tried to reach) the borrower: channel, outcome and a note.',
    body: RecordContactSchema,
    permission: 'message',
    update: recordContactUpdate,
    signal: recordContactSignal,
    message: (body, meta) => ({ ...body, ...meta }),
  });

  registerMessageRoute(fastify, {
    path: 'payments',
    summary: 'Record a payment',
    description:
      'A payment the borrower made (partial payments are normal: small amounts, often). `paidAt` may lie in the past, never in the future; `reference` is unique within the case.',
    body: RecordPaymentSchema,
    permission: 'message',
    update: recordPaymentUpdate,
    signal: recordPaymentSignal,
    message: (body, meta) => ({ ...body, ...meta }),
    check: (body) => checkPaidAt(body.paidAt),
    split: guarantorClaimShares,
  });

  registerMessageRoute(fastify, {
    path: 'promises',
    summary: 'Record a promise to pay',
    description: 'The borrower promised to pay `amount` by the end of `dueDate`, a date on the case\'s calendar from its `caseDate` to `maxPromiseDays` later. One promise may be open at a time.',
    body: PromiseToPaySchema,
    permission: 'message',
    update: promiseToPayUpdate,
    signal: promiseToPaySignal,
    message: (body, meta) => ({ ...body, ...meta }),
    check: (body) => checkCalendarDate('dueDate', body.dueDate),
  });

  registerMessageRoute(fastify, {
    path: 'notes',
    summary: 'Add a progress note',
    description: 'An officer\'s report: recent results, the problems met and the next steps for each.',
    body: AddNoteSchema,
    permission: 'message',
    update: addNoteUpdate,
    signal: addNoteSignal,
    message: (body, meta) => ({ ...body, ...meta }),
  });

  registerMessageRoute(fastify, {
    path: 'classification',
    summary: 'Override the recovery likelihood',
    description:
      'An officer\'s judgement of the recovery likelihood (likely 回收可能性大, difficult 较难, unlikely 不可能), with a reason, outranks what the policy\'s rules give while it stands; `likelihood: null` withdraws it. Recorded in the business trail with the rule the policy had applied. **409** `classification_unchanged` for an override that changes nothing.',
    body: ClassifyCaseSchema,
    permission: 'message',
    update: classifyUpdate,
    signal: classifySignal,
    message: (body, meta) => ({ ...body, ...meta }),
  });

  registerMessageRoute(fastify, {
    path: 'assignment',
    summary: 'Assign the case to an officer (supervisors, admins, systems)',
    description: 'Hands the case to the officer `officerId`.',
    body: AssignOfficerSchema,
    permission: 'assign',
    update: assignOfficerUpdate,
    signal: assignOfficerSignal,
    message: (body, meta) => ({ ...body, ...meta }),
  });

  registerMessageRoute(fastify, {
    path: 'pause',
    summary: 'Pause collection (supervisors, admins)',
    description: 'Stops escalation for a reason (dispute, hardship, legal hold, …), until a date after the case\'s date or until resumed.',
    body: PauseCaseSchema,
    permission: 'pause',
    update: pauseUpdate,
    signal: pauseSignal,
    message: (body, meta) => ({ ...body, ...meta }),
    check: (body) => (body.until === undefined ? [] : checkCalendarDate('until', body.until)),
  });

  registerMessageRoute(fastify, {
    path: 'resume',
    summary: 'Resume collection (supervisors, admins)',
    description: 'Ends a pause; escalation continues where the paused days leave it. The body is a JSON object, `{}` at least.',
    body: ResumeCaseSchema,
    permission: 'pause',
    update: resumeUpdate,
    signal: resumeSignal,
    message: (body, meta) => ({ ...body, ...meta }),
  });
};

export default messages;
