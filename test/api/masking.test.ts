import { describe, expect, it } from 'vitest';
import { MASK, hasPersonalData, maskPersonalData } from '../../api/masking';

describe('maskPersonalData', () => {
  it('masks a person\'s name with their ID number and phone, wherever the record sits', () => {
    const value = {
      loan: { borrower: { name: 'Zhang Wei', idNumber: '110101199003071234', phone: '+8613800138000' } },
      recipient: { role: 'guarantor', name: 'Li Na', phone: '+8613900139000' },
      guarantors: [{ name: 'Wang Fang', idNumber: '110101198505052222', phone: '+8613900139001', guaranteedAmount: 5 }],
    };
    const masked = maskPersonalData(value);
    expect(masked.loan.borrower).toEqual({ name: MASK, idNumber: MASK, phone: MASK });
    expect(masked.recipient).toEqual({ role: 'guarantor', name: MASK, phone: MASK });
    expect(masked.guarantors[0]).toEqual({ name: MASK, idNumber: MASK, phone: MASK, guaranteedAmount: 5 });
    expect(JSON.stringify(masked)).not.toMatch(/Zhang Wei|Li Na|Wang Fang|1101|\+86/);
    expect(hasPersonalData(value)).toBe(true);
  });

  it('leaves names that are not a person\'s: policies, activities, measures', () => {
    const value = { policy: { name: 'standard', version: 3 }, activity: { name: 'projectCase' } };
    expect(maskPersonalData(value)).toEqual(value);
    expect(hasPersonalData(value)).toBe(false);
  });
});
