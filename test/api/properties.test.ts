/**
 * Properties of every endpoint (issue 10): for requests generated from the app's own OpenAPI
 * document (`app.swagger()`), with parameters, bodies and tokens that are valid, a little wrong
 * or garbage, the API never answers a server error, and every rejection is a problem+json whose
 * `errors` name fields the request carried. Garbage tokens are refused with 401 on every `/v1`
 * route, before anything else is looked at.
 *
 * 503 and 504 are the API's documented "retry later" answers (no worker answered in time on a
 * loaded machine): allowed, but only as problems, 503 with Retry-After; any other 5xx fails.
 * On a scratch database with a worker behind it, with one live case, so generated messages also
 * reach a case. PROPERTY_RUNS (runs per endpoint) and PROPERTY_SEED widen or replay a run.
 */
import fc from 'fast-check';
import { createSigner } from 'fast-jwt';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../api/auth/tokens';
import { createDatabase } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { seedPolicies } from '../../db/seed';
import { ROLES } from '../../domain';
import { newLoan } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { build, type ApiTest } from './helper';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 100);
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined;
const LIVE_LOAN = 'PROPLIVE1';
const LIVE_CASE = `case-${LIVE_LOAN}`;

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: string;
  route: string;
  parameters: Parameter[];
  body?: { required: boolean; schema: Schema };
  secured: boolean;
}

/** Anything a client may put where a value belongs: wrong types, NUL, huge numbers, nesting. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constant('\u0000'),
  fc.integer(),
  fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 31) - 1, 1.5),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
);

const isoDate = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true });

function stringOf(schema: Schema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 40, 40);
  if (schema.format === 'date') return isoDate.map((d) => d.toISOString().slice(0, 10));
  if (schema.format === 'date-time') return isoDate.map((d) => d.toISOString());
  if (schema.format === 'uuid') return fc.uuid();
  // Text()'s pattern only refuses NUL: fast-check's strings never hold it.
  if (schema.pattern && !schema.pattern.startsWith('^[^\\u0000]')) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Infinity));
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}

/** Values the schema allows (mostly): the generator aims at what passes validation too. */
function valueOf(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => valueOf(s, depth)));
  if (schema.allOf) return valueOf(Object.assign({}, ...schema.allOf) as Schema, depth);
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => valueOf({ ...schema, type }, depth)));
  switch (schema.type) {
    case 'string':
      return stringOf(schema);
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1_000_000, Number.MIN_SAFE_INTEGER), max: Math.min(schema.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(valueOf(schema.items ?? {}, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 2, 2)) });
    case 'object': {
      if (depth > 3 || !schema.properties) return fc.constant({});
      const properties = Object.fromEntries(Object.entries(schema.properties).map(([name, s]) => [name, valueOf(s, depth + 1)]));
      return fc.record(properties, { requiredKeys: schema.required ?? [] });
    }
    default:
      return junk;
  }
}

/** A body near the schema: valid, one field wrong, a field missing, an unknown one, or junk. */
function bodyOf(schema: Schema): fc.Arbitrary<unknown> {
  const valid = valueOf(schema);
  const fields = Object.keys(schema.properties ?? {});
  if (schema.type !== 'object' || fields.length === 0) return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: junk });
  const asObject = valid as fc.Arbitrary<Record<string, unknown>>;
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 2, arbitrary: fc.tuple(asObject, fc.constantFrom(...fields), junk).map(([b, field, v]) => ({ ...b, [field]: v })) },
    { weight: 1, arbitrary: fc.tuple(asObject, fc.constantFrom(...fields)).map(([b, field]) => Object.fromEntries(Object.entries(b).filter(([k]) => k !== field))) },
    { weight: 1, arbitrary: fc.tuple(asObject, fc.string({ minLength: 1, maxLength: 8 }), junk).map(([b, field, v]) => ({ ...b, [`x${field}`]: v })) },
    { weight: 1, arbitrary: junk },
  );
}

/** A parameter's value as it travels in a URL or a header: from the schema, known ids, or junk. */
function parameterOf(parameter: Parameter): fc.Arbitrary<string> {
  const printable = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');
  const known =
    parameter.name === 'caseId' ? [fc.constant(LIVE_CASE), fc.constant('case-NOSUCHLOAN')] : parameter.name === 'measureId' ? [fc.uuid()] : [];
  const value = fc.oneof(
    ...known.map((arbitrary) => ({ weight: 2, arbitrary })),
    { weight: 3, arbitrary: valueOf(parameter.schema).map(printable) },
    // Header values must be printable ASCII to be sent at all: fast-check's default strings are.
    { weight: 1, arbitrary: parameter.in === 'header' ? fc.string({ maxLength: 140 }) : junk.map(printable) },
  );
  // An empty path segment addresses another route (`/v1/households/`), not this one; `.` and `..`
  // are removed by URL normalization (RFC 3986 dot segments), which does the same.
  return parameter.in === 'path' ? value.filter((v) => v !== '' && v !== '.' && v !== '..') : value;
}

