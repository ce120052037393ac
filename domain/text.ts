/**
 * Text PostgreSQL can store. It refuses the NUL character (U+0000) in `text` and in `jsonb`
 * alike, so a message carrying one would fail its projection on every retry: every entry point
 * (the API's schemas, the workflow's validators) refuses it first. Pure: no Node imports, safe
 * in workflow code.
 */

export const NUL = '\u0000';

/** A JSON Schema pattern matching strings without NUL (the API's `Text()` schemas use it). */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

function segment(key: string): string {
  return key.replaceAll(NUL, '\\u0000');
}

/**
 * The path of the first string (or object key) in `value` that contains NUL, or null when none
 * does. Paths are written as the API names fields: `summary`, `borrower.name`,
 * `guarantors.0.name`; a string given directly answers `$`. Cycles are followed once.
 */
export function containsNul(value: unknown): string | null {
  const seen = new Set<object>();
  const visit = (current: unknown, path: string[]): string | null => {
    if (typeof current === 'string') return current.includes(NUL) ? path.join('.') || '$' : null;
    if (typeof current !== 'object' || current === null || seen.has(current)) return null;
    seen.add(current);
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) {
        const found = visit(current[i], [...path, String(i)]);
        if (found !== null) return found;
      }
      return null;
    }
    for (const [key, child] of Object.entries(current)) {
      if (key.includes(NUL)) return [...path, segment(key)].join('.');
      const found = visit(child, [...path, key]);
      if (found !== null) return found;
    }
    return null;
  };
  return visit(value, []);
}
