import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { CASE_SEARCH_ATTRIBUTES } from '../domain';

const ALREADY_EXISTS = 6;
const { IndexedValueType } = proto.temporal.api.enums.v1;

/** The kinds of attribute the case uses, as the operator service and the dev server name them. */
const INDEXED_VALUE_TYPES = {
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;
const DEV_SERVER_TYPES = { INT: 'Int', KEYWORD: 'Keyword', DATETIME: 'Datetime' } as const;

/** Registers the case search attributes on a namespace that lacks them. Idempotent: dev
 * servers started by the project already have them, and a second worker finds them there. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = CASE_SEARCH_ATTRIBUTES.filter((key) => !(key.name in customAttributes));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, INDEXED_VALUE_TYPES[key.type as keyof typeof INDEXED_VALUE_TYPES]]),
      ),
    });
  } catch (err) {
    if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
  }
  // The server applies new attributes asynchronously; wait until they are listed.
  for (let attempt = 0; attempt < 50; attempt++) {
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    if (missing.every((key) => key.name in listed.customAttributes)) return missing.map((k) => k.name);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`search attributes ${missing.map((k) => k.name).join(', ')} not usable on ${namespace}`);
}

/** `--search-attribute` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return CASE_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${DEV_SERVER_TYPES[key.type as keyof typeof DEV_SERVER_TYPES]}`]);
}
