import { describe, expect, it } from 'vitest';
import { allocate } from '../../domain';

const cases = [
  { caseId: 'case-A', overdue: 700, overdueSince: '2026-05-01' },
  { caseId: 'case-B', overdue: 300, overdueSince: '2026-03-01' },
  { caseId: 'case-C', overdue: 0, overdueSince: '2026-01-01' },
];

describe('allocate: a measure\'s recovery shared among the cases it covers', () => {
  it('pro rata to arrears, whole minor units, the remainder to the largest, nothing to a case that owes nothing', () => {
    expect(allocate(500, cases, 'pro_rata')).toEqual([
      { caseId: 'case-A', amount: 350 },
      { caseId: 'case-B', amount: 150 },
    ]);
    expect(allocate(101, cases, 'pro_rata')).toEqual([
      { caseId: 'case-A', amount: 71 },
      { caseId: 'case-B', amount: 30 },
    ]);
  });

  it('oldest first: the case overdue longest is cleared before the next', () => {
    expect(allocate(500, cases, 'oldest_first')).toEqual([
      { caseId: 'case-B', amount: 300 },
      { caseId: 'case-A', amount: 200 },
    ]);
  });

  it('never beyond what the cases owe; nothing to share gives nothing', () => {
    expect(allocate(5_000, cases, 'pro_rata')).toEqual([
      { caseId: 'case-A', amount: 700 },
      { caseId: 'case-B', amount: 300 },
    ]);
    expect(allocate(0, cases, 'oldest_first')).toEqual([]);
  });
});
