/** Keys whose values are borrowers' and guarantors' personal data: never shown by the API. */
export const MASKED_KEYS: ReadonlySet<string> = new Set(['idNumber', 'phone']);
/** `name` is personal data in a person's record (one with an ID number or a phone), and only
 * there: a policy's or an activity's name is not. */
export const PARTY_NAME_KEY = 'name';
export const MASK = '[redacted]';

const isParty = (record: object): boolean => [...MASKED_KEYS].some((key) => key in record);

/** A deep copy of a JSON value with every `idNumber` and `phone` value masked, and the `name` of
 * every record that holds one of them. */
export function maskPersonalData<T>(value: T): T {
  return mask(value, 0) as T;
}

function mask(value: unknown, depth: number): unknown {
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => mask(item, depth + 1));
  const out: Record<string, unknown> = {};
  const party = isParty(value);
  for (const [key, item] of Object.entries(value)) {
    const personal = MASKED_KEYS.has(key) || (party && key === PARTY_NAME_KEY);
    out[key] = personal && item !== null && item !== undefined ? MASK : mask(item, depth + 1);
  }
  return out;
}

/** True when a JSON value holds a personal-data key somewhere. */
export function hasPersonalData(value: unknown, depth = 0): boolean {
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((item) => hasPersonalData(item, depth + 1));
  return Object.entries(value).some(([key, item]) => MASKED_KEYS.has(key) || hasPersonalData(item, depth + 1));
}
