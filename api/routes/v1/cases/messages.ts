import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WorkflowNotFoundError, type SignalDefinition } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static, TObject } from 'typebox';
import {
  addNoteSignal,
  assignOfficerSignal,
  CLOSED_STAGES,
  pauseSignal,
  promiseToPaySignal,
  recordContactSignal,
  recordPaymentSignal,
  resumeSignal,
  type CaseStage,
  type MessageMeta,
} from '../../../../domain';
import { assertCaseAccess, type Permission } from '../../../auth/access';
import { badRequest, caseConflict, notFound, type FieldError, type HttpProblem } from '../../../errors';
import { outcomeOf, requestIdOf, waitForOutcome, type MessageOutcome } from '../../../outcomes';
import { callerOf } from '../../../plugins/app/authorization';
import { toCaseDetail, type CaseRow } from '../../../plugins/app/cases-repository';
import { checkPaidAt, checkPauseUntil, checkPromiseDueDate, todayUtc } from '../../../rules';
import { CaseDetailSchema, MessageAcceptedSchema } from '../../../schemas/cases';
import { BEARER_SECURITY, CaseParamsSchema, described, IdempotencyHeadersSchema } from '../../../schemas/common';
import {
  AddNoteSchema,
  AssignOfficerSchema,
  PauseCaseSchema,
  PromiseToPaySchema,
  RecordContactSchema,
  RecordPaymentSchema,
  ResumeCaseSchema,
  WaitQuerySchema,
} from '../../../schemas/messages';
import { CASE_ERROR_RESPONSES, CONFLICT_RESPONSE } from '../../../schemas/problem';

interface MessageRoute<S extends TObject, M extends MessageMeta> {
  path: string;
  summary: string;
  description: string;
  body: S;
  permission: Permission;
  signal: SignalDefinition<[M]>;
  /** The signal's argument: the body, its request id and its sender. */
  message(body: Static<S>, meta: MessageMeta): M;
  /** Field checks beyond the schema (dates against today). */
  check?(body: Static<S>): FieldError[];
  /** What the ledger already tells: a message the case's state forbids is a 409. */
  conflict?(row: CaseRow, body: Static<S>): HttpProblem | undefined;
  /** Roles allowed to send an empty body (`{}` implied). */
  emptyBody?: boolean;
}

const COMMON_DESCRIPTION = `

Answers **202** once the message is durably queued for the case (this works while no worker runs), or with \`?wait=true\` waits (up to about 10 s) until the case has recorded it: **200** with the case, or **409** with the \`reason\` when the case workflow refused it (if time runs out, 202 as without waiting). The ledger answers 404 for an unknown case and 409 for a message the case's state forbids. An \`Idempotency-Key\` header is used as the request id: a retried call has no second effect.`;

function isClosed(row: CaseRow): boolean {
  return CLOSED_STAGES.includes(row.stage as CaseStage);
}

function closedConflict(row: CaseRow): HttpProblem | undefined {
  return isClosed(row) ? caseConflict('case_closed', `Case ${row.caseId} is closed (${row.stage})`) : undefined;
}

