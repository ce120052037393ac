/**
 * The API client, typed from the service's own OpenAPI document (scripts/build-console.ts
 * generates `generated/openapi.d.ts`). Every call carries the signed-in user's bearer token.
 */
import createClient from 'openapi-fetch';
import type { paths } from './generated/openapi';
import { savedSession } from './session';

export const api = createClient<paths>({ baseUrl: window.location.origin });

let onUnauthorized: () => void = () => {};

/** The app signs the user out when the API no longer takes the token (expired, revoked). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

api.use({
  onRequest({ request }) {
    const session = savedSession();
    if (session) request.headers.set('authorization', `Bearer ${session.token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) onUnauthorized();
    return response;
  },
});

/** An RFC 9457 problem as the console shows it: the sentence, and each bad field's reason. */
export interface ProblemView {
  status: number;
  detail: string;
  reason: string | null;
  fields: Record<string, string>;
}

export function problemOf(error: unknown, response: Response | undefined): ProblemView {
  const body = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: number;
    detail?: string;
    reason?: string;
    errors?: { field: string; reason: string }[];
  };
  const fields: Record<string, string> = {};
  for (const e of body.errors ?? []) fields[e.field] = e.reason;
  return {
    status: body.status ?? response?.status ?? 0,
    detail: body.detail ?? (typeof error === 'string' && error ? error : `HTTP ${response?.status ?? '?'}`),
    reason: body.reason ?? null,
    fields,
  };
}

/** Unwraps an openapi-fetch answer: the data, or a thrown ProblemView. */
export async function call<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await pending;
  } catch (err) {
    throw { status: 0, detail: err instanceof Error ? err.message : String(err), reason: null, fields: {} } satisfies ProblemView;
  }
  if (answer.error !== undefined || !answer.response.ok) throw problemOf(answer.error, answer.response);
  return answer.data as T;
}

export function isProblem(value: unknown): value is ProblemView {
  return typeof value === 'object' && value !== null && 'detail' in value && 'fields' in value;
}

/** A fresh request id: the API's Idempotency-Key, so a retried click has no second effect. */
export function requestId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}
