import { randomInt, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { addPolicyVersion } from '../../db/policies';
import type { Database } from '../../db/client';
import {
  msToDate,
  openingArrears,
  type Actor,
  type CaseView,
  type CollectionPolicy,
  type HandRule,
  type LoanFacts,
  type LoanIntake,
} from '../../domain';
import { STANDARD_POLICY } from '../../db/seed';
import { openCase } from '../../temporal/open-case';

export const SYSTEM: Actor = { sub: 'core-banking', role: 'system' };
export const OFFICER: Actor = { sub: 'officer-li', role: 'officer' };
export const SUPERVISOR: Actor = { sub: 'supervisor-wang', role: 'supervisor' };

export function daysAgo(days: number, now = Date.now()): string {
  return msToDate(now - days * 86_400_000);
}

/** A loan as intake receives it, with its parties (overrides typed as the case knows a loan, so
 * that a test may pass a loan it read back). */
export function newLoan(overrides: Partial<LoanFacts> = {}): LoanIntake {
  return {
    loanId: `LN${randomUUID().slice(0, 8).toUpperCase()}`,
    // A borrower of its own: loans of one borrower share a household (and its one voice).
    borrower: { name: 'Zhang Wei', idNumber: `1101011990${randomInt(10 ** 7, 10 ** 8)}`, phone: '+8613800138000' },
    branch: 'BR01',
    product: 'small_business',
    secured: true,
    currency: 'CNY',
    principal: 50_000_000,
    outstanding: 32_000_000,
    overdue: 1_200_000,
    overdueSince: daysAgo(0),
    collateral: [{ kind: 'real_estate', description: 'Shop unit, Chaoyang', value: 80_000_000 }],
    guarantors: [{ name: 'Li Na', idNumber: '110101198805051111', phone: '+8613900139000' }],
    officerId: OFFICER.sub,
    ...overrides,
  } as LoanIntake;
}

/**
 * A fresh version of a test policy with the standard actions on a compressed calendar:
 * `dayMs` of real time per case day, hands entering at the given days.
 */
export async function testPolicy(
  db: Database,
  { dayMs, entersAtDays, maxPromiseDays = 14 }: { dayMs: number; entersAtDays: number[]; maxPromiseDays?: number },
): Promise<CollectionPolicy> {
  const hands = STANDARD_POLICY.hands.map(
    (rule, i): HandRule => ({ ...rule, entersAtDay: entersAtDays[i] ?? rule.entersAtDay }),
  );
  return addPolicyVersion(db, {
    name: `test-${randomUUID().slice(0, 8)}`,
    description: 'test ladder',
    dayMs,
    maxPromiseDays,
    hands,
  });
}

const databases = new WeakMap<Client, Database>();

/** The database intake keeps the parties of a client's cases in (the harness registers its own). */
export function useDatabaseFor(client: Client, db: Database): void {
  databases.set(client, db);
}

export function open(
  client: Client,
  taskQueue: string,
  loan: LoanFacts,
  policy: CollectionPolicy,
  extra: { requestId?: string; continueAsNewAfterEvents?: number } = {},
) {
  const db = databases.get(client);
  if (!db) throw new Error('no database for this client: call useDatabaseFor(client, db) first');
  if (!loan.borrower) throw new Error('intake needs the loan\'s borrower (newLoan() makes one)');
  return openCase(client, db, taskQueue, {
    requestId: extra.requestId ?? randomUUID(),
    by: SYSTEM,
    loan: loan as LoanIntake,
    policy,
    ...(extra.continueAsNewAfterEvents ? { continueAsNewAfterEvents: extra.continueAsNewAfterEvents } : {}),
  });
}

/** Polls until `check` returns a value (not undefined) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The length of a case's history once it has stopped growing (two reads 700 ms apart agree). */
export async function settledHistoryLength(handle: { fetchHistory(): Promise<{ events?: unknown[] | null }> }): Promise<number> {
  let last = -1;
  for (;;) {
    const length = (await handle.fetchHistory()).events!.length;
    if (length === last) return length;
    last = length;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

/** The view of a case just opened on `loan`, at hand 1, as the workflow projects it. */
export function openingView(loan: LoanFacts, now: string): CaseView {
  const caseId = `case-${loan.loanId}`;
  return {
    caseId,
    loanId: loan.loanId,
    householdId: null,
    stage: 'collecting',
    hand: 1,
    caseDate: loan.overdueSince,
    daysPastDue: 0,
    pausedDays: 0,
    overdueSince: loan.overdueSince,
    currency: loan.currency,
    principal: loan.principal,
    overdue: loan.overdue,
    arrears: openingArrears(loan.overdue, loan.arrears),
    outstanding: loan.outstanding,
    recovered: 0,
    creditToReturn: 0,
    outcome: null,
    settlement: null,
    classification: null,
    tier: null,
    branch: loan.branch,
    product: loan.product,
    secured: loan.secured,
    officerId: loan.officerId ?? null,
    policy: { name: 'standard', version: 1 },
    openPromise: null,
    pause: null,
    nextAction: null,
    measures: [],
    writeOff: null,
    recoveredAfterWriteOff: 0,
    legalCosts: 0,
    collateralStatus: [],
    incidents: [],
    openedAt: now,
    closedAt: null,
  };
}