interface Token {
  kind: 'valid' | 'wrong-claims' | 'garbage' | 'none';
  header?: string;
}

function tokens(secret: string): fc.Arbitrary<Token> {
  const subs = ['officer-li', 'supervisor-wang', 'admin-1', 'core-banking'];
  const valid = fc
    .record({ role: fc.constantFrom(...ROLES), sub: fc.constantFrom(...subs), branch: fc.constantFrom('BR01', 'BR02') })
    .map((claims): Token => ({ kind: 'valid', header: `Bearer ${signToken(secret, claims)}` }));
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 3_600_000 });
  // Signed with the right key, but naming no role this service knows, or several, or no branch.
  const wrongClaims = fc
    .constantFrom<Record<string, unknown>>(
      { sub: 'officer-li', role: 'auditor', branch: 'BR01' },
      { sub: 'officer-li', role: ['officer', 'admin'], branch: 'BR01' },
      { sub: 'officer-li', role: 'officer' },
      { sub: '', role: 'admin' },
      { role: 'admin' },
    )
    .map((claims): Token => ({ kind: 'wrong-claims', header: `Bearer ${sign(claims)}` }));
  const expired = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 1_000, clockTimestamp: Date.now() - 3_600_000 });
  const otherKey = createSigner({ key: 'x'.repeat(40), algorithm: 'HS256', expiresIn: 3_600_000 });
  const garbage = fc.oneof(
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
    fc.string({ minLength: 1, maxLength: 60 }),
    fc.constant(`Bearer ${expired({ sub: 'admin-1', role: 'admin' })}`),
    fc.constant(`Bearer ${otherKey({ sub: 'admin-1', role: 'admin' })}`),
    fc.constant('Basic YWRtaW46YWRtaW4='),
  ).map((header): Token => ({ kind: 'garbage', header }));
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 1, arbitrary: wrongClaims },
    { weight: 1, arbitrary: garbage },
    { weight: 1, arbitrary: fc.constant<Token>({ kind: 'none' }) },
  );
}

function operationsOf(doc: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  return Object.entries(doc.paths).flatMap(([route, operations]) =>
    Object.entries(operations).map(([method, op]): Operation => {
      const content = (op.requestBody as { required?: boolean; content?: Record<string, { schema: Schema }> } | undefined);
      const json = content?.content?.['application/json'];
      return {
        method: method.toUpperCase(),
        route,
        parameters: (op.parameters as Parameter[] | undefined) ?? [],
        ...(json ? { body: { required: content!.required !== false, schema: json.schema } } : {}),
        secured: Array.isArray(op.security) && op.security.length > 0,
      };
    }),
  );
}

interface Generated {
  path: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: { value: unknown } | { malformed: string } | undefined;
  token: Token;
}

function requestsFor(op: Operation, secret: string): fc.Arbitrary<Generated> {
  const byPlace = (place: Parameter['in'], optional: boolean) =>
    fc.record(
      Object.fromEntries(op.parameters.filter((p) => p.in === place).map((p) => [p.name, parameterOf(p)])),
      { requiredKeys: optional ? op.parameters.filter((p) => p.in === place && p.required).map((p) => p.name) : op.parameters.filter((p) => p.in === place).map((p) => p.name) },
    ) as fc.Arbitrary<Record<string, string>>;
  const body: fc.Arbitrary<Generated['body']> = op.body
    ? fc.oneof(
        { weight: 8, arbitrary: bodyOf(op.body.schema).map((value) => ({ value })) },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('{"amount": ', '[1, 2', 'not json').map((malformed) => ({ malformed })) },
      )
    : fc.constant(undefined);
  return fc.record({ path: byPlace('path', false), query: byPlace('query', true), headers: byPlace('header', true), body, token: tokens(secret) });
}

function injectOptions(op: Operation, g: Generated): InjectOptions {
  const url = op.route.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(g.path[name] ?? ''));
  const headers: Record<string, string> = { ...g.headers, ...(g.token.header !== undefined ? { authorization: g.token.header } : {}) };
  const options: InjectOptions = { method: op.method as InjectOptions['method'], url, query: g.query, headers };
  if (g.body && 'value' in g.body) return { ...options, payload: JSON.stringify(g.body.value), headers: { ...headers, 'content-type': 'application/json' } };
  if (g.body && 'malformed' in g.body) return { ...options, payload: g.body.malformed, headers: { ...headers, 'content-type': 'application/json' } };
  return options;
}