function registerMessageRoute<S extends TObject, M extends MessageMeta>(fastify: FastifyInstance, route: MessageRoute<S, M>): void {
  fastify.post(
    `/:caseId/${route.path}`,
    {
      preValidation: [
        fastify.requireRole(route.permission),
        async (request: FastifyRequest) => {
          if (route.emptyBody && request.body === undefined) request.body = {};
        },
      ],
      schema: {
        summary: route.summary,
        description: route.description + COMMON_DESCRIPTION,
        tags: ['messages'],
        security: BEARER_SECURITY,
        params: CaseParamsSchema,
        querystring: WaitQuerySchema,
        headers: IdempotencyHeadersSchema,
        body: route.body,
        response: {
          200: described(CaseDetailSchema, 'With `?wait=true`: the case after it recorded the message'),
          202: described(MessageAcceptedSchema, 'Queued for the case under `requestId`'),
          ...CASE_ERROR_RESPONSES,
          409: CONFLICT_RESPONSE,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { caseId } = request.params as Static<typeof CaseParamsSchema>;
      const { wait = false } = request.query as Static<typeof WaitQuerySchema>;
      const body = request.body as Static<S>;
      const errors = route.check?.(body) ?? [];
      if (errors.length > 0) throw badRequest(errors);

      const repository = fastify.casesRepository;
      const row = await repository.findCase(caseId);
      if (!row) throw notFound(`No case ${caseId}`);
      assertCaseAccess(caller, route.permission, row);
      const requestId = requestIdOf(request);

      const answer = async (outcome: MessageOutcome) => {
        if (outcome.kind === 'rejected') {
          throw caseConflict(outcome.reason, `The case refused the message: ${outcome.reason}`, true);
        }
        if (outcome.kind === 'recorded') {
          const current = await repository.findCase(caseId);
          if (current) return reply.code(200).send(toCaseDetail(current));
        }
        return reply.code(202).send({ caseId, requestId });
      };

      // A retried call (same Idempotency-Key) that the case already recorded: answer, send nothing.
      if (request.headers['idempotency-key'] !== undefined) {
        const prior = outcomeOf(await repository.eventsForRequest(caseId, requestId));
        if (prior.kind !== 'pending') return wait ? answer(prior) : reply.code(202).send({ caseId, requestId });
      }

      const conflict = closedConflict(row) ?? route.conflict?.(row, body);
      if (conflict) throw conflict;

      try {
        await fastify.temporal.workflow
          .getHandle(caseId)
          .signal(route.signal, route.message(body, { requestId, by: { sub: caller.sub, role: caller.role } }));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw caseConflict('case_closed', `The workflow of ${caseId} is not running`);
        throw err;
      }
      if (!wait) return reply.code(202).send({ caseId, requestId });
      return answer(await waitForOutcome(repository, caseId, requestId));
    },
  );
}

const messages: FastifyPluginAsyncTypebox = async (fastify) => {
  registerMessageRoute(fastify, {
    path: 'contacts',
    summary: 'Record a contact attempt and its outcome',
    description: 'An officer reached (or tried to reach) the borrower: channel, outcome and a note.',
    body: RecordContactSchema,
    permission: 'message',
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
    signal: recordPaymentSignal,
    message: (body, meta) => ({ ...body, ...meta }),
    check: (body) => checkPaidAt(body.paidAt),
  });

  registerMessageRoute(fastify, {
    path: 'promises',
    summary: 'Record a promise to pay',
    description: 'The borrower promised to pay `amount` by the end of `dueDate` (not in the past). One promise may be open at a time.',
    body: PromiseToPaySchema,
    permission: 'message',
    signal: promiseToPaySignal,
    message: (body, meta) => ({ ...body, ...meta }),
    check: (body) => checkPromiseDueDate(body.dueDate, todayUtc()),
    conflict: (row) =>
      row.openPromise ? caseConflict('promise_already_open', `Case ${row.caseId} already has an open promise to pay`) : undefined,
  });

  registerMessageRoute(fastify, {
    path: 'notes',
    summary: 'Add a progress note',
    description: 'An officer\'s report: recent results, the problems met and the next steps for each.',
    body: AddNoteSchema,
    permission: 'message',
    signal: addNoteSignal,
    message: (body, meta) => ({ ...body, ...meta }),
  });

  registerMessageRoute(fastify, {
    path: 'assignment',
    summary: 'Assign the case to an officer (supervisors, admins, systems)',
    description: 'Hands the case to the officer `officerId`.',
    body: AssignOfficerSchema,
    permission: 'assign',
    signal: assignOfficerSignal,
    message: (body, meta) => ({ ...body, ...meta }),
    conflict: (row, body) =>
      row.officerId === body.officerId ? caseConflict('same_officer', `Case ${row.caseId} is already assigned to ${body.officerId}`) : undefined,
  });

  registerMessageRoute(fastify, {
    path: 'pause',
    summary: 'Pause collection (supervisors, admins)',
    description: 'Stops escalation for a reason (dispute, hardship, legal hold, …), until a date after today or until resumed.',
    body: PauseCaseSchema,
    permission: 'pause',
    signal: pauseSignal,
    message: (body, meta) => ({ ...body, ...meta }),
    check: (body) => checkPauseUntil(body.until, todayUtc()),
    conflict: (row) =>
      row.stage === 'paused' || row.pause ? caseConflict('already_paused', `Case ${row.caseId} is already paused`) : undefined,
  });

  registerMessageRoute(fastify, {
    path: 'resume',
    summary: 'Resume collection (supervisors, admins)',
    description: 'Ends a pause; escalation continues where the paused days leave it. The body may be empty.',
    body: ResumeCaseSchema,
    permission: 'pause',
    signal: resumeSignal,
    message: (body, meta) => ({ ...body, ...meta }),
    conflict: (row) =>
      row.stage !== 'paused' && !row.pause ? caseConflict('not_paused', `Case ${row.caseId} is not paused`) : undefined,
    emptyBody: true,
  });
};

export default messages;
