/**
 * The daily overdue list (还款资金落实) reports each loan's arrears again every day: for a case
 * already open, a report is a message to its workflow, which takes the new arrears and overdue
 * date or finds them unchanged.
 */
import { defineUpdate } from '@temporalio/workflow';
import { REPORTED_COMPONENTS, openingArrears, totalOf, type Arrears, type ReportedArrears } from './arrears';
import type { MessageMeta, MessageResult, Refusal } from './messages';
import { isCalendarDate } from './clock';

export interface ReportArrears extends MessageMeta {
  currency: string;
  /** The total overdue, in minor units; `arrears` breaks it down where the list does. */
  overdue: number;
  arrears?: ReportedArrears;
  /** The first missed due date the list reports now (YYYY-MM-DD). */
  overdueSince: string;
  outstanding: number;
  /** The intake run the report came from, for the business trail. */
  source: string;
}

export const reportArrearsUpdate = defineUpdate<MessageResult, [ReportArrears]>('reportArrears');

/** What the case holds that a report may change. */
export interface ReportedFacts {
  currency: string;
  overdue: number;
  arrears: Arrears;
  overdueSince: string;
  outstanding: number;
}

/** The case's facts after the report; `changed` false when the report repeats what the case holds. */
export interface ArrearsReportOutcome {
  changed: boolean;
  after: Omit<ReportedFacts, 'currency'>;
}

const isMinor = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Why the case (as of `caseToday`) refuses the report; null when it takes it. */
export function arrearsReportRefusal(current: ReportedFacts, report: ReportArrears, caseToday: string): Refusal | null {
  if (report.currency !== current.currency) {
    return { reason: 'currency_mismatch', field: 'currency', detail: { currency: current.currency } };
  }
  if (!isMinor(report.overdue) || report.overdue === 0 || !isMinor(report.outstanding) || report.overdue > report.outstanding) {
    return { reason: 'invalid_amount', field: 'overdueAmount', detail: { expected: 'a positive whole number of minor units, at most the outstanding' } };
  }
  const components = report.arrears ?? {};
  if (!Object.entries(components).every(([c, v]) => (REPORTED_COMPONENTS as readonly string[]).includes(c) && isMinor(v))) {
    return { reason: 'invalid_amount', field: 'arrears', detail: { expected: `whole minor units of ${REPORTED_COMPONENTS.join(', ')}` } };
  }
  if (Object.keys(components).length > 0 && totalOf(components) !== report.overdue) {
    const sum = totalOf(components);
    return { reason: 'invalid_amount', field: 'arrears', detail: { expected: `components that sum to the overdue amount, ${report.overdue}, not ${sum}`, sum, overdue: report.overdue } };
  }
  if (typeof report.overdueSince !== 'string' || !isCalendarDate(report.overdueSince) || report.overdueSince > caseToday) {
    return { reason: 'overdue_since_invalid', field: 'overdueSince', detail: { caseDate: caseToday, format: 'YYYY-MM-DD' } };
  }
  return null;
}

/**
 * The case's facts once it takes the report. Legal costs charged by suits are not on the bank's
 * list: they stay in the arrears and the outstanding on top of what the list reports. A report
 * of a total alone keeps the case's breakdown while the total is unchanged, and is all principal
 * otherwise (as at opening).
 */
export function applyArrearsReport(current: ReportedFacts, report: ReportArrears): ArrearsReportOutcome {
  const legalCosts = current.arrears.legalCosts;
  const withoutCosts = current.overdue - legalCosts;
  const broken = report.arrears !== undefined && Object.keys(report.arrears).length > 0;
  const arrears: Arrears =
    !broken && report.overdue === withoutCosts ? { ...current.arrears } : { ...openingArrears(report.overdue, report.arrears), legalCosts };
  const after = {
    overdue: totalOf(arrears),
    arrears,
    overdueSince: report.overdueSince,
    outstanding: report.outstanding + legalCosts,
  };
  const sameArrears = (Object.keys(arrears) as (keyof Arrears)[]).every((c) => arrears[c] === current.arrears[c]);
  const changed = !sameArrears || after.overdueSince !== current.overdueSince || after.outstanding !== current.outstanding;
  return { changed, after };
}
