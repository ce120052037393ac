/** Amounts are integers in the currency's minor unit (fen, cents); a case has one currency. */
export type MinorUnits = number;

export const CURRENCY_PATTERN = '^[A-Z]{3}$';

export function isMinorUnits(value: unknown): value is MinorUnits {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
