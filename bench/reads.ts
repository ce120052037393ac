/**
 * `npm run bench:reads`: the ledger's reads through the API against a bare Fastify route in the
 * same process, on the same PostgreSQL pool, with the same JWT check, measured in the same run
 * with autocannon (bench/load.ts, a process of its own). Goal: the API at 0.7× the bare route or
 * better, on a ledger of 100,000 cases. Prints a table and writes its section of
 * bench/RESULTS.md. Asserts no timings.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:reads
 *   BENCH_READS_CASES=10000 BENCH_READS_SECONDS=3 npm run bench:reads    # a quick try
 *
 * Tunables (environment): BENCH_READS_CASES (100000), BENCH_READS_SECONDS (10 per round),
 * BENCH_READS_CONNECTIONS (16), BENCH_READS_ROUNDS (2: bare and API alternate, rounds averaged).
 *
 * The ledger is seeded with SQL (generate_series), not through Temporal: reads never touch the
 * case workflows. Both sides answer an officer of branch BR00 (one of 20 branches): a case by
 * id drawn at random among the branch's, and a page of 50 of its collecting cases after a
 * cursor drawn at random. The API does what it does for every read: the token and the caller's
 * branch checked, the row read with the computed columns (days past due, case date), the read
 * recorded in `case_reads`, the answer serialized by its schema. The bare route verifies the
 * same token with @fastify/jwt and sends `select *` of the same rows.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import fastifyJwt from '@fastify/jwt';
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp } from '../api/app';
import { signToken } from '../api/auth/tokens';
import { tokenVerification } from '../api/auth/verification';
import { encodeCursor } from '../api/pagination';
import { loadConfig } from '../config';
import { createDatabase } from '../db/client';
import { createLogger } from '../logger';
import { dataConverterFrom } from '../temporal/codec';
import { PROJECT_ROOT } from '../tools/project-paths';
import { envInt, machineLines, met, writeSection } from './common';
import { Cleanups, createBenchDatabase } from './services';

const SETTINGS = {
  cases: envInt('BENCH_READS_CASES', 100_000),
  seconds: envInt('BENCH_READS_SECONDS', 10),
  connections: envInt('BENCH_READS_CONNECTIONS', 16),
  rounds: envInt('BENCH_READS_ROUNDS', 2),
};
const GOAL = 0.7;
const BRANCHES = 20;
const BRANCH = 'BR00';
const PAGE = 50;

/** The ledger: `n` cases over 20 branches, nine in ten collecting, every NOT NULL column valid. */
const SEED_SQL = `
insert into cases (case_id, loan_id, run_id, stage, hand, overdue_since, clock_origin, day_ms, currency,
  principal, outstanding, overdue, arrears, recovered, branch, product, secured, officer_id, policy_name,
  policy_version, collateral, opened_at, version, last_event_type, last_event_at)
select 'case-RB' || lpad(n::text, 7, '0'), 'RB' || lpad(n::text, 7, '0'), gen_random_uuid()::text,
  case when (n / ${BRANCHES}) % 10 = 0 then 'paused' else 'collecting' end, 1 + (n / ${BRANCHES}) % 6,
  current_date - (n % 200), now() - interval '1 day' * (n % 200), 86400000, 'CNY',
  50000000, 32000000, 1200000,
  '{"legalCosts":0,"fees":0,"penaltyInterest":0,"interest":200000,"principal":1000000}'::jsonb, 0,
  'BR' || lpad((n % ${BRANCHES})::text, 2, '0'), 'small_business', n % 2 = 0, 'officer-' || (n % 250),
  'standard', 1, '[]'::jsonb, now() - interval '1 day' * (n % 200), 3, 'hand_entered', now()
from generate_series(0, $1::int - 1) as n`;

