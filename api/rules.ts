/**
 * Checks a schema cannot express: dates against today, amounts against each other. Each returns
 * the bad fields (400); the case workflow stays the authority on the case's own calendar.
 */
import { isCalendarDate, msToDate, reportedArrearsProblem } from '../domain';
import type { FieldError } from './errors';
import type { ListCasesQuery, OpenCaseBody } from './schemas/cases';

/** Today's date in UTC: dates on a case are calendar dates in UTC. */
export function todayUtc(nowMs = Date.now()): string {
  return msToDate(nowMs);
}

export function checkOpenCase(body: OpenCaseBody, today: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!isCalendarDate(body.overdueSince)) errors.push({ field: 'overdueSince', reason: 'must be a real calendar date (YYYY-MM-DD)' });
  else if (body.overdueSince > today) errors.push({ field: 'overdueSince', reason: `must not be in the future (today is ${today})` });
  if (body.overdue > body.outstanding) errors.push({ field: 'overdue', reason: 'must not exceed outstanding' });
  const arrearsProblem = reportedArrearsProblem(body.overdue, body.arrears);
  if (arrearsProblem) errors.push({ field: 'arrears', reason: arrearsProblem });
  if (body.secured && (body.collateral ?? []).length === 0) {
    errors.push({ field: 'collateral', reason: 'a secured loan must list at least one collateral' });
  }
  return errors;
}

/** Filters of the ledger that contradict each other. */
export function checkCaseFilters(filters: Pick<ListCasesQuery, 'minDaysPastDue' | 'maxDaysPastDue' | 'policyName' | 'policyVersion'>): FieldError[] {
  const errors: FieldError[] = [];
  if (filters.minDaysPastDue !== undefined && filters.maxDaysPastDue !== undefined && filters.minDaysPastDue > filters.maxDaysPastDue) {
    errors.push({ field: 'maxDaysPastDue', reason: 'must not be less than minDaysPastDue' });
  }
  if (filters.policyVersion !== undefined && filters.policyName === undefined) {
    errors.push({ field: 'policyVersion', reason: 'needs policyName: versions are numbered per policy' });
  }
  return errors;
}

export function checkPaidAt(paidAt: string, nowMs = Date.now()): FieldError[] {
  const ms = Date.parse(paidAt);
  if (Number.isNaN(ms)) return [{ field: 'paidAt', reason: 'must be a valid date-time' }];
  if (ms > nowMs) return [{ field: 'paidAt', reason: 'must not be in the future' }];
  return [];
}

/** A date on the case's calendar: its format here, its place in the calendar in the case. */
export function checkCalendarDate(field: string, value: string): FieldError[] {
  return isCalendarDate(value) ? [] : [{ field, reason: 'must be a real calendar date (YYYY-MM-DD)' }];
}
