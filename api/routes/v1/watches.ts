import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApplicationFailure, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { watchLargeLoanThresholds } from '../../../config';
import { latestPolicy } from '../../../db/policies';
import { cases, watchEvents, watches } from '../../../db/schema';
import { caseRunning, handOverWatch } from '../../../temporal/open-case';
import {
  CLOSED_STAGES,
  WATCH_MESSAGE_REFUSED,
  WATCH_UNACCEPTABLE_VALUE_REASONS,
  WATCH_WORKFLOW_TYPE,
  decideExitMeasureUpdate,
  exitWatchUpdate,
  openWatchUpdate,
  proposeExitMeasureUpdate,
  reportVisitUpdate,
  resolveWatchUpdate,
  watchIdForLoan,
  workflowIdForLoan,
  type CaseStage,
  type ExitMeasureView,
  type MessageMeta,
  type WatchEventType,
  type WatchOpening,
  type WatchRefusal,
  type WatchResult,
  type WatchView,
} from '../../../domain';
import type { riskWatch } from '../../../workflows';
import type { Caller } from '../../auth/tokens';
import { assertBranch, assertRole, branchScope, type Permission } from '../../auth/access';
import { badRequest, caseConflict, forbidden, HttpProblem, notFound, PROBLEM_TYPES, serviceUnavailable } from '../../errors';
import { decodeCursor, encodeCursor, page } from '../../pagination';
import { callerOf } from '../../plugins/app/authorization';
import { requestIdOf } from '../../request-id';
import { BEARER_SECURITY, described, IdempotencyHeadersSchema } from '../../schemas/common';
import { CONFLICT_RESPONSE, ERROR_RESPONSES, ProblemSchema } from '../../schemas/problem';
import {
  DecideExitMeasureSchema,
  ExitMeasureParamsSchema,
  ExitMeasureSchema,
  ExitWatchSchema,
  ListWatchesQuerySchema,
  OpenWatchResultSchema,
  OpenWatchSchema,
  ProposeExitMeasureSchema,
  ReportVisitSchema,
  ResolveWatchSchema,
  WatchDetailSchema,
  WatchPageSchema,
  WatchParamsSchema,
  WatchSchema,
} from '../../schemas/watches';
import { INTAKE_TIMEOUT_MS, MESSAGE_TIMEOUT_MS, updateIdFor, within } from '../../temporal/cases';

const DEFAULT_LIMIT = 50;
/** The trail a watch's detail carries: a watch visited monthly for years stays far below it. */
const EVENTS_SHOWN = 1_000;

type WatchRow = typeof watches.$inferSelect;

const iso = (value: Date | null): string | null => value?.toISOString() ?? null;

function toWatch(row: WatchRow): WatchView {
  return {
    watchId: row.watchId,
    loanId: row.loanId,
    branch: row.branch,
    currency: row.currency,
    outstanding: row.outstanding,
    officerId: row.officerId,
    trigger: row.trigger as WatchView['trigger'],
    state: row.state as WatchView['state'],
    exitPlan: row.exitPlan,
    visitEveryDays: row.visitEveryDays,
    nextVisitAt: iso(row.nextVisitAt),
    visits: row.visits,
    caseId: row.caseId,
    openedAt: row.openedAt.toISOString(),
    closedAt: iso(row.closedAt),
  };
}

/** What a refusal says to a person. */
function sentence(refusal: WatchRefusal): string {
  const d = refusal.detail as Record<string, string | undefined>;
  switch (refusal.reason) {
    case 'watch_closed':
      return `The watch has ended (${d.state}${d.caseId ? `, handed over to ${d.caseId}` : ''}) and takes no more messages`;
    case 'duplicate_measure':
      return `Measure ${d.measureId} is already part of the exit plan`;
    case 'measure_already_open':
      return `A measure of this type is already open (${d.measureId}, ${d.state}): one at a time`;
    case 'unknown_measure':
      return `The exit plan has no measure ${d.measureId}`;
    case 'measure_already_decided':
      return `Measure ${d.measureId} is no longer awaiting a decision (${d.state})`;
    case 'four_eyes':
      return 'The decision must come from someone other than the proposer (four eyes)';
    case 'exit_measure_not_approved':
      return `The customer exits only by an approved measure: ${d.measureId} is ${d.state}`;
    case 'invalid_text':
      return `${refusal.field ?? 'a text'} must not contain NUL (\\u0000) characters`;
  }
}

