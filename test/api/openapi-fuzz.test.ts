/**
 * The OpenAPI document and the server agree: schemathesis (PyPI) generates requests from
 * `/docs/json` (valid and invalid ones, boundary values included) against the real app,
 * listening on 127.0.0.1 with a worker behind it on the run's Temporal server and PostgreSQL.
 * It checks that no answer is a server error, that every answer (status, media type, body,
 * headers) is one the document declares, and that requests the document calls invalid are
 * refused. About 1,300 requests in some 20 s alone; FUZZ_MAX_EXAMPLES, FUZZ_PHASES, FUZZ_SEED and FUZZ_ARGS widen or aim a run by hand.
 *
 * `.ci/run` installs schemathesis into `.tools/py`; where it is missing the test installs it,
 * and skips (saying why) only when that is impossible outside CI.
 */
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_NUL_PATTERN } from '../../domain';
import { PROJECT_ROOT } from '../../tools/project-paths';
import { newLoan } from '../support/fixtures';
import { createDatabase } from '../../db/client';
import { migrateDatabase } from '../../db/migrate';
import { seedPolicies } from '../../db/seed';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { build, type ApiTest } from './helper';

/** The version .ci/run installs. */
const SCHEMATHESIS_VERSION = '4.32.5';
const TARGET = path.join(PROJECT_ROOT, '.tools', 'py');
const env = { ...process.env, PYTHONPATH: TARGET, PYTHONDONTWRITEBYTECODE: '1', NO_COLOR: '1' };

function schemathesisVersion(): string | undefined {
  const res = spawnSync('python3', ['-m', 'schemathesis.cli', '--version'], { env, encoding: 'utf8', timeout: 60_000 });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/** schemathesis from .tools/py, installed there first if need be; why not, when it cannot be. */
function ensureSchemathesis(): { ok: true; version: string } | { ok: false; why: string } {
  let version = existsSync(path.join(TARGET, 'schemathesis')) ? schemathesisVersion() : undefined;
  if (version) return { ok: true, version };
  const install = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', TARGET, `schemathesis==${SCHEMATHESIS_VERSION}`],
    { encoding: 'utf8', timeout: 300_000 },
  );
  version = schemathesisVersion();
  if (version) return { ok: true, version };
  return { ok: false, why: `pip install schemathesis into .tools/py failed: ${(install.stderr || install.error?.message || '').trim().slice(-500)}` };
}

const tool = ensureSchemathesis();
if (!tool.ok && process.env.CI) throw new Error(`schemathesis must run in CI: ${tool.why}`);
if (!tool.ok) console.warn(`Skipping the OpenAPI fuzz test: ${tool.why}`);

