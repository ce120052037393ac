import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { UpdateDefinition } from '@temporalio/common';
import type { createLitigationActivities } from '../../activities/litigation';
import {
  LITIGATION_CLOSINGS,
  LITIGATION_STEPS,
  MESSAGE_REFUSED,
  containsNul,
  isCalendarDate,
  isMinorUnits,
  legalCostSignal,
  litigationEndedSignal,
  litigationStateQuery,
  litigationWithdrawnSignal,
  recordLegalCostUpdate,
  reportLitigationStepUpdate,
  settleLitigationUpdate,
  type LitigationInput,
  type LitigationOutcome,
  type LitigationResult,
  type LitigationStep,
  type LitigationView,
  type MessageMeta,
  type RecordLegalCost,
  type Refusal,
  type RejectionReason,
  type ReportLitigationStep,
  type SettleLitigation,
} from '../../domain';

/** Request ids the suit remembers: a retried report answers the view without a second effect. */
export const LITIGATION_REQUEST_IDS_KEPT = 500;

const { raiseLitigationTask } = proxyActivities<ReturnType<typeof createLitigationActivities>>({
  startToCloseTimeout: '30s',
  // Retried until PostgreSQL answers; a task the ledger refuses fails at once (non-retryable).
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

function refusal(reason: RejectionReason, detail: Record<string, unknown>, field?: string): Refusal {
  return { reason, detail, ...(field ? { field } : {}) };
}

function refused(r: Refusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: MESSAGE_REFUSED,
    message: `refused: ${r.reason}${r.field ? ` (${r.field})` : ''}`,
    details: [r],
    nonRetryable: true,
  });
}

const isPositiveAmount = (amount: unknown): boolean => isMinorUnits(amount) && amount > 0;

/** The first text of a message with a NUL character in it, as a refusal naming its field. */
function nulRefusal(fields: Record<string, unknown>): Refusal | null {
  const field = containsNul(fields);
  return field === null ? null : refusal('invalid_text', {}, field);
}

/**
 * One suit (司法起诉) of a case's plan, a child workflow of the case. Steps are reported in order,
 * one at a time (assess → … → closed), each with its date and documents; a step not reported
 * within its `stepDays` raises one overdue task for the case's officer. Legal costs are kept and
 * told to the case; after filing a settlement ends the suit. Ends on `closed` (recovered or
 * exhausted), a settlement, or the case's withdrawal, and tells the case how it ended (not on a
 * withdrawal: the case withdrew it). One timer at a time: the next step's deadline.
 */