/** The names a problem's `errors` may point at: what the request carried, or the part it was in. */
function nameable(op: Operation, g: Generated): Set<string> {
  const names = new Set(['body', 'querystring', 'query', 'params', 'headers', 'request', ...op.parameters.map((p) => p.name), ...Object.keys(g.query)]);
  for (const name of Object.keys(op.body?.schema.properties ?? {})) names.add(name);
  if (g.body && 'value' in g.body && typeof g.body.value === 'object' && g.body.value !== null) {
    for (const name of Object.keys(g.body.value)) names.add(name);
  }
  return names;
}

/** The property every answer must have; a description of what broke it, or undefined. */
function violation(op: Operation, g: Generated, res: LightMyRequestResponse): string | undefined {
  const status = res.statusCode;
  const retryLater = status === 503 || status === 504;
  if (status >= 500 && !retryLater) return `a server error ${status}`;
  if (op.secured && (g.token.kind === 'garbage' || g.token.kind === 'wrong-claims' || g.token.kind === 'none') && status !== 401) {
    return `a ${g.token.kind} token answered ${status}, not 401`;
  }
  if (status < 400) return undefined;
  if (!/^application\/problem\+json/.test(String(res.headers['content-type']))) return `a ${status} served as ${res.headers['content-type']}`;
  let body: Record<string, unknown>;
  try {
    body = res.json();
  } catch {
    return `a ${status} whose body is not JSON`;
  }
  for (const key of ['type', 'title', 'detail', 'instance']) if (typeof body[key] !== 'string') return `a ${status} problem without ${key}`;
  if (body.status !== status) return `a ${status} problem saying status ${String(body.status)}`;
  if (status === 503 && !(Number(res.headers['retry-after']) >= 1)) return 'a 503 without Retry-After';
  if (status === 400 || body.errors !== undefined) {
    const errors = body.errors as { field?: unknown; reason?: unknown }[] | undefined;
    if (!Array.isArray(errors) || errors.length === 0) return `a ${status} naming no field`;
    const names = nameable(op, g);
    for (const e of errors) {
      if (typeof e.field !== 'string' || typeof e.reason !== 'string' || e.reason === '') return `a ${status} error without field and reason: ${JSON.stringify(e)}`;
      // Property names may hold dots themselves: `x.y` names the property `x.y` or `y` inside `x`;
      // `x[1]` the second item of `x`.
      const field = e.field;
      if (![...names].some((n) => field === n || field.startsWith(`${n}.`) || field.startsWith(`${n}[`))) {
        return `a ${status} naming ${field}, which the request did not carry`;
      }
    }
  }
  return undefined;
}

describe('every endpoint of the OpenAPI document, under generated requests', () => {
  let scratch: ScratchDatabase;
  let h: CaseHarness;
  let t: ApiTest;
  beforeAll(async () => {
    // Valid intakes open cases and bulk assignments move them: none of it in the shared database.
    scratch = await createScratchDatabase();
    const setup = createDatabase(scratch.url, 1, undefined, { statementTimeoutMs: 0 });
    try {
      await migrateDatabase(setup.db);
      await seedPolicies(setup.db);
    } finally {
      await setup.close();
    }
    h = await startCaseHarness({ databaseUrl: scratch.url });
    t = await build({ harness: h });
    const opened = await t.as(['system', 'core-banking'], { method: 'POST', url: '/v1/cases', payload: newLoan({ loanId: LIVE_LOAN, guarantors: [] }) });
    expect(opened.statusCode, opened.body).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    await h?.close();
    await scratch?.drop();
  });

  it('never answers a server error; every rejection is a problem naming what was wrong', { timeout: 400_000 }, async () => {
    const operations = operationsOf(t.app.swagger() as never);
    expect(operations.length).toBeGreaterThan(20);
    const statuses: Record<string, number> = {};
    const failures: string[] = [];
    for (const op of operations) {
      const where = `${op.method} ${op.route}`;
      try {
        await fc.assert(
          fc.asyncProperty(requestsFor(op, t.config.JWT_SECRET), async (g) => {
            const res = await t.app.inject(injectOptions(op, g));
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            const broken = violation(op, g, res);
            if (broken) throw new Error(`${broken}: ${res.body.slice(0, 300)}`);
          }),
          { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
        );
      } catch (err) {
        const counterexample = (err as Error).message.split('\n').filter((line) => line.startsWith('Counterexample') || line.startsWith('{ seed'));
        failures.push(`${where}: ${String(((err as Error).cause as Error | undefined)?.message ?? '')}\n${counterexample.join('\n')}`);
      }
    }
    console.info(`[properties] ${operations.length} operations × ${RUNS} runs; statuses ${JSON.stringify(statuses)}`);
    expect(failures).toEqual([]);
  });
});
