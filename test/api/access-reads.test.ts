/**
 * Every read of a case's personal data or history is recorded (who, what, when) in an
 * append-only table, and admins list it: GET /v1/audit/reads, paged, by actor, case and time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Role } from '../../domain';
import { newLoan } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const ADMIN: Who = ['admin', 'admin-auditor'];

interface ReadItem {
  readId: string;
  readAt: string;
  actor: { sub: string; role: string; branch: string | null };
  caseId: string;
  what: string;
  requestId: string;
}

let h: CaseHarness;
let t: ApiTest;
let caseId: string;
beforeAll(async () => {
  h = await startCaseHarness();
  t = await build({ harness: h });
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: newLoan({ branch: 'BR01' }) });
  expect(res.statusCode, res.body).toBe(201);
  caseId = res.json().case.caseId;
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

async function readsOf(query: string): Promise<{ items: ReadItem[]; nextCursor: string | null }> {
  const res = await t.as(ADMIN, { url: `/v1/audit/reads?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('the record of reads', () => {
  it('records who read which case, what and when, and lists it by actor, case and time', async () => {
    // Subjects of this test only: the table is shared with the other test files of the run.
    const supervisor: Who = ['supervisor', `sup-${randomUUID().slice(0, 8)}`, 'BR01'];
    const officer: Who = ['officer', `off-${randomUUID().slice(0, 8)}`, 'BR01'];
    const before = new Date(Date.now() - 1000).toISOString();
    const reads: [Who, string][] = [
      [supervisor, `/v1/cases/${caseId}`],
      [supervisor, `/v1/cases/${caseId}/events`],
      [supervisor, `/v1/cases/${caseId}/history`],
      [officer, `/v1/cases/${caseId}/refusals`],
      [officer, '/v1/cases?limit=1&branch=BR01'],
    ];
    const requestIds: string[] = [];
    for (const [who, url] of reads) {
      const res = await t.as(who, { url });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    }
    // A read that is refused shows nothing, and is not a read.
    expectProblem(await t.as(['supervisor', supervisor[1], 'BR02'], { url: `/v1/cases/${caseId}` }), 404);

    const bySupervisor = await readsOf(`actorSub=${supervisor[1]}&from=${encodeURIComponent(before)}`);
    expect(bySupervisor.items.map((r) => [r.caseId, r.what])).toEqual([
      [caseId, 'case'],
      [caseId, 'events'],
      [caseId, 'history'],
    ]);
    for (const item of bySupervisor.items) {
      expect(item.actor).toEqual({ sub: supervisor[1], role: 'supervisor', branch: 'BR01' });
      expect(Date.parse(item.readAt)).toBeGreaterThanOrEqual(Date.parse(before));
      requestIds.push(item.requestId);
    }
    expect(new Set(requestIds).size).toBe(3);

    // A list records each case it showed (here one: limit=1).
    const byOfficer = await readsOf(`actorSub=${officer[1]}`);
    expect(byOfficer.items.map((r) => r.what)).toEqual(['refusals', 'case_list']);
    expect(byOfficer.items[0]!).toMatchObject({ caseId, actor: { sub: officer[1], role: 'officer', branch: 'BR01' } });
    expect((await readsOf(`actorSub=${officer[1]}&caseId=${caseId}&what=refusals`)).items).toHaveLength(1);
    expect((await readsOf(`caseId=${caseId}&actorSub=${supervisor[1]}`)).items).toHaveLength(3);

    // Time range: `to` exclusive, before the first read, leaves them all out.
    expect((await readsOf(`actorSub=${supervisor[1]}&to=${encodeURIComponent(before)}`)).items).toEqual([]);
    expect((await readsOf(`actorSub=${supervisor[1]}&what=history`)).items.map((r) => r.what)).toEqual(['history']);
  });

  it('pages with a cursor, oldest first, without losing or repeating a read', async () => {
    const reader: Who = ['admin', `admin-${randomUUID().slice(0, 8)}`];
    for (let i = 0; i < 5; i++) expect((await t.as(reader, { url: `/v1/cases/${caseId}` })).statusCode).toBe(200);
    const seen: ReadItem[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: ReadItem[]; nextCursor: string | null } = await readsOf(
        `actorSub=${reader[1]}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen.map((r) => r.readId)).size).toBe(5);
    const times = seen.map((r) => Date.parse(r.readAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('is for admins only, and refuses bad filters by name', async () => {
    for (const who of [['supervisor', 'sup-1', 'BR01'], ['officer', 'off-1', 'BR01'], CORE] as Who[]) {
      expectProblem(await t.as(who, { url: '/v1/audit/reads' }), 403);
    }
    expectProblem(await t.as(ADMIN, { url: '/v1/audit/reads?from=yesterday' }), 400, ['from']);
    expectProblem(await t.as(ADMIN, { url: '/v1/audit/reads?caseId=nope' }), 400, ['caseId']);
    expectProblem(await t.as(ADMIN, { url: '/v1/audit/reads?cursor=bm90LWEtY3Vyc29y' }), 400, ['cursor']);
  });

  it('answers concurrent reads only once each one\'s own read is committed', async () => {
    const watcher = new pg.Pool({ connectionString: inject('databaseUrl'), max: 4 });
    try {
      const readers: Who[] = Array.from({ length: 12 }, (_, i) => ['supervisor', `sup-${i}-${randomUUID().slice(0, 8)}`, 'BR01']);
      // Another connection sees a row only once it is committed: each answer must find its own.
      const seenAtAnswer = await Promise.all(
        readers.map(async (who) => {
          const res = await t.as(who, { url: `/v1/cases/${caseId}` });
          expect(res.statusCode, res.body).toBe(200);
          const { rows } = await watcher.query<{ request_id: string }>('select request_id from case_reads where actor_sub = $1', [who[1]]);
          return rows;
        }),
      );
      for (const rows of seenAtAnswer) expect(rows).toHaveLength(1);
      expect(new Set(seenAtAnswer.map((rows) => rows[0]!.request_id)).size).toBe(readers.length);
    } finally {
      await watcher.end();
    }
  });

  it('fails with 503 every read whose record could not be written, and records none of them', async () => {
    // A login role of the test's own that may read the ledger but not write the record of reads:
    // every insert of a batch fails, as when PostgreSQL refuses it.
    const ownerUrl = inject('databaseUrl');
    const login = `cc_reads_refused_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    const owner = new pg.Client({ connectionString: ownerUrl });
    await owner.connect();
    await owner.query(`create role ${pg.escapeIdentifier(login)} login password ${pg.escapeLiteral(password)}`);
    await owner.query(`grant usage on schema public to ${pg.escapeIdentifier(login)}`);
    await owner.query(`grant select on cases, case_reads to ${pg.escapeIdentifier(login)}`);
    const url = new URL(ownerUrl);
    url.username = login;
    url.password = password;
    const refused = await build({ env: { DATABASE_URL: url.toString() } });
    try {
      const reader: Who = ['supervisor', `sup-${randomUUID().slice(0, 8)}`, 'BR01'];
      const answers = await Promise.all(Array.from({ length: 6 }, () => refused.as(reader, { url: `/v1/cases/${caseId}` })));
      for (const res of answers) {
        expectProblem(res, 503);
        expect(res.headers['retry-after']).toBeDefined();
      }
      expect((await readsOf(`actorSub=${reader[1]}`)).items).toEqual([]);
      // The same reads through a role that may record them answer again.
      expect((await t.as(reader, { url: `/v1/cases/${caseId}` })).statusCode).toBe(200);
    } finally {
      await refused.close();
      await owner.query(`drop owned by ${pg.escapeIdentifier(login)}`);
      await owner.query(`drop role if exists ${pg.escapeIdentifier(login)}`);
      await owner.end();
    }
  });

  it('is append-only for the runtime role: it may insert and select, never update or delete', async () => {
    const ownerUrl = inject('databaseUrl');
    const login = `cc_reads_test_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    const owner = new pg.Client({ connectionString: ownerUrl });
    await owner.connect();
    await owner.query(`create role ${pg.escapeIdentifier(login)} login password ${pg.escapeLiteral(password)} in role collection_app`);
    const url = new URL(ownerUrl);
    url.username = login;
    url.password = password;
    const app = new pg.Client({ connectionString: url.toString() });
    try {
      await app.connect();
      await app.query('begin');
      const inserted = await app.query<{ read_id: string }>(
        `insert into case_reads (actor_sub, actor_role, case_id, what, request_id) values ('probe', 'admin', $1, 'case', 'probe') returning read_id`,
        [caseId],
      );
      expect(inserted.rows).toHaveLength(1);
      for (const statement of ['update case_reads set actor_sub = $1', 'delete from case_reads where actor_sub = $1']) {
        await app.query('savepoint probe');
        await expect(app.query(statement, ['probe'])).rejects.toMatchObject({ code: '42501' });
        await app.query('rollback to savepoint probe');
      }
      await app.query('rollback');
      // Even the owner cannot change the record: the trigger refuses.
      await expect(owner.query(`update case_reads set what = 'case' where case_id = $1`, [caseId])).rejects.toThrow(/append-only/);
      await expect(owner.query(`delete from case_reads where case_id = $1`, [caseId])).rejects.toThrow(/append-only/);
    } finally {
      await app.end().catch(() => undefined);
      await owner.query(`drop role if exists ${pg.escapeIdentifier(login)}`);
      await owner.end();
    }
  });
});