/** Runs schemathesis; resolves with its exit code and output, killed after `timeoutMs`. */
function run(args: string[], timeoutMs: number, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('python3', ['-m', 'schemathesis.cli', ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe.skipIf(!tool.ok)('the OpenAPI document, fuzzed', () => {
  let h: CaseHarness;
  let t: ApiTest;
  let baseUrl: string;
  let workDir: string;
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    // A database of its own: generated requests (a bulk reassignment of every case of an officer,
    // say) must never reach the cases of the test files running beside this one.
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
    // The document's example case (`case-LOAN123`) exists, paused: generated messages then reach
    // a live case, not only 404s.
    const opened = await t.as(['admin', 'fuzz-admin'], {
      method: 'POST',
      url: '/v1/cases',
      payload: { ...newLoan({ loanId: 'LOAN123', guarantors: [] }), officerId: 'officer-li' },
    });
    expect(opened.statusCode, opened.body).toBe(201);
    await t.as(['admin', 'fuzz-admin'], { method: 'POST', url: '/v1/cases/case-LOAN123/pause', payload: { reason: 'dispute' } });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    // schemathesis and hypothesis write nothing into the repository.
    workDir = mkdtempSync(path.join(os.tmpdir(), 'openapi-fuzz-'));
    // 503 and 504 are the API's documented "retry later" answers (a dependency down, no worker
    // answering in time: on a loaded CI machine the worker may lag); every other 5xx is a bug.
    writeFileSync(
      path.join(workDir, 'schemathesis.toml'),
      '[checks.not_a_server_error]\nexpected-statuses = ["1xx", "2xx", "3xx", "4xx", "503", "504"]\n',
    );
  });
  afterAll(async () => {
    await t?.close();
    await h?.close();
    await scratch?.drop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('answers every generated request without a server error, as the document says', { timeout: 330_000 }, async () => {
    const { code, output } = await run(
      [
        '--config-file',
        path.join(workDir, 'schemathesis.toml'),
        'run',
        `${baseUrl}/docs/json`,
        '--header',
        `Authorization: ${t.auth('admin', 'fuzz-admin')}`,
        '--checks',
        'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,response_headers_conformance',
        '--max-examples',
        process.env.FUZZ_MAX_EXAMPLES ?? '6',
        // The stateful phase chains intakes and messages through the worker: minutes on two cores
        // beside the other test files; FUZZ_PHASES=stateful runs it by hand.
        '--phases',
        process.env.FUZZ_PHASES ?? 'examples,coverage,fuzzing',
        '--workers',
        '2',
        '--seed',
        process.env.FUZZ_SEED ?? '6',
        '--generation-database',
        'none',
        '--request-timeout',
        '20',
        '--max-failures',
        '20',
        '--no-color',
        // e.g. FUZZ_ARGS='--include-path-regex resume' to aim a run by hand.
        ...(process.env.FUZZ_ARGS?.split(' ').filter(Boolean) ?? []),
        '--output-truncate',
        'false',
      ],
      // Alone it takes some 20 s; beside the other test files on two cores, minutes.
      300_000,
      workDir,
    );
    const summary = output.match(/Test cases:\s*\n\s*(.+)/)?.[1];
    expect(summary, output.slice(-4_000)).toMatch(/\d+ generated/);
    // CPython 3.11.7's ast.parse can fail deep in hypothesis while it names a filter
    // ("AST constructor recursion depth mismatch", fixed in 3.11.8): schemathesis counts that as a
    // runtime error of its own. The run still fails on any failure it found in the API.
    const toolCrashOnly =
      code !== 0 && /Runtime Error/.test(output) && /AST constructor recursion depth mismatch/.test(output) && !/found \d+ unique failure/.test(summary ?? '');
    if (!toolCrashOnly) expect(code, output.slice(-12_000)).toBe(0);
    console.info(`schemathesis ${tool.ok ? tool.version : ''}: ${summary}`);
  });
});

describe('request bodies: the document says which are required, and the server agrees', () => {
  let t: ApiTest;
  beforeAll(async () => {
    t = await build();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a body the document requires is refused when missing (resume included); an optional one may be left out', async () => {
    const doc = (await t.app.inject({ url: '/docs/json' })).json();
    const posts = Object.entries(doc.paths as Record<string, Record<string, { requestBody?: { required?: boolean } }>>)
      .filter(([, ops]) => ops.post?.requestBody)
      .map(([route, ops]) => ({ route, required: ops.post!.requestBody!.required !== false }));
    // The fuzzer of issue 6 found `POST …/resume` without its required body answered 200.
    expect(posts.find((p) => p.route.endsWith('/resume'))).toEqual({ route: '/v1/cases/{caseId}/resume', required: true });
    for (const { route, required } of posts) {
      const url = route.replace('{caseId}', 'case-NO-SUCH-LOAN');
      const res = await t.as(['admin', 'admin-1'], { method: 'POST', url });
      if (required) expect(res.statusCode, `${route} without a body`).toBe(400);
      else expect(res.statusCode, `${route} without a body`).toBe(404); // past validation: no such case
    }
  });
});

describe('request schemas: every value a request carries is bounded', () => {
  type Schema = Record<string, unknown>;
  /** Every schema a request's parameters and bodies hold, with where it sits. */
  function requestSchemas(doc: { paths: Record<string, Record<string, Schema>> }): [string, Schema][] {
    const found: [string, Schema][] = [];
    const walk = (at: string, schema: unknown) => {
      if (typeof schema !== 'object' || schema === null) return;
      const s = schema as Schema;
      found.push([at, s]);
      for (const key of ['anyOf', 'oneOf', 'allOf'] as const) (s[key] as unknown[] | undefined)?.forEach((sub, i) => walk(`${at}/${key}/${i}`, sub));
      if (s.items) walk(`${at}/items`, s.items);
      for (const [name, sub] of Object.entries((s.properties as Record<string, unknown>) ?? {})) walk(`${at}.${name}`, sub);
    };
    for (const [route, operations] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${route}`;
        for (const p of (op.parameters as { name: string; in: string; schema: Schema }[]) ?? []) walk(`${where} ${p.in}:${p.name}`, p.schema);
        const content = (op.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)?.content ?? {};
        for (const media of Object.values(content)) walk(`${where} body`, media.schema);
      }
    }
    return found;
  }

  it('strings have a length bound and refuse NUL; integers have both bounds', async () => {
    const t = await build();
    try {
      const doc = (await t.app.inject({ url: '/docs/json' })).json();
      const problems: string[] = [];
      for (const [at, s] of requestSchemas(doc)) {
        if (s.type === 'string' && !s.enum && !s.const && !s.format) {
          const pattern = s.pattern as string | undefined;
          // `^…{0,63}$`, `^[A-Z]{3}$`: the pattern itself bounds the length.
          const boundedPattern = pattern !== undefined && /\{\d+(,\d+)?\}\$$/.test(pattern);
          if (s.maxLength === undefined && !boundedPattern) problems.push(`${at}: a string without maxLength`);
          // A pattern refuses NUL when it is Text()'s, or lists what it allows: no `.` outside a
          // character class, no negated class.
          const outsideClasses = pattern?.replace(/\[(?:\\.|[^\]\\])*\]/g, '');
          const permissive =
            pattern === undefined || (pattern !== NO_NUL_PATTERN && (/\[\^/.test(pattern) || /(^|[^\\])\./.test(outsideClasses!)));
          if (permissive) problems.push(`${at}: a string that may hold NUL (pattern ${pattern ?? 'none'})`);
        }
        if (s.type === 'integer' && (s.minimum === undefined || s.maximum === undefined)) problems.push(`${at}: an integer without both bounds`);
      }
      expect(problems).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
