/**
 * One timeline of a case from three sources: the business trail (case_events), the messages the
 * case refused at once (message_refusals) and the decoded Temporal history of every run.
 */
import { money } from './format';
import { t, term } from './i18n';
import type { CaseEvent, DecodedHistory, HistoryAnswer, Refusal } from './types';

export interface TimelineEntry {
  key: string;
  at: string;
  source: 'trail' | 'refusal' | 'temporal';
  who: string;
  what: string;
  lines: string[];
}

type Payload = Record<string, unknown>;

/** The worker's own bookkeeping: says nothing to a person reading what happened to the case. */
const WORKFLOW_TASK_EVENTS = new Set(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted']);

function amounts(payload: Payload, currency: string): string[] {
  return ['amount', 'overdueAfter', 'recoveredAfter']
    .filter((k) => typeof payload[k] === 'number')
    .map((k) => `${k}: ${money(payload[k] as number, currency)}`);
}

export function trailEntry(e: CaseEvent, currency: string): TimelineEntry {
  const p = e.payload as Payload;
  const who = `${e.actor.sub} (${term('role', e.actor.role)})`;
  const base = { key: `trail:${e.eventId}`, at: e.occurredAt, source: 'trail' as const, who };
  if (e.type === 'hand_entered' || e.type === 'hand_entered_late') {
    const rule = p.rule as { policy?: string; version?: number; hand?: number; entersAtDay?: number } | undefined;
    const lines = [t('escalationReason', { reason: term('escalation', String(p.reason ?? '')) })];
    if (rule) lines.unshift(t('ruleLine', { policy: rule.policy ?? '?', version: rule.version ?? '?', hand: term('hand', rule.hand ?? Number(p.hand)), day: rule.entersAtDay ?? '?' }));
    return {
      ...base,
      what: `${e.type.replaceAll('_', ' ')}: ${p.from ? `${term('hand', Number(p.from))} → ` : ''}${term('hand', Number(p.hand))}`,
      lines,
    };
  }
  if (e.type === 'message_rejected') {
    const { signal, reason, ...accepted } = p;
    return { ...base, source: 'refusal', what: t('refused', { message: String(signal ?? ''), reason: String(reason ?? '') }), lines: [t('accepted', { accepted: JSON.stringify(accepted) })] };
  }
  const lines = amounts(p, currency);
  for (const k of ['channel', 'outcome', 'dueDate', 'reference', 'summary', 'problems', 'nextSteps', 'officerId', 'reason', 'type', 'state']) {
    if (typeof p[k] === 'string') lines.push(`${k}: ${p[k]}`);
  }
  return { ...base, what: e.type.replaceAll('_', ' '), lines };
}

export function refusalEntry(r: Refusal): TimelineEntry {
  return {
    key: `refusal:${r.requestId}`,
    at: r.refusedAt,
    source: 'refusal',
    who: `${r.actor.sub} (${term('role', r.actor.role)})`,
    what: t('refused', { message: r.message, reason: r.reason }),
    lines: [...(r.field ? [`field: ${r.field}`] : []), t('accepted', { accepted: JSON.stringify(r.accepted) })],
  };
}

export function historyEntries(history: HistoryAnswer): TimelineEntry[] {
  if (!isDecoded(history)) return [];
  return history.runs.flatMap((run) =>
    run.events.filter((e) => !WORKFLOW_TASK_EVENTS.has(e.type)).map((e) => {
      const details = e.details as Payload;
      const by = details.by as { sub?: string } | undefined;
      const name = ['signal', 'update', 'activityType', 'timerId', 'name'].map((k) => details[k]).find((v) => typeof v === 'string');
      return {
        key: `temporal:${run.runId}:${e.eventId}`,
        at: e.time,
        source: 'temporal' as const,
        who: by?.sub ?? t('bySystem'),
        what: `${e.type}${name ? ` · ${String(name)}` : ''}`,
        lines: [`run ${run.runId.slice(0, 8)} · event ${e.eventId}`, JSON.stringify(details).slice(0, 300)],
      };
    }),
  );
}

function isDecoded(history: HistoryAnswer): history is DecodedHistory {
  return Array.isArray((history as { runs?: unknown }).runs);
}

export function merged(...sources: TimelineEntry[][]): TimelineEntry[] {
  return sources.flat().sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.key < b.key ? -1 : 1));
}
