import { DAY_MS } from './policy';

/**
 * A case runs on its own calendar. For a real policy (dayMs = one day) case time equals
 * wall-clock time; a demo or test policy compresses it, so promise dates, pause end dates and
 * ladder entry points all keep their meaning at any speed.
 */
export interface CaseClock {
  /** Wall-clock ms at which the case opened; case time and wall time agree at that instant. */
  originMs: number;
  dayMs: number;
}

export function caseTime(clock: CaseClock, wallMs: number): number {
  return clock.originMs + ((wallMs - clock.originMs) * DAY_MS) / clock.dayMs;
}

export function wallTime(clock: CaseClock, caseMs: number): number {
  return clock.originMs + ((caseMs - clock.originMs) * clock.dayMs) / DAY_MS;
}

/** Converts a span of case time (e.g. a pause) to case days, and back. */
export const caseDays = (caseMs: number): number => caseMs / DAY_MS;

/** `YYYY-MM-DD` at UTC midnight. Dates on a case are calendar dates in UTC. */
export function dateToMs(date: string): number {
  return Date.parse(`${date}T00:00:00.000Z`);
}

export function msToDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';

export function isCalendarDate(value: string): boolean {
  return new RegExp(DATE_PATTERN).test(value) && msToDate(dateToMs(value)) === value;
}