/** 422 when what the message says is unacceptable, 409 when the watch's state forbids it. */
function refusalProblem(refusal: WatchRefusal): HttpProblem {
  const unacceptable = WATCH_UNACCEPTABLE_VALUE_REASONS.includes(refusal.reason);
  const detail = sentence(refusal);
  return new HttpProblem(unacceptable ? 422 : 409, detail, {
    type: PROBLEM_TYPES.rejected,
    title: unacceptable ? 'The watch cannot accept this value' : "Not allowed in the watch's state",
    reason: refusal.reason,
    accepted: refusal.detail,
    ...(unacceptable && refusal.field ? { errors: [{ field: refusal.field, reason: detail }] } : {}),
  });
}

/** An exit measure's id follows from its request id: a retry names the same measure. */
function measureIdFor(requestId: string): string {
  const hex = createHash('sha256').update(`exit-measure:${requestId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** As for cases: role, then branch (a watch outside it is answered as if it did not exist), then
 * for officers' messages the assignment. */
function assertWatchAccess(caller: Caller, permission: Permission, watch: WatchRow): void {
  assertRole(caller, permission);
  const scope = branchScope(caller);
  if (scope !== null && scope !== watch.branch) throw notFound(`No watch ${watch.watchId}`);
  if (caller.role === 'officer' && permission !== 'read' && watch.officerId !== caller.sub) {
    throw forbidden('Officers act only on the watches assigned to them');
  }
}

async function findWatch(fastify: FastifyInstance, watchId: string): Promise<WatchRow> {
  const [row] = await fastify.db.select().from(watches).where(eq(watches.watchId, watchId));
  if (!row) throw notFound(`No watch ${watchId}`);
  return row;
}

/**
 * Sends a message to a watch as an update answered once the watches table holds it: its update
 * id is the request id, so a retry is answered as the first was and applied once.
 */
async function sendToWatch<M extends MessageMeta>(
  fastify: FastifyInstance,
  request: FastifyRequest,
  watchId: string,
  permission: Permission,
  update: UpdateDefinition<WatchResult, [M]>,
  message: (meta: MessageMeta) => M,
): Promise<WatchView> {
  const caller = callerOf(request);
  assertWatchAccess(caller, permission, await findWatch(fastify, watchId));
  const msg = message({ requestId: requestIdOf(request), by: { sub: caller.sub, role: caller.role }, sentAt: new Date().toISOString() });
  try {
    const outcome = await within(fastify.temporal, MESSAGE_TIMEOUT_MS, () =>
      fastify.temporal.workflow.getHandle(watchId).executeUpdate(update, { args: [msg], updateId: updateIdFor(update.name, msg.requestId) }),
    );
    if ('timedOut' in outcome) {
      throw serviceUnavailable(`No worker answered for ${watchId} in time; retry with Idempotency-Key: ${msg.requestId} for its answer (it is never applied twice)`);
    }
    return outcome.value.watch;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw caseConflict('watch_closed', `The workflow of ${watchId} is not running: the watch has ended`, true);
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === WATCH_MESSAGE_REFUSED) {
      throw refusalProblem(err.cause.details?.[0] as WatchRefusal);
    }
    throw err;
  }
}

function answeredMeasure(watch: WatchView, measureId: string): ExitMeasureView {
  const measure = watch.exitPlan.find((m) => m.measureId === measureId);
  if (!measure) throw caseConflict('idempotency_key_reused', 'This Idempotency-Key was already used for another message of this watch');
  return measure;
}

const MESSAGE_DESCRIPTION = `

The watch answers at once: **200** once the watches table holds the change; **409** when the watch's state forbids the message (ended, four eyes, a measure not approved…) and **422** when it cannot accept what the message says, both naming the \`reason\`; **503** when no worker answered in time (retry with the same \`Idempotency-Key\`: never applied twice).`;

const MESSAGE_RESPONSES = {
  ...ERROR_RESPONSES,
  404: described(ProblemSchema, 'No such watch'),
  409: CONFLICT_RESPONSE,
  422: described(ProblemSchema, 'The watch cannot accept what the message says; `errors` names the field'),
} as const;

/**
 * The risk watch (风险预警) before a loan is overdue: opened for a trigger, an exit plan decided by
 * four eyes, visits to large customers, and an end (resolved, exited, or handed over to the
 * collection case when the loan goes overdue).
 */
const watchRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const largeLoanThresholds = watchLargeLoanThresholds(fastify.config);

  fastify.post(
    '',
    {
      preValidation: fastify.requireRole('open'),
      schema: {
        summary: 'Put a loan under risk watch (idempotent)',
        description:
          'Opens the loan\'s risk watch (workflow id `watch-{loanId}`) for its trigger, or answers the watch already running (**200**). A loan whose collection case is open is refused (**409** `case_open`): it is in recovery already. That includes a case the daily intake has started but not yet written to the ledger: the watch opened for it hands over to the case at once. Large customers (outstanding at least the threshold configured for the currency of the loan) are visited every `visitEveryDays` days; a currency without a threshold is refused (**400** naming `currency`). Amounts in minor units.',
        tags: ['watches'],
        security: BEARER_SECURITY,
        headers: IdempotencyHeadersSchema,
        body: OpenWatchSchema,
        response: {
          200: described(OpenWatchResultSchema, 'The watch was already running'),
          201: described(OpenWatchResultSchema, 'This request opened the watch'),
          ...ERROR_RESPONSES,
          409: described(ProblemSchema, 'The loan\'s collection case is open'),
          504: described(ProblemSchema, 'The watch workflow did not answer in time; retry with the same Idempotency-Key'),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const body = request.body;
      assertBranch(caller, body.branch);
      const threshold = largeLoanThresholds[body.currency];
      // Refused rather than taken as small: a large customer in a currency the bank set no
      // threshold for would silently go unvisited (大客户分层管理); refused, the gap is named
      // while the watch is being opened, and is closed by configuring the currency.
      if (threshold === undefined) {
        throw badRequest([
          { field: 'currency', reason: `has no large-customer threshold configured (WATCH_LARGE_LOAN_MIN_OUTSTANDING: ${Object.keys(largeLoanThresholds).join(', ')})` },
        ]);
      }
      const large = body.outstanding >= threshold;
      if (body.visitEveryDays !== undefined && !large) {
        throw badRequest([{ field: 'visitEveryDays', reason: `applies to large customers only: outstanding at least ${threshold} minor units of ${body.currency}` }]);
      }
      const [kase] = await fastify.db.select({ stage: cases.stage }).from(cases).where(eq(cases.caseId, workflowIdForLoan(body.loanId)));
      if (kase && !CLOSED_STAGES.includes(kase.stage as CaseStage)) {
        throw caseConflict('case_open', `Loan ${body.loanId} is overdue: its collection case ${workflowIdForLoan(body.loanId)} is open`);
      }
      const policyName = body.policy ?? 'standard';
      const policy = await latestPolicy(fastify.db, policyName);
      if (!policy) throw badRequest([{ field: 'policy', reason: `is not a known collection policy: "${policyName}"` }]);

      const requestId = requestIdOf(request);
      const by = { sub: caller.sub, role: caller.role };
      const opening: WatchOpening = {
        requestId,
        by,
        sentAt: new Date().toISOString(),
        loan: { loanId: body.loanId, branch: body.branch, currency: body.currency, outstanding: body.outstanding, officerId: body.officerId ?? null },
        trigger: body.trigger,
        note: body.note ?? null,
        visitEveryDays: large ? (body.visitEveryDays ?? fastify.config.WATCH_VISIT_EVERY_DAYS) : null,
        dayMs: policy.dayMs,
      };
      const watchId = watchIdForLoan(body.loanId);
      const outcome = await within(fastify.temporal, INTAKE_TIMEOUT_MS, () =>
        fastify.temporal.workflow.executeUpdateWithStart(openWatchUpdate, {
          args: [{ requestId, by }],
          updateId: `${openWatchUpdate.name}:${requestId}`,
          startWorkflowOperation: new WithStartWorkflowOperation<typeof riskWatch>(WATCH_WORKFLOW_TYPE, {
            workflowId: watchId,
            taskQueue: fastify.config.TEMPORAL_TASK_QUEUE,
            args: [{ opening }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          }),
        }),
      );
      if ('timedOut' in outcome) {
        throw new HttpProblem(504, `The watch workflow did not answer in time; the watch may still open. Retry with Idempotency-Key: ${requestId}`, {
          type: PROBLEM_TYPES.timeout,
          title: 'Watch workflow did not answer',
        });
      }
      assertBranch(caller, outcome.value.watch.branch);
      // The ledger check above misses a case the daily intake has just started: the intake
      // answers before the case's first batch is in the ledger. It hands over the watches it
      // finds in the ledger after its starts, and this watch is in the ledger now. So asking
      // Temporal after that leaves no gap: whichever of the two came second sees the other.
      if (await caseRunning(fastify.temporal, body.loanId)) {
        await handOverWatch(fastify.temporal, workflowIdForLoan(body.loanId), body.loanId, { requestId, by });
        throw caseConflict('case_open', `Loan ${body.loanId} is overdue: its collection case ${workflowIdForLoan(body.loanId)} is open; the watch opened for it hands over to the case`);
      }
      reply.header('location', `/v1/watches/${encodeURIComponent(watchId)}`);
      return reply.code(outcome.value.created ? 201 : 200).send(outcome.value);
    },
  );

  fastify.get(
    '',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'List risk watches',
        description: 'Watches in watch id order, filtered; officers and supervisors see their own branch only. Pass `nextCursor` back as `cursor`.',
        tags: ['watches'],
        security: BEARER_SECURITY,
        querystring: ListWatchesQuerySchema,
        response: { 200: described(WatchPageSchema, 'A page of watches'), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { cursor, limit = DEFAULT_LIMIT, ...filters } = request.query;
      const scope = branchScope(caller);
      if (scope !== null && filters.branch !== undefined && filters.branch !== scope) {
        throw forbidden(`A ${caller.role} of ${scope} sees only the watches of ${scope}`);
      }
      const branch = scope ?? filters.branch;
      const after = cursor ? decodeCursor(cursor, (v) => (typeof v.watchId === 'string' ? v.watchId : undefined)) : null;
      const where: (SQL | undefined)[] = [
        branch !== undefined ? eq(watches.branch, branch) : undefined,
        filters.state !== undefined ? eq(watches.state, filters.state) : undefined,
        filters.trigger !== undefined ? eq(watches.trigger, filters.trigger) : undefined,
        filters.officerId !== undefined ? eq(watches.officerId, filters.officerId) : undefined,
        after !== null ? gt(watches.watchId, after) : undefined,
      ];
      const rows = await fastify.db.select().from(watches).where(and(...where)).orderBy(asc(watches.watchId)).limit(limit + 1);
      const { items, more } = page(rows, limit);
      const last = items[items.length - 1];
      return { items: items.map(toWatch), nextCursor: more && last ? encodeCursor({ watchId: last.watchId }) : null };
    },
  );

  fastify.get(
    '/:watchId',
    {
      preValidation: fastify.requireRole('read'),
      schema: {
        summary: 'A risk watch, its exit plan and its trail',
        tags: ['watches'],
        security: BEARER_SECURITY,
        params: WatchParamsSchema,
        response: { 200: described(WatchDetailSchema, 'The watch and its trail, oldest first'), ...ERROR_RESPONSES, 404: described(ProblemSchema, 'No such watch') },
      },
    },
    async (request) => {
      const row = await findWatch(fastify, request.params.watchId);
      assertWatchAccess(callerOf(request), 'read', row);
      const events = await fastify.db
        .select()
        .from(watchEvents)
        .where(and(eq(watchEvents.watchId, row.watchId), eq(watchEvents.runId, row.runId)))
        .orderBy(asc(watchEvents.seq))
        .limit(EVENTS_SHOWN);
      return {
        ...toWatch(row),
        events: events.map((e) => ({
          eventId: e.eventId,
          seq: e.seq,
          type: e.type as WatchEventType,
          actor: { sub: e.actorSub, role: e.actorRole as never },
          requestId: e.requestId,
          occurredAt: e.occurredAt.toISOString(),
          payload: e.payload,
        })),
      };
    },
  );

  fastify.post(
    '/:watchId/exit-measures',
    {
      preValidation: fastify.requireRole('message'),
      schema: {
        summary: 'Propose a measure of the exit plan',
        description: `One plan per household (一户一策) for the customer's exit: move the loan to another bank, settle through a property sale, restructure, convert to a term loan, change post-loan terms, raise the draw-down rate. A supervisor who is not the proposer decides (four eyes). One open measure of each type.${MESSAGE_DESCRIPTION}`,
        tags: ['watches'],
        security: BEARER_SECURITY,
        params: WatchParamsSchema,
        headers: IdempotencyHeadersSchema,
        body: ProposeExitMeasureSchema,
        response: { 201: described(ExitMeasureSchema, 'The proposed measure, awaiting a decision'), ...MESSAGE_RESPONSES },
      },
    },
    async (request, reply) => {
      const { watchId } = request.params;
      let measureId = '';
      const watch = await sendToWatch(fastify, request, watchId, 'message', proposeExitMeasureUpdate, (meta) => {
        measureId = measureIdFor(meta.requestId);
        return { ...request.body, ...meta, measureId };
      });
      reply.header('location', `/v1/watches/${encodeURIComponent(watchId)}`);
      return reply.code(201).send(answeredMeasure(watch, measureId));
    },
  );

  fastify.post(
    '/:watchId/exit-measures/:measureId/decision',
    {
      preValidation: fastify.requireRole('decide'),
      schema: {
        summary: 'Approve or reject a measure of the exit plan (supervisors, admins)',
        description: `Four eyes: never the proposer's own decision; a measure is decided once.${MESSAGE_DESCRIPTION}`,
        tags: ['watches'],
        security: BEARER_SECURITY,
        params: ExitMeasureParamsSchema,
        headers: IdempotencyHeadersSchema,
        body: DecideExitMeasureSchema,
        response: { 200: described(ExitMeasureSchema, 'The measure after the decision'), ...MESSAGE_RESPONSES },
      },
    },
    async (request) => {
      const { watchId, measureId } = request.params;
      const watch = await sendToWatch(fastify, request, watchId, 'decide', decideExitMeasureUpdate, (meta) => ({ ...request.body, ...meta, measureId }));
      return answeredMeasure(watch, measureId);
    },
  );

  const ending = [
    {
      path: 'visits',
      summary: 'Report a visit to the customer',
      description: 'The visit a large customer\'s schedule asked for (or any other): its open visit tasks are done.',
      body: ReportVisitSchema,
      permission: 'message' as const,
      update: reportVisitUpdate,
    },
    {
      path: 'resolve',
      summary: 'Resolve the watch: the risk is gone (supervisors, admins)',
      description: 'Ends the watch as `resolved`; open measures of the exit plan are cancelled.',
      body: ResolveWatchSchema,
      permission: 'decide' as const,
      update: resolveWatchUpdate,
    },
    {
      path: 'exit',
      summary: 'The customer has exited by an approved measure',
      description: 'Ends the watch as `exited` by the approved measure `measureId` (which succeeds); other open measures are cancelled.',
      body: ExitWatchSchema,
      permission: 'message' as const,
      update: exitWatchUpdate,
    },
  ];
  for (const route of ending) {
    fastify.post(
      `/:watchId/${route.path}`,
      {
        preValidation: fastify.requireRole(route.permission),
        schema: {
          summary: route.summary,
          description: route.description + MESSAGE_DESCRIPTION,
          tags: ['watches'],
          security: BEARER_SECURITY,
          params: WatchParamsSchema,
          headers: IdempotencyHeadersSchema,
          body: route.body,
          response: { 200: described(WatchSchema, 'The watch after the message'), ...MESSAGE_RESPONSES },
        },
      },
      async (request) =>
        sendToWatch(fastify, request, request.params.watchId, route.permission, route.update as UpdateDefinition<WatchResult, [MessageMeta]>, (meta) => ({
          ...(request.body as object),
          ...meta,
        })),
    );
  }
};

export default watchRoutes;