export async function litigation(input: LitigationInput): Promise<LitigationResult> {
  const startedMs = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  /** When `step` falls due, counted from `fromMs`; null when the policy gives it no deadline. */
  const dueAfter = (step: LitigationStep, fromMs: number): string | null => {
    const days = input.stepDays[step];
    if (typeof days !== 'number' || !(days > 0) || !(input.dayMs > 0)) return null;
    return iso(fromMs + days * input.dayMs);
  };

  const view: LitigationView = {
    caseId: input.caseId,
    measureId: input.measureId,
    parties: [...input.parties],
    steps: [],
    nextStep: LITIGATION_STEPS[0],
    nextStepDueAt: dueAfter(LITIGATION_STEPS[0], startedMs),
    legalCosts: 0,
    currency: input.currency,
    settlement: null,
    outcome: null,
    costs: [],
    overdue: [],
    startedAt: iso(startedMs),
    endedAt: null,
    withdrawnReason: null,
  };
  /** A report's own time: when it was sent, never before what the suit has already taken nor
   * after now (a report a worker outage held back still counts from when it was sent). */
  let lastAppliedMs = startedMs;
  const messageTime = (msg: MessageMeta): number => {
    const sent = typeof msg.sentAt === 'string' ? Date.parse(msg.sentAt) : Number.NaN;
    const at = Number.isNaN(sent) ? Date.now() : Math.min(Date.now(), Math.max(lastAppliedMs, sent));
    lastAppliedMs = at;
    return at;
  };
  const seenRequestIds: string[] = [];
  const seen = (msg: MessageMeta): boolean => seenRequestIds.includes(msg.requestId);
  const remember = (msg: MessageMeta): void => {
    seenRequestIds.push(msg.requestId);
    if (seenRequestIds.length > LITIGATION_REQUEST_IDS_KEPT) seenRequestIds.splice(0, seenRequestIds.length - LITIGATION_REQUEST_IDS_KEPT);
  };
  /** What an update answers: a copy, so a later change never reaches an answer already given. */
  const snapshot = (): LitigationView => JSON.parse(JSON.stringify(view)) as LitigationView;
  const lastStep = () => view.steps[view.steps.length - 1];
  const end = (outcome: LitigationOutcome, nowMs: number): void => {
    view.outcome = outcome;
    view.nextStep = null;
    view.nextStepDueAt = null;
    view.endedAt = iso(nowMs);
  };
  const ended = () => (view.outcome ? refusal('litigation_ended', { outcome: view.outcome }) : null);

  // ---- refusals: pure, so that validators may call them --------------------------------

  function stepRefusal(msg: ReportLitigationStep): Refusal | null {
    const previous = lastStep();
    const over = ended();
    if (over) return over;
    if (msg.step !== view.nextStep) {
      return refusal('litigation_step_out_of_order', { step: msg.step, expected: view.nextStep, lastStep: previous?.step ?? null }, 'step');
    }
    const earliest = previous ? { earliestDate: previous.date, previousStep: previous.step } : { earliestDate: null, previousStep: null };
    if (typeof msg.date !== 'string' || !isCalendarDate(msg.date) || (previous && msg.date < previous.date)) {
      return refusal('litigation_step_date', { date: msg.date, ...earliest }, 'date');
    }
    if (msg.step === 'closed' && !LITIGATION_CLOSINGS.includes(msg.closing as never)) {
      return refusal('litigation_closing_required', { closings: [...LITIGATION_CLOSINGS] }, 'closing');
    }
    if (msg.step !== 'closed' && msg.closing !== undefined) {
      return refusal('litigation_closing_not_allowed', { step: msg.step, closing: msg.closing }, 'closing');
    }
    return nulRefusal({ documents: msg.documents, note: msg.note });
  }

  function costRefusal(msg: RecordLegalCost): Refusal | null {
    const over = ended();
    if (over) return over;
    if (!isPositiveAmount(msg.amount)) return refusal('invalid_amount', { amount: msg.amount, expected: 'a positive integer of minor units' }, 'amount');
    return nulRefusal({ description: msg.description });
  }

  function settleRefusal(msg: SettleLitigation): Refusal | null {
    const over = ended();
    if (over) return over;
    if (!view.steps.some((s) => s.step === 'filed')) {
      return refusal('litigation_not_filed', { lastStep: lastStep()?.step ?? null, requiredStep: 'filed' });
    }
    if (!isPositiveAmount(msg.amount)) return refusal('invalid_amount', { amount: msg.amount, expected: 'a positive integer of minor units' }, 'amount');
    return nulRefusal({ terms: msg.terms });
  }

  // ---- the case hears of costs and of the end, in the order they happened ---------------

  let toCase: Promise<void> = Promise.resolve();
  const caseHandle = getExternalWorkflowHandle(input.caseId);
  /** One signal to the case's current run after the other: a cost never overtakes the end. */
  function tellCase(what: string, send: () => Promise<void>): Promise<void> {
    toCase = toCase.then(send).catch((err: unknown) => {
      // A case that has closed (or never was) needs no word of it; the suit's own view keeps it.
      log.warn('the case did not take the signal', { caseId: input.caseId, measureId: input.measureId, what, error: String(err) });
    });
    return toCase;
  }

  // ---- handlers --------------------------------------------------------------------------

  /** An update: refused by its validator (no history event), a seen request id answered with
   * the view, otherwise applied once. */
  function register<M extends MessageMeta>(
    update: UpdateDefinition<LitigationView, [M]>,
    refusalOf: (msg: M) => Refusal | null,
    apply: (msg: M, nowMs: number) => Promise<void> | void,
  ): void {
    setHandler(
      update,
      async (msg: M): Promise<LitigationView> => {
        if (seen(msg)) return snapshot();
        // Something handled between validation and now (the same activation) may have changed it.
        const r = refusalOf(msg);
        if (r) throw refused(r);
        remember(msg);
        await apply(msg, messageTime(msg));
        return snapshot();
      },
      {
        validator: (msg: M) => {
          if (seen(msg)) return;
          const r = refusalOf(msg);
          if (r) throw refused(r);
        },
      },
    );
  }

  register<ReportLitigationStep>(reportLitigationStepUpdate, stepRefusal, (msg, nowMs) => {
    view.steps.push({
      step: msg.step,
      date: msg.date,
      documents: Array.isArray(msg.documents) ? msg.documents.filter((d) => typeof d === 'string') : [],
      note: msg.note ?? null,
      by: msg.by,
      at: iso(nowMs),
      requestId: msg.requestId,
    });
    if (msg.step === 'closed') {
      end(msg.closing!, nowMs);
      return;
    }
    const next = LITIGATION_STEPS[LITIGATION_STEPS.indexOf(msg.step) + 1]!;
    view.nextStep = next;
    view.nextStepDueAt = dueAfter(next, nowMs);
  });

  register<RecordLegalCost>(recordLegalCostUpdate, costRefusal, async (msg, nowMs) => {
    view.legalCosts += msg.amount;
    view.costs.push({ amount: msg.amount, description: msg.description, by: msg.by, at: iso(nowMs), requestId: msg.requestId });
    await tellCase('legalCost', () =>
      caseHandle.signal(legalCostSignal, { measureId: input.measureId, amount: msg.amount, description: msg.description }),
    );
  });

  register<SettleLitigation>(settleLitigationUpdate, settleRefusal, (msg, nowMs) => {
    view.settlement = { terms: msg.terms, amount: msg.amount, by: msg.by, at: iso(nowMs), requestId: msg.requestId };
    end('settled', nowMs);
  });

  setHandler(litigationStateQuery, () => view);

  setHandler(litigationWithdrawnSignal, ({ reason }) => {
    if (view.outcome) return;
    view.withdrawnReason = typeof reason === 'string' ? reason : null;
    end('withdrawn', Date.now());
  });

  // ---- deadlines: one timer at a time, for the step expected next -----------------------

  while (!view.outcome) {
    const reported = view.steps.length;
    const step = view.nextStep!;
    const moved = () => view.outcome !== null || view.steps.length !== reported;
    const dueAt = view.nextStepDueAt;
    if (dueAt === null || view.overdue.some((o) => o.step === step)) {
      await condition(moved);
      continue;
    }
    const inTime = await condition(moved, Math.max(1, Date.parse(dueAt) - Date.now()));
    // A report that reached the suit together with its deadline is late, but done: no task.
    if (inTime || moved()) continue;
    const raisedAt = iso(Date.now());
    try {
      const task = await raiseLitigationTask({ caseId: input.caseId, measureId: input.measureId, step, dueAt });
      view.overdue.push({ step, dueAt, raisedAt, taskId: task.taskId, officerId: task.officerId });
    } catch (err) {
      log.error('the overdue task of a late step could not be raised', { caseId: input.caseId, measureId: input.measureId, step, error: String(err) });
      view.overdue.push({ step, dueAt, raisedAt, taskId: null, officerId: null });
    }
  }

  const result: LitigationResult = {
    measureId: input.measureId,
    outcome: view.outcome,
    legalCosts: view.legalCosts,
    ...(view.settlement ? { settlement: { amount: view.settlement.amount } } : {}),
  };
  // The case withdrew it: it knows. Otherwise it hears how the suit ended, after every cost.
  if (view.outcome !== 'withdrawn') await tellCase('litigationEnded', () => caseHandle.signal(litigationEndedSignal, result));
  await toCase;
  await condition(allHandlersFinished);
  return result;
}
