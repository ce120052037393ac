import { createHmac } from 'node:crypto';

/**
 * A household (一户) is one borrower, matched by ID number. The number itself never goes into a
 * search attribute, a workflow id, a log or the ledger: the household id is a keyed hash of it
 * (HMAC-SHA256 with `HOUSEHOLD_KEY`), so it cannot be reversed by hashing every possible ID
 * number without the key.
 */
export const HOUSEHOLD_ID_PREFIX = 'hh_';
/** `hh_` and 32 lower-case hex digits (128 bits of the HMAC). */
export const HOUSEHOLD_ID_PATTERN = '^hh_[0-9a-f]{32}$';

/** The ID number as the bank matches it: surrounding blanks dropped, letters upper-case
 * (a Chinese resident ID's check digit `x` is the same as `X`). */
export function normalizeIdNumber(idNumber: string): string {
  return idNumber.trim().toUpperCase();
}

/** The household id of a borrower: `hh_` + the first 32 hex digits of HMAC-SHA256(key, ID number). */
export function householdIdOf(idNumber: string, key: string): string {
  const digest = createHmac('sha256', key).update(normalizeIdNumber(idNumber), 'utf8').digest('hex');
  return `${HOUSEHOLD_ID_PREFIX}${digest.slice(0, 32)}`;
}
