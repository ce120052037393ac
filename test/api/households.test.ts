/**
 * Households (一户) through the API, on live case workflows: the loans of one borrower share a
 * household id (a keyed hash, never the ID number), `GET /v1/households/:householdId` shows them
 * with their measures and totals within the caller's branch, and the borrower hears one voice.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAdapter, OutgoingNotification } from '../../activities';
import { HOUSEHOLD_ID_PATTERN } from '../../api/household';
import { addPolicyVersion } from '../../db/policies';
import { notificationOutbox } from '../../db/schema';
import { STANDARD_POLICY } from '../../db/seed';
import { type CollectionPolicy, type Role } from '../../domain';
import { daysAgo, eventually, newLoan } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
// Branches of this file's own: test files share the database.
const tag = randomBytes(3).toString('hex').toUpperCase();
const BRANCH = `HH${tag}`;
const OTHER_BRANCH = `HX${tag}`;
const CORE: Who = ['system', 'core-banking'];
const ADMIN: Who = ['admin', 'admin-1'];
const OFFICER: Who = ['officer', 'officer-li', BRANCH];
const SUPERVISOR: Who = ['supervisor', 'supervisor-wang', BRANCH];
const OTHER_OFFICER: Who = ['officer', 'officer-qian', OTHER_BRANCH];
const OUTSIDER: Who = ['officer', 'officer-sun', `HZ${tag}`];

/** A resident ID number of a borrower of this file's own, with the check character `X`. */
const newIdNumber = () => `4401${String(randomInt(10 ** 12)).padStart(13, '0')}X`;

/** Messages to the cases in `gated` fail (a gateway down) until they are let through. */
const gated = new Set<string>();
const sent: OutgoingNotification[] = [];
const adapter: ChannelAdapter = {
  async send(n) {
    if (gated.has(n.caseId)) throw new Error('gateway answered 503');
    sent.push(n);
  },
};

let h: CaseHarness;
let t: ApiTest;
/** The standard ladder, with an SMS to the borrower at hand 2 as well as at hand 1. */
let twoSms: CollectionPolicy;
beforeAll(async () => {
  h = await startCaseHarness({ channels: { sms: adapter, letter: adapter } });
  t = await build({ harness: h });
  twoSms = await addPolicyVersion(h.db, {
    ...STANDARD_POLICY,
    name: `two-sms-${tag.toLowerCase()}`,
    hands: STANDARD_POLICY.hands.map((rule) =>
      rule.hand === 2
        ? { ...rule, actions: [...rule.actions, { kind: 'notify', channel: 'sms', template: 'payment_reminder', recipient: 'borrower' }] }
        : rule,
    ),
  });
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

type Opened = { caseId: string; loanId: string; householdId: string; hand: number };

async function open(loan: object): Promise<Opened> {
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: loan });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().case;
}

