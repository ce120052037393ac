/** One difference between two JSON documents: where, and the value on each side (null where absent). */
export interface JsonChange {
  path: string;
  from: unknown;
  to: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

/** The leaves where `a` and `b` differ, in document order: arrays compared position by position,
 * objects key by key; a whole subtree present on one side only is one change. */
export function jsonChanges(a: unknown, b: unknown, path = ''): JsonChange[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) =>
      i < a.length && i < b.length ? jsonChanges(a[i], b[i], join(path, i)) : [{ path: join(path, i), from: a[i] ?? null, to: b[i] ?? null }],
    ).flat();
  }
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) =>
      key in a && key in b ? jsonChanges(a[key], b[key], join(path, key)) : [{ path: join(path, key), from: a[key] ?? null, to: b[key] ?? null }],
    );
  }
  return Object.is(a, b) ? [] : [{ path, from: a ?? null, to: b ?? null }];
}