interface Load {
  requests: { mean: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

async function load(url: string, pathsFile: string, authorization: string): Promise<Load> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench/load.ts'), JSON.stringify({ url, pathsFile, authorization, connections: SETTINGS.connections, seconds: SETTINGS.seconds })], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`autocannon exited with ${code}`);
  return JSON.parse(out) as Load;
}

/** The bare route: the same token check, a primary-key select and a filtered page, no more. */
async function bareServer(config: ReturnType<typeof loadConfig>, pool: import('pg').Pool): Promise<FastifyInstance> {
  const bare = Fastify({ logger: false });
  await bare.register(fastifyJwt, tokenVerification(config).jwt);
  bare.addHook('onRequest', async (request) => {
    await request.jwtVerify();
  });
  // `/audited/…`: the same, plus a read audit the simple way (an insert of its own per request,
  // a row per case read), to show what such a record costs apart from everything else.
  const audit = async (caseIds: string[]) => {
    if (caseIds.length === 0) return;
    await pool.query(
      "insert into case_reads (actor_sub, actor_role, actor_branch, case_id, what, request_id) select 'bench-bare-route', 'officer', $1, unnest($2::text[]), 'case', gen_random_uuid()::text",
      [BRANCH, caseIds],
    );
  };
  for (const prefix of ['/bare', '/audited']) {
    bare.get<{ Params: { caseId: string } }>(`${prefix}/cases/:caseId`, async (request, reply) => {
      const { rows } = await pool.query<{ case_id: string }>('select * from cases where case_id = $1', [request.params.caseId]);
      if (rows.length === 0) return reply.code(404).send();
      if (prefix === '/audited') await audit([rows[0]!.case_id]);
      return rows[0];
    });
    bare.get<{ Querystring: { stage: string; after: string } }>(`${prefix}/cases`, async (request) => {
      const { rows } = await pool.query<{ case_id: string }>('select * from cases where branch = $1 and stage = $2 and case_id > $3 order by case_id limit $4', [
        BRANCH,
        request.query.stage,
        request.query.after,
        PAGE + 1,
      ]);
      const items = rows.slice(0, PAGE);
      if (prefix === '/audited') await audit(items.map((r) => r.case_id));
      return { items };
    });
  }
  await bare.listen({ host: '127.0.0.1', port: 0 });
  return bare;
}

const address = (app: FastifyInstance) => {
  const a = app.server.address();
  if (a === null || typeof a === 'string') throw new Error('not listening on TCP');
  return `http://127.0.0.1:${a.port}`;
};

async function main(): Promise<void> {
  const cleanups = new Cleanups();
  const started = Date.now();
  const log = (message: string) => console.error(`[bench:reads ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
  try {
    log(`a PostgreSQL database of its own, seeded with ${SETTINGS.cases} cases…`);
    const database = await createBenchDatabase(cleanups);
    const config = loadConfig({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '100000000' });
    const handle = createDatabase(database.url, config.DATABASE_POOL_MAX);
    cleanups.push('database pool', () => handle.close());
    await handle.pool.query(SEED_SQL, [SETTINGS.cases]);
    await handle.pool.query('analyze cases');

    const branchCases = (await handle.pool.query<{ case_id: string }>('select case_id from cases where branch = $1 order by case_id', [BRANCH])).rows.map((r) => r.case_id);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-reads-'));
    cleanups.push('paths files', () => rm(dir, { recursive: true, force: true }));
    // Cursors late in the branch would give short pages: drawn from its first nine tenths.
    const cursors = branchCases.slice(0, Math.floor(branchCases.length * 0.9));
    const files = {
      apiCase: path.join(dir, 'api-case'),
      bareCase: path.join(dir, 'bare-case'),
      apiPage: path.join(dir, 'api-page'),
      barePage: path.join(dir, 'bare-page'),
      auditedCase: path.join(dir, 'audited-case'),
      auditedPage: path.join(dir, 'audited-page'),
    };
    await writeFile(files.apiCase, branchCases.map((id) => `/v1/cases/${id}`).join('\n'));
    await writeFile(files.bareCase, branchCases.map((id) => `/bare/cases/${id}`).join('\n'));
    await writeFile(files.apiPage, cursors.map((id) => `/v1/cases?stage=collecting&limit=${PAGE}&cursor=${encodeCursor({ after: id })}`).join('\n'));
    await writeFile(files.barePage, cursors.map((id) => `/bare/cases?stage=collecting&after=${id}`).join('\n'));
    await writeFile(files.auditedCase, branchCases.map((id) => `/audited/cases/${id}`).join('\n'));
    await writeFile(files.auditedPage, cursors.map((id) => `/audited/cases?stage=collecting&after=${id}`).join('\n'));

    // No Temporal server: reads never call it, and the lazy client never connects.
    const temporal = new Client({ dataConverter: dataConverterFrom(process.env) });
    const app = await buildApp({ config, db: handle.db, temporal, logger: createLogger('silent') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push('API', () => app.close());
    const bare = await bareServer(config, handle.pool);
    cleanups.push('bare server', () => bare.close());
    const authorization = `Bearer ${signToken(config.JWT_SECRET, { role: 'officer', sub: 'officer-0', branch: BRANCH }, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE })}`;

    const targets = [
      { what: 'case', api: files.apiCase, bare: files.bareCase, audited: files.auditedCase },
      { what: 'page', api: files.apiPage, bare: files.barePage, audited: files.auditedPage },
    ] as const;
    // A check that both answer what they should before anything is timed.
    for (const [url, file] of [[address(app), files.apiCase], [address(bare), files.bareCase], [address(app), files.apiPage], [address(bare), files.barePage]] as const) {
      const first = readFileSync(file, 'utf8').split('\n')[0]!;
      const res = await fetch(`${url}${first}`, { headers: { authorization } });
      if (res.status !== 200) throw new Error(`${first}: ${res.status} ${await res.text()}`);
    }
    log('warming up both servers…');
    const saved = SETTINGS.seconds;
    SETTINGS.seconds = Math.min(3, saved);
    for (const t of targets) {
      await load(address(bare), t.bare, authorization);
      await load(address(app), t.api, authorization);
    }
    SETTINGS.seconds = saved;

    const results: Record<string, { api: Load[]; bare: Load[]; audited: Load[] }> = { case: { api: [], bare: [], audited: [] }, page: { api: [], bare: [], audited: [] } };
    for (let round = 1; round <= SETTINGS.rounds; round++) {
      for (const t of targets) {
        log(`round ${round}: ${t.what}, bare route…`);
        results[t.what]!.bare.push(await load(address(bare), t.bare, authorization));
        log(`round ${round}: ${t.what}, API…`);
        results[t.what]!.api.push(await load(address(app), t.api, authorization));
        log(`round ${round}: ${t.what}, bare route with the read audit…`);
        results[t.what]!.audited.push(await load(address(bare), t.audited, authorization));
      }
    }
    const reads = Number((await handle.pool.query<{ n: string }>("select count(*) as n from case_reads where actor_sub = 'officer-0'")).rows[0]!.n);

    const avg = (xs: Load[], f: (l: Load) => number) => xs.reduce((a, l) => a + f(l), 0) / xs.length;
    const failures = (xs: Load[]) => xs.reduce((a, l) => a + l.non2xx + l.errors, 0);
    const rows = (['case', 'page'] as const).map((what) => {
      const r = results[what]!;
      const api = avg(r.api, (l) => l.requests.mean);
      const bareRps = avg(r.bare, (l) => l.requests.mean);
      return {
        what: what === 'case' ? '`GET /v1/cases/:caseId`' : `\`GET /v1/cases?stage=collecting&limit=${PAGE}\` (a branch's page)`,
        api,
        bare: bareRps,
        ratio: api / bareRps,
        apiP99: avg(r.api, (l) => l.latency.p99),
        bareP99: avg(r.bare, (l) => l.latency.p99),
        apiP50: avg(r.api, (l) => l.latency.p50),
        bareP50: avg(r.bare, (l) => l.latency.p50),
        audited: avg(r.audited, (l) => l.requests.mean),
        failures: failures(r.api) + failures(r.bare) + failures(r.audited),
      };
    });
    const table = [
      '| Read | API req/s | Bare req/s | Ratio (goal ≥ 0.7×) | API p50 / p99 ms | Bare p50 / p99 ms | Non-2xx or errors |',
      '|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.what} | ${r.api.toFixed(0)} | ${r.bare.toFixed(0)} | **${r.ratio.toFixed(2)}×** ${met(r.ratio >= GOAL)} | ${r.apiP50.toFixed(0)} / ${r.apiP99.toFixed(0)} | ${r.bareP50.toFixed(0)} / ${r.bareP99.toFixed(0)} | ${r.failures} |`,
      ),
      '',
      'The bare route with a read audit added the simple way (an insert into `case_reads` of its own per request, nothing else), to show what such a record costs:',
      '',
      '| Read | Bare + audit req/s | Against bare | API against bare + audit |',
      '|---|---|---|---|',
      ...rows.map((r) => `| ${r.what} | ${r.audited.toFixed(0)} | ${(r.audited / r.bare).toFixed(2)}× | ${(r.api / r.audited).toFixed(2)}× |`),
      '',
      `Reads recorded in \`case_reads\` during the run: ${reads} (one row per case read through the API: ${PAGE} per page).`,
    ];
    console.log('');
    for (const line of table) console.log(line);
    writeSection('reads', [
      '## Reads (issue 10 §2)',
      '',
      'Written by `npm run bench:reads` (bench/reads.ts): the API (`buildApp`, as `npm run server` serves it) against a bare',
      'Fastify route in the same process, on the same pg pool (DATABASE_POOL_MAX), verifying the same bearer token with',
      '@fastify/jwt, measured in the same run with autocannon in a process of its own; bare and API alternate, rounds averaged.',
      `The ledger holds ${SETTINGS.cases.toLocaleString('en')} cases seeded with SQL (20 branches); the caller is an officer of ${BRANCH}; each request`,
      'reads a case drawn at random from the branch, or the page of 50 collecting cases after a random cursor. The API',
      'also records each read in `case_reads` (a row per case: the audit of who read what; concurrent requests\' rows committed together, one insert at a time), computes',
      'the calendar columns and serializes by its response schema; the bare route sends `select *`. Logging off on both.',
      '',
      ...machineLines([
        `- PostgreSQL: ${database.version}, ${database.source}; pool of ${config.DATABASE_POOL_MAX}`,
        `- ${SETTINGS.connections} connections, ${SETTINGS.seconds} s per measure, ${SETTINGS.rounds} rounds (BENCH_READS_CONNECTIONS, BENCH_READS_SECONDS, BENCH_READS_ROUNDS)`,
        ...(SETTINGS.cases < 100_000 ? [`- **Provisional**: ${SETTINGS.cases} cases, not the issue's 100,000`] : []),
      ]),
      '',
      ...table,
    ]);
    console.log('\nWritten to bench/RESULTS.md');
  } finally {
    log('stopping…');
    await cleanups.runAll();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof AggregateError ? err.errors.map(String).join('\n') : err);
  process.exitCode = 1;
});
