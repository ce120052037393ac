/**
 * Reports on a hand-built portfolio in a branch of this file's own, opened through the API on live
 * case workflows: `GET /v1/reports/portfolio` and `GET /v1/reports/roll-rates` rebuilt from the
 * business trail, and `GET /v1/cases/export.csv` against `GET /v1/cases` with the same filters.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollRatesOf, type CaseState } from '../../api/routes/v1/reports';
import { csvField } from '../../api/routes/v1/cases/export';
import type { Role } from '../../domain';
import { daysAgo, eventually, newLoan, testPolicy } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const tag = String(Date.now() % 1_000_000).padStart(6, '0') + randomBytes(1).toString('hex').toUpperCase();
const BRANCH = `RP${tag}`;
const OTHER_BRANCH = `RQ${tag}`;
const CORE: Who = ['system', 'core-banking'];
const ADMIN: Who = ['admin', 'admin-1'];
const SUPERVISOR: Who = ['supervisor', 'supervisor-wang', BRANCH];
const OTHER_SUPERVISOR: Who = ['supervisor', 'supervisor-zhao', OTHER_BRANCH];
const OFFICER_A: Who = ['officer', 'officer-a', BRANCH];
const OFFICER_B: Who = ['officer', 'officer-b', BRANCH];

let h: CaseHarness;
let t: ApiTest;
beforeAll(async () => {
  h = await startCaseHarness();
  t = await build({ harness: h });
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

const amounts = { principal: 20_000_000, outstanding: 10_000_000, overdue: 1_000_000 };
const today = () => daysAgo(0);

async function open(loan: object): Promise<{ caseId: string; hand: number; caseDate: string }> {
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: loan });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().case;
}

async function send(who: Who, caseId: string, message: string, payload: object) {
  const res = await t.as(who, { method: 'POST', url: `/v1/cases/${caseId}/${message}`, payload, headers: { 'idempotency-key': `rp-${randomUUID()}` } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const pay = (who: Who, caseId: string, amount: number) =>
  send(who, caseId, 'payments', { amount, paidAt: new Date().toISOString(), reference: `RP-${randomUUID().slice(0, 8)}` });

/** RFC 4180: fields split on commas outside quotes, records on CRLF outside quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += ch;
  }
  expect(field === '' && record.length === 0, 'the CSV ends with CRLF').toBe(true);
  return records;
}

describe('a hand-built portfolio', () => {
  const ids: Record<string, string> = {};
  const idNumbers = new Set<string>();

  beforeAll(async () => {
    // Hands entered at once by days past due on the standard ladder (0, 15, 30, 60, 90, 120).
    const plan = {
      a: { overdueSince: daysAgo(0), officerId: 'officer-a', currency: 'CNY' },
      b: { overdueSince: daysAgo(20), officerId: 'officer-b', currency: 'CNY' },
      c: { overdueSince: daysAgo(40), officerId: 'officer-b', currency: 'CNY' },
      d: { overdueSince: daysAgo(70), officerId: 'officer-a', currency: 'USD' },
      e: { overdueSince: daysAgo(100), officerId: 'officer-a', currency: 'CNY' },
      f: { overdueSince: daysAgo(130), officerId: 'officer-b', currency: 'CNY' },
    };
    const opened = await Promise.all(
      Object.entries(plan).map(async ([key, facts]) => {
        const loan = newLoan({ branch: BRANCH, ...amounts, ...facts });
        idNumbers.add(loan.borrower.idNumber);
        return [key, await open(loan)] as const;
      }),
    );
    for (const [key, c] of opened) ids[key] = c.caseId;
    expect(opened.map(([, c]) => c.hand)).toEqual([1, 2, 3, 4, 5, 6]);

    // g: a compressed calendar (a case day in 5 s) that keeps the case at hand 1 until its
    // promise, due on the case's date, is broken at that day's end: then hand 2.
    const fast = await testPolicy(h.db, { dayMs: 5_000, entersAtDays: [0, 1_000, 2_000, 3_000, 4_000, 5_000] });
    const g = await open({ ...newLoan({ branch: BRANCH, ...amounts, officerId: 'officer-a', overdueSince: daysAgo(0) }), policy: fast.name });
    ids.g = g.caseId;

    // a: a promise kept (400,000 promised and paid), the case still in collection.
    await send(OFFICER_A, ids.a!, 'promises', { amount: 400_000, dueDate: daysAgo(-3) });
    await pay(OFFICER_A, ids.a!, 400_000);
    // b: paused by the supervisor.
    await send(SUPERVISOR, ids.b!, 'pause', { reason: 'dispute' });
    // c: its arrears paid: recovered.
    const recovered = await pay(OFFICER_B, ids.c!, 1_000_000);
    expect(recovered.stage).toBe('recovered');
    // g: a promise due today on its calendar, nothing paid: broken at the end of the case day.
    // Due on the case's date as it is now: a slow machine may have passed the opening date already.
    const gDate = (await t.as(SUPERVISOR, { url: `/v1/cases/${ids.g}` })).json().caseDate as string;
    await send(OFFICER_A, ids.g!, 'promises', { amount: 100_000, dueDate: gDate });
    await eventually(async () => {
      const res = await t.as(SUPERVISOR, { url: `/v1/cases/${ids.g}` });
      return res.json().hand === 2 ? true : undefined;
    }, 30_000);

    // Another branch's case, never in this branch's figures.
    await open(newLoan({ branch: OTHER_BRANCH, ...amounts, overdueSince: daysAgo(20) }));
  }, 90_000);

  const cny = (cases: number, outstanding: number, overdue: number, recovered: number) => ({ currency: 'CNY', cases, outstanding, overdue, recovered });
  const usd = (cases: number, outstanding: number, overdue: number, recovered: number) => ({ currency: 'USD', cases, outstanding, overdue, recovered });

  it('answers the portfolio as of today, exactly as built', async () => {
    const res = await t.as(SUPERVISOR, { url: `/v1/reports/portfolio?asOf=${today()}` });
    expect(res.statusCode, res.body).toBe(200);
    // a: 9,600,000 / 600,000 / 400,000; c: 9,000,000 / 0 / 1,000,000; the others 10,000,000 / 1,000,000 / 0.
    expect(res.json()).toEqual({
      asOf: today(),
      branch: BRANCH,
      totals: [
        { ...cny(6, 58_600_000, 4_600_000, 1_400_000), recoveryRate: 1_400_000 / 6_000_000 },
        { ...usd(1, 10_000_000, 1_000_000, 0), recoveryRate: 0 },
      ],
      byStage: [
        { stage: 'collecting', ...cny(4, 39_600_000, 3_600_000, 400_000) }, // a, e, f, g
        { stage: 'collecting', ...usd(1, 10_000_000, 1_000_000, 0) }, // d
        { stage: 'paused', ...cny(1, 10_000_000, 1_000_000, 0) }, // b
        { stage: 'recovered', ...cny(1, 9_000_000, 0, 1_000_000) }, // c
      ],
      byHand: [
        { hand: 1, ...cny(1, 9_600_000, 600_000, 400_000) }, // a
        { hand: 2, ...cny(2, 20_000_000, 2_000_000, 0) }, // b, g (a broken promise)
        { hand: 3, ...cny(1, 9_000_000, 0, 1_000_000) }, // c, recovered at hand 3
        { hand: 4, ...usd(1, 10_000_000, 1_000_000, 0) }, // d
        { hand: 5, ...cny(1, 10_000_000, 1_000_000, 0) }, // e
        { hand: 6, ...cny(1, 10_000_000, 1_000_000, 0) }, // f
      ],
      byBranch: [
        { branch: BRANCH, ...cny(6, 58_600_000, 4_600_000, 1_400_000) },
        { branch: BRANCH, ...usd(1, 10_000_000, 1_000_000, 0) },
      ],
      byOfficer: [
        { officerId: 'officer-a', ...cny(3, 29_600_000, 2_600_000, 400_000) }, // a, e, g
        { officerId: 'officer-a', ...usd(1, 10_000_000, 1_000_000, 0) }, // d
        { officerId: 'officer-b', ...cny(3, 29_000_000, 2_000_000, 1_000_000) }, // b, c, f
      ],
      // The collateral (80,000,000) covers every balance: the standard rules say likely; 10,000,000
      // is below the standard medium tier.
      byLikelihood: [
        { likelihood: 'likely', ...cny(6, 58_600_000, 4_600_000, 1_400_000) },
        { likelihood: 'likely', ...usd(1, 10_000_000, 1_000_000, 0) },
      ],
      byTier: [
        { tier: 'small', ...cny(6, 58_600_000, 4_600_000, 1_400_000) },
        { tier: 'small', ...usd(1, 10_000_000, 1_000_000, 0) },
      ],
      byOutcome: [
        { outcome: 'cured', ...cny(1, 9_000_000, 0, 1_000_000) }, // c: a balance not yet due remains
        { outcome: null, ...cny(5, 49_600_000, 4_600_000, 400_000) },
        { outcome: null, ...usd(1, 10_000_000, 1_000_000, 0) },
      ],
      promises: { kept: 1, broken: 1, keptRate: 0.5 },
    });
    // An admin naming the branch sees the same.
    const admin = await t.as(ADMIN, { url: `/v1/reports/portfolio?asOf=${today()}&branch=${BRANCH}` });
    expect(admin.json()).toEqual(res.json());
  });

  it('answers the portfolio of an earlier date from the trail: nothing had opened yesterday', async () => {
    const res = await t.as(SUPERVISOR, { url: `/v1/reports/portfolio?asOf=${daysAgo(1)}` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      asOf: daysAgo(1),
      branch: BRANCH,
      totals: [],
      byStage: [],
      byHand: [],
      byBranch: [],
      byOfficer: [],
      byLikelihood: [],
      byTier: [],
      byOutcome: [],
      promises: { kept: 0, broken: 0, keptRate: null },
    });
  });

  it('keeps each branch to its own and reports to supervisors and admins only', async () => {
    const other = (await t.as(OTHER_SUPERVISOR, { url: `/v1/reports/portfolio?asOf=${today()}` })).json();
    expect(other.branch).toBe(OTHER_BRANCH);
    expect(other.totals).toEqual([{ ...cny(1, 10_000_000, 1_000_000, 0), recoveryRate: 0 }]);
    expect(other.byHand).toEqual([{ hand: 2, ...cny(1, 10_000_000, 1_000_000, 0) }]);
    expectProblem(await t.as(OTHER_SUPERVISOR, { url: `/v1/reports/portfolio?asOf=${today()}&branch=${BRANCH}` }), 403);
    expectProblem(await t.as(OTHER_SUPERVISOR, { url: `/v1/reports/roll-rates?from=${today()}&to=${today()}&branch=${BRANCH}` }), 403);
    expectProblem(await t.as(OFFICER_A, { url: `/v1/reports/portfolio?asOf=${today()}` }), 403);
    expectProblem(await t.as(SUPERVISOR, { url: '/v1/reports/portfolio?asOf=2026-02-30' }), 400, ['asOf']);
    expectProblem(await t.as(SUPERVISOR, { url: '/v1/reports/portfolio' }), 400, ['asOf']);
    expectProblem(await t.as(SUPERVISOR, { url: `/v1/reports/roll-rates?from=${today()}&to=${daysAgo(1)}` }), 400, ['to']);
  });

  it('answers the roll-rate matrix: cases in collection at from, where they are at to', async () => {
    const res = await t.as(SUPERVISOR, { url: `/v1/reports/roll-rates?from=${today()}&to=${today()}` });
    expect(res.statusCode, res.body).toBe(200);
    const cell = (fromHand: number, to: string, currency: string, cases: number, outstanding: number, overdue: number) => ({
      fromHand, to, currency, cases, outstanding, overdue,
    });
    // c had recovered by the end of today: in no row. Everything else stays where it is.
    expect(res.json()).toEqual({
      from: today(),
      to: today(),
      branch: BRANCH,
      cells: [
        cell(1, '1', 'CNY', 1, 9_600_000, 600_000),
        cell(2, '2', 'CNY', 2, 20_000_000, 2_000_000),
        cell(4, '4', 'USD', 1, 10_000_000, 1_000_000),
        cell(5, '5', 'CNY', 1, 10_000_000, 1_000_000),
        cell(6, '6', 'CNY', 1, 10_000_000, 1_000_000),
      ],
      rows: [
        { fromHand: 1, cases: 1, rolledForward: 0, stayed: 1, closed: 0 },
        { fromHand: 2, cases: 2, rolledForward: 0, stayed: 2, closed: 0 },
        { fromHand: 4, cases: 1, rolledForward: 0, stayed: 1, closed: 0 },
        { fromHand: 5, cases: 1, rolledForward: 0, stayed: 1, closed: 0 },
        { fromHand: 6, cases: 1, rolledForward: 0, stayed: 1, closed: 0 },
      ],
    });
    // No case was open at the end of yesterday: an empty matrix.
    const since = (await t.as(SUPERVISOR, { url: `/v1/reports/roll-rates?from=${daysAgo(1)}&to=${today()}` })).json();
    expect(since).toMatchObject({ cells: [], rows: [] });
  });

  it('exports the ledger as CSV: the same cases as GET /v1/cases, without personal data', async () => {
    for (const [who, query] of [
      [SUPERVISOR, ''],
      [SUPERVISOR, '?hand=2'],
      [OFFICER_B, '?officerId=officer-b&stage=collecting'],
      [ADMIN, `?branch=${BRANCH}&minDaysPastDue=30&maxDaysPastDue=110`],
    ] as [Who, string][]) {
      const res = await t.as(who, { url: `/v1/cases/export.csv${query}` });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="cases-\d{4}-\d{2}-\d{2}\.csv"$/);
      for (const personal of idNumbers) expect(res.body).not.toContain(personal);
      expect(res.body).not.toContain('Zhang Wei');
      expect(res.body).not.toContain('+8613800138000');
      const [header, ...rows] = parseCsv(res.body);
      expect(header).toEqual(expect.arrayContaining(['case_id', 'stage', 'hand', 'currency', 'outstanding', 'overdue', 'recovered', 'days_past_due', 'officer_id']));
      const records = rows.map((r) => Object.fromEntries(header!.map((name, i) => [name, r[i]])));

      const list = await t.as(who, { url: `/v1/cases${query}${query ? '&' : '?'}limit=200` });
      expect(list.statusCode, list.body).toBe(200);
      const items = list.json().items as Record<string, any>[];
      expect(list.json().nextCursor).toBeNull();
      expect(items.length).toBeGreaterThan(0);
      expect(records.map((r) => r.case_id)).toEqual(items.map((c) => c.caseId));
      for (const [i, c] of items.entries()) {
        expect(records[i]).toMatchObject({
          loan_id: c.loanId,
          branch: c.branch,
          stage: c.stage,
          hand: String(c.hand),
          currency: c.currency,
          outstanding: String(c.outstanding),
          overdue: String(c.overdue),
          recovered: String(c.recovered),
          days_past_due: String(c.daysPastDue),
          overdue_since: c.overdueSince,
          officer_id: c.officerId ?? '',
          episode: String(c.episode),
        });
      }
    }
    const all = parseCsv((await t.as(SUPERVISOR, { url: '/v1/cases/export.csv' })).body);
    expect(all.slice(1).map((r) => r[0]).sort()).toEqual(Object.values(ids).sort());
    expectProblem(await t.as(SUPERVISOR, { url: `/v1/cases/export.csv?branch=${OTHER_BRANCH}` }), 403);
    expectProblem(await t.as(SUPERVISOR, { url: '/v1/cases/export.csv?hand=7' }), 400, ['hand']);
    expectProblem(await t.as(SUPERVISOR, { url: '/v1/cases/export.csv?cursor=abc' }), 400);
  });
});

describe('the roll-rate matrix and CSV quoting, unit by unit', () => {
  const state = (caseId: string, hand: number, stage: CaseState['stage'], outstanding = 100): CaseState => ({
    caseId, branch: 'BR01', currency: 'CNY', hand: hand as CaseState['hand'], stage, officerId: null, likelihood: null, tier: null, outcome: null, outstanding, overdue: 10, recovered: 0,
  });

  it('moves cases to higher hands, recovered and written off; leaves out cases closed or not yet open at from', () => {
    const before = [state('a', 1, 'collecting'), state('b', 1, 'paused'), state('c', 2, 'collecting'), state('d', 3, 'collecting'), state('e', 4, 'recovered')];
    const after = [state('a', 2, 'collecting'), state('b', 1, 'collecting'), state('c', 2, 'recovered'), state('d', 3, 'written_off'), state('e', 4, 'recovered'), state('f', 1, 'collecting')];
    expect(rollRatesOf('2026-01-01', '2026-02-01', null, before, after)).toEqual({
      from: '2026-01-01',
      to: '2026-02-01',
      branch: null,
      cells: [
        { fromHand: 1, to: '1', currency: 'CNY', cases: 1, outstanding: 100, overdue: 10 },
        { fromHand: 1, to: '2', currency: 'CNY', cases: 1, outstanding: 100, overdue: 10 },
        { fromHand: 2, to: 'recovered', currency: 'CNY', cases: 1, outstanding: 100, overdue: 10 },
        { fromHand: 3, to: 'written_off', currency: 'CNY', cases: 1, outstanding: 100, overdue: 10 },
      ],
      rows: [
        { fromHand: 1, cases: 2, rolledForward: 1, stayed: 1, closed: 0 },
        { fromHand: 2, cases: 1, rolledForward: 0, stayed: 0, closed: 1 },
        { fromHand: 3, cases: 1, rolledForward: 0, stayed: 0, closed: 1 },
      ],
    });
  });

  it('quotes CSV fields as RFC 4180 asks', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(12)).toBe('12');
    expect(csvField(false)).toBe('false');
  });
});