describe('a household', () => {
  const idNumber = newIdNumber();
  const borrower = { name: 'Zhang Wei', idNumber, phone: '+8613800138000' };
  // Two loans in one branch, in CNY (hand 1, and hand 2 at 20 days past due), one in USD, and
  // one in another branch.
  const loans = {
    a: newLoan({ branch: BRANCH, borrower }),
    // The same ID number written with a lower-case check character: the same borrower.
    b: newLoan({ branch: BRANCH, borrower: { ...borrower, idNumber: idNumber.toLowerCase() }, overdueSince: daysAgo(20), overdue: 800_000 }),
    usd: newLoan({ branch: BRANCH, borrower, currency: 'USD', principal: 1_000_000, outstanding: 600_000, overdue: 50_000 }),
    elsewhere: newLoan({ branch: OTHER_BRANCH, borrower, officerId: 'officer-qian' }),
  };
  let opened: Record<keyof typeof loans, Opened>;
  beforeAll(async () => {
    opened = {} as typeof opened;
    for (const [name, loan] of Object.entries(loans)) opened[name as keyof typeof loans] = await open(loan);
  });

  it('is shared by every loan of one borrower, under an id that never shows the ID number', async () => {
    const { householdId } = opened.a;
    expect(householdId).toMatch(new RegExp(HOUSEHOLD_ID_PATTERN));
    for (const view of Object.values(opened)) expect(view.householdId).toBe(householdId);
    expect(opened.a.loanId).not.toBe(opened.b.loanId);
    expect([opened.a.hand, opened.b.hand]).toEqual([1, 2]);
    for (const form of [idNumber, idNumber.toLowerCase(), idNumber.slice(0, -1)]) expect(householdId).not.toContain(form);
    // The ledger row names it too.
    const read = (await t.as(OFFICER, { url: `/v1/cases/${opened.b.caseId}` })).json();
    expect(read.householdId).toBe(householdId);
    // Another borrower is another household.
    const stranger = await open(newLoan({ branch: BRANCH, borrower: { ...borrower, idNumber: newIdNumber() } }));
    expect(stranger.householdId).toMatch(new RegExp(HOUSEHOLD_ID_PATTERN));
    expect(stranger.householdId).not.toBe(householdId);
  });

  it('lists its cases with their measures and totals per currency, within the caller\'s branch', async () => {
    const { householdId } = opened.a;
    const proposed = await t.as(OFFICER, {
      method: 'POST',
      url: `/v1/cases/${opened.a.caseId}/measures`,
      payload: { type: 'field_visit', rationale: 'Visit the shop about both loans', expectedRecovery: 300_000 },
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const paid = await t.as(OFFICER, {
      method: 'POST',
      url: `/v1/cases/${opened.usd.caseId}/payments`,
      payload: { amount: loans.usd.overdue, paidAt: new Date().toISOString(), reference: `USD-${tag}` },
    });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json().stage).toBe('recovered');

    const res = await t.as(SUPERVISOR, { url: `/v1/households/${householdId}` });
    expect(res.statusCode, res.body).toBe(200);
    const household = res.json();
    expect(household.householdId).toBe(householdId);
    const mine = [opened.a, opened.b, opened.usd].map((c) => c.caseId).sort();
    expect(household.cases.map((c: { caseId: string }) => c.caseId)).toEqual(mine);
    const a = household.cases.find((c: { caseId: string }) => c.caseId === opened.a.caseId);
    expect(a).toMatchObject({ householdId, branch: BRANCH, hand: 1, episode: 1 });
    expect(a.measures).toEqual([expect.objectContaining({ measureId: proposed.json().measureId, type: 'field_visit', state: 'proposed' })]);
    expect(household.totals).toEqual([
      {
        currency: 'CNY',
        cases: 2,
        openCases: 2,
        outstanding: loans.a.outstanding + loans.b.outstanding,
        overdue: loans.a.overdue + loans.b.overdue,
        recovered: 0,
        highestHand: 2,
      },
      { currency: 'USD', cases: 1, openCases: 0, outstanding: 0, overdue: 0, recovered: loans.usd.overdue, highestHand: null },
    ]);
    // Officers of the branch read it too; the other branch's officer sees only its own case.
    expect((await t.as(OFFICER, { url: `/v1/households/${householdId}` })).json().cases).toHaveLength(3);
    const there = (await t.as(OTHER_OFFICER, { url: `/v1/households/${householdId}` })).json();
    expect(there.cases.map((c: { caseId: string }) => c.caseId)).toEqual([opened.elsewhere.caseId]);
    expect(there.totals).toEqual([expect.objectContaining({ currency: 'CNY', cases: 1, openCases: 1, highestHand: 1 })]);
    // Admins (and systems) see every branch.
    const all = (await t.as(ADMIN, { url: `/v1/households/${householdId}` })).json();
    expect(all.cases).toHaveLength(4);
    expect(all.totals[0]).toMatchObject({ currency: 'CNY', cases: 3, openCases: 3, highestHand: 2 });
  });

  it('answers 404 to a branch outsider as to an unknown household, 400 to a malformed id, 401 without a token', async () => {
    const { householdId } = opened.a;
    const outside = expectProblem(await t.as(OUTSIDER, { url: `/v1/households/${householdId}` }), 404);
    const unknownId = `hh_${randomBytes(16).toString('hex')}`;
    const unknown = expectProblem(await t.as(OUTSIDER, { url: `/v1/households/${unknownId}` }), 404);
    expect(String(outside.detail).replace(householdId, '?')).toBe(String(unknown.detail).replace(unknownId, '?'));
    expectProblem(await t.as(ADMIN, { url: `/v1/households/${unknownId}` }), 404);
    expectProblem(await t.as(ADMIN, { url: `/v1/households/${idNumber}` }), 400, ['householdId']);
    expect((await t.app.inject({ url: `/v1/households/${householdId}` })).statusCode).toBe(401);
  });
});

describe('one voice per borrower', () => {
  it('sends the SMS of the higher hand when two cases of one household queue one the same day', async () => {
    const borrower = { name: 'Li Ming', idNumber: newIdNumber(), phone: '+8613700137000' };
    const base = { branch: BRANCH, borrower, guarantors: [] };
    // The gateway is down while both cases open, the lower hand's first; then it comes back and
    // Temporal retries both deliveries.
    const lowerLoan = newLoan({ ...base, overdueSince: daysAgo(0) });
    const higherLoan = newLoan({ ...base, overdueSince: daysAgo(20) });
    gated.add(`case-${lowerLoan.loanId}`).add(`case-${higherLoan.loanId}`);
    const lower = await open({ ...lowerLoan, policy: twoSms.name });
    const higher = await open({ ...higherLoan, policy: twoSms.name });
    expect([lower.hand, higher.hand]).toEqual([1, 2]);
    expect(lower.householdId).toBe(higher.householdId);
    const smsRows = () =>
      h.db
        .select()
        .from(notificationOutbox)
        .where(and(inArray(notificationOutbox.caseId, [lower.caseId, higher.caseId]), eq(notificationOutbox.channel, 'sms')));
    await eventually(async () => {
      const rows = await smsRows();
      return rows.length === 2 && rows.every((r) => r.attempts >= 1) ? rows : undefined;
    }, 30_000);
    gated.clear();

    const rows = await eventually(async () => {
      const all = await smsRows();
      return all.every((r) => r.status !== 'pending') ? all : undefined;
    }, 45_000);
    const byCase = Object.fromEntries(rows.map((r) => [r.caseId, r]));
    expect(byCase[higher.caseId]).toMatchObject({ status: 'sent', partyRole: 'borrower', payload: expect.objectContaining({ hand: 2 }) });
    expect(byCase[lower.caseId]).toMatchObject({ status: 'suppressed', lastError: expect.stringMatching(/^one voice per borrower: /) });
    expect(sent.filter((n) => n.channel === 'sms' && [lower.caseId, higher.caseId].includes(n.caseId)).map((n) => n.caseId)).toEqual([higher.caseId]);
    // The warning letter goes out on its own channel.
    await eventually(async () => {
      const [letter] = await h.db
        .select()
        .from(notificationOutbox)
        .where(and(eq(notificationOutbox.caseId, higher.caseId), eq(notificationOutbox.channel, 'letter')));
      return letter?.status === 'sent' ? letter : undefined;
    }, 30_000);
  });
});
