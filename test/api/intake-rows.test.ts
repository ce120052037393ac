/**
 * The intake's pure parts: reading a CSV list into rows, judging a row on its own, and what an
 * arrears report changes in a case (the `reportArrears` update's domain function).
 */
import { describe, expect, it } from 'vitest';
import { applyArrearsReport, arrearsReportRefusal, type ReportArrears, type ReportedFacts } from '../../domain';
import { csvRows, parseCsv } from '../../api/intake/csv';
import { checkRow } from '../../api/intake/rows';

describe('the CSV list', () => {
  it('reads quoted fields, doubled quotes, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n1,\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['1', ''],
    ]);
  });

  it('types cells by column, leaves blanks out, and names columns in reasons', () => {
    const list = csvRows('loanId,secured,principal,borrowerPhone,arrearsFees\nLN1,yes,100,+861,\nLN2,maybe,1.5,+862,3\nLN3\n');
    if (Array.isArray(list)) throw new Error('a valid header');
    expect(list.rows[0]).toEqual({ loanId: 'LN1', secured: true, principal: 100, borrower: { phone: '+861' } });
    expect(list.rows[1]).toMatchObject({ secured: 'maybe', principal: '1.5', arrears: { fees: 3 } });
    expect(list.lineErrors[2]).toEqual([{ field: 'line', reason: 'has 1 cells where the header has 5' }]);
    expect(list.column('borrower.phone')).toBe('borrowerPhone');
    expect(list.column('arrears.fees')).toBe('arrearsFees');
  });

  it('refuses a header of unknown or repeated columns, and text that is not CSV', () => {
    expect(csvRows('loanId,loanId,balance\n')).toEqual([
      { field: 'balance', reason: expect.stringContaining('not a known column') },
      { field: 'loanId', reason: 'appears twice in the header' },
    ]);
    expect(csvRows('loanId\n"LN1\n')).toEqual([{ field: 'body', reason: 'the CSV ends inside a quoted field' }]);
  });
});

describe('a row of the list', () => {
  const row = {
    loanId: 'LN1',
    borrower: { name: 'Zhang Wei', idNumber: '110101199003071234', phone: '+8613800138000' },
    branch: 'BR01',
    product: 'consumer',
    secured: false,
    currency: 'CNY',
    principal: 1_000_000,
    outstanding: 500_000,
    overdueAmount: 30_000,
    overdueSince: '2026-01-05',
  };

  it('passes whole, or names each bad field', () => {
    expect(checkRow(row, '2026-11-30')).toEqual({ row: expect.objectContaining({ loanId: 'LN1' }) });
    expect(checkRow({ ...row, overdueAmount: 600_000, overdueSince: '2027-01-01' }, '2026-11-30')).toEqual({
      errors: [
        { field: 'overdueSince', reason: expect.stringContaining('future') },
        { field: 'overdueAmount', reason: 'must not exceed outstanding' },
      ],
    });
    expect(checkRow({ ...row, arrears: { fees: 1 } }, '2026-11-30')).toEqual({
      errors: [{ field: 'arrears', reason: expect.stringContaining('overdueAmount (30000)') }],
    });
  });
});

describe('an arrears report to an open case', () => {
  const facts: ReportedFacts = {
    currency: 'CNY',
    overdue: 130_000,
    arrears: { legalCosts: 30_000, fees: 0, penaltyInterest: 0, interest: 20_000, principal: 80_000 },
    overdueSince: '2026-10-01',
    outstanding: 530_000,
  };
  const report = (extra: Partial<ReportArrears>): ReportArrears => ({
    requestId: 'r1',
    by: { sub: 'core-banking', role: 'system' },
    currency: 'CNY',
    overdue: 100_000,
    overdueSince: '2026-10-01',
    outstanding: 500_000,
    source: 'run-1',
    ...extra,
  });

  it('finds a repeat unchanged, legal costs charged by suits staying on top of the list\'s figures', () => {
    expect(applyArrearsReport(facts, report({})).changed).toBe(false);
    expect(applyArrearsReport(facts, report({ arrears: { interest: 20_000, principal: 80_000 } })).changed).toBe(false);
  });

  it('takes new components, a new total (all principal) and a new overdue date', () => {
    expect(applyArrearsReport(facts, report({ overdue: 110_000, arrears: { fees: 10_000, interest: 20_000, principal: 80_000 } }))).toEqual({
      changed: true,
      after: {
        overdue: 140_000,
        arrears: { legalCosts: 30_000, fees: 10_000, penaltyInterest: 0, interest: 20_000, principal: 80_000 },
        overdueSince: '2026-10-01',
        outstanding: 530_000,
      },
    });
    expect(applyArrearsReport(facts, report({ overdue: 90_000 })).after.arrears).toEqual({ legalCosts: 30_000, fees: 0, penaltyInterest: 0, interest: 0, principal: 90_000 });
    expect(applyArrearsReport(facts, report({ overdueSince: '2026-09-01' }))).toMatchObject({ changed: true, after: { overdueSince: '2026-09-01', overdue: 130_000 } });
  });

  it('is refused for another currency, bad amounts, components that do not add up, or a date after the case\'s', () => {
    const refusal = (extra: Partial<ReportArrears>) => arrearsReportRefusal(facts, report(extra), '2026-11-30');
    expect(refusal({})).toBeNull();
    expect(refusal({ currency: 'USD' })).toMatchObject({ reason: 'currency_mismatch', field: 'currency' });
    expect(refusal({ overdue: 600_000 })).toMatchObject({ reason: 'invalid_amount', field: 'overdueAmount' });
    expect(refusal({ overdue: 1.5 })).toMatchObject({ reason: 'invalid_amount' });
    expect(refusal({ arrears: { fees: 1 } })).toMatchObject({ reason: 'invalid_amount', field: 'arrears' });
    expect(refusal({ overdueSince: '2026-12-01' })).toMatchObject({ reason: 'overdue_since_invalid', field: 'overdueSince' });
  });
});
