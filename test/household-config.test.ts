import { describe, expect, it } from 'vitest';
import { HOUSEHOLD_ID_PATTERN, householdIdOf } from '../api/household';
import { DEVELOPMENT_HOUSEHOLD_KEY, loadConfig } from '../config';

const base = { DATABASE_URL: 'postgres://app@db:5432/collection' };
const production = { ...base, NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(32), PAYLOAD_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}` };
const KEY = 'k'.repeat(32);

describe('HOUSEHOLD_KEY', () => {
  it('falls back to the development key outside production', () => {
    expect(loadConfig(base).HOUSEHOLD_KEY).toBe(DEVELOPMENT_HOUSEHOLD_KEY);
    expect(DEVELOPMENT_HOUSEHOLD_KEY.length).toBeGreaterThanOrEqual(32);
  });

  it('refuses to start in production without it, naming it', () => {
    expect(() => loadConfig(production)).toThrow(/HOUSEHOLD_KEY/);
    expect(loadConfig({ ...production, HOUSEHOLD_KEY: KEY }).HOUSEHOLD_KEY).toBe(KEY);
  });

  it('refuses a key shorter than 32 characters, in production or not', () => {
    expect(() => loadConfig({ ...base, HOUSEHOLD_KEY: 'short' })).toThrow(/HOUSEHOLD_KEY/);
    expect(() => loadConfig({ ...production, HOUSEHOLD_KEY: 'k'.repeat(31) })).toThrow(/HOUSEHOLD_KEY/);
  });
});

describe('householdIdOf', () => {
  const idNumber = '11010119900307123X';

  it('is a keyed hash of the normalized ID number that never shows the number', () => {
    const id = householdIdOf(idNumber, KEY);
    expect(id).toMatch(new RegExp(HOUSEHOLD_ID_PATTERN));
    expect(id).toHaveLength(3 + 32);
    expect(id).not.toContain(idNumber);
    // Blanks around it and the case of its letters do not make another borrower.
    expect(householdIdOf(`  ${idNumber.toLowerCase()} `, KEY)).toBe(id);
    expect(householdIdOf('11010119900307123Y', KEY)).not.toBe(id);
  });

  it('depends on the key: without it the id cannot be recomputed from a guessed number', () => {
    expect(householdIdOf(idNumber, KEY)).not.toBe(householdIdOf(idNumber, 'q'.repeat(32)));
    // HMAC-SHA256 keyed with KEY of "11010119900307123X", its first 128 bits in hex (computed
    // independently, with Python's hmac module).
    expect(householdIdOf(idNumber, KEY)).toBe('hh_e14680740961f1598a82156134e891cf');
  });
});
