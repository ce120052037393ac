/**
 * The tamper-evident audit (migration 0010_audit_hash_chain, api/routes/v1/audit.ts): every
 * case_events row is chained by the database; verify recomputes the chain and names the first
 * row edited behind its back; a retried projection batch keeps the chain whole; `/v1/audit`
 * lists the trail across cases by actor, type, time and branch, in pages.
 */
import { createHash, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities';
import type { ProjectionBatch } from '../../activities/contract';
import { caseEvents } from '../../db/schema';
import type { Role } from '../../domain';
import { createLogger } from '../../logger';
import { startCaseHarness, type CaseHarness } from '../support/harness';
import { eventually, newLoan, OFFICER, openingView } from '../support/fixtures';
import { build, expectProblem, type ApiTest } from './helper';

type Who = [Role, string, string?];
const CORE: Who = ['system', 'core-banking'];
const SUPERVISOR_BR01: Who = ['supervisor', 'supervisor-wang', 'BR01'];
const SUPERVISOR_BR02: Who = ['supervisor', 'supervisor-zhao', 'BR02'];
const ADMIN: Who = ['admin', 'admin-audit'];

let h: CaseHarness;
let t: ApiTest;
beforeAll(async () => {
  h = await startCaseHarness();
  t = await build({ harness: h });
});
afterAll(async () => {
  await t?.close();
  await h?.close();
});

async function openCase(officerId: string): Promise<string> {
  const res = await t.as(CORE, { method: 'POST', url: '/v1/cases', payload: { ...newLoan({ officerId }) } });
  expect(res.statusCode, res.body).toBeLessThan(202);
  return res.json().case.caseId;
}

async function note(officer: Who, caseId: string, summary: string): Promise<void> {
  const res = await t.as(officer, { method: 'POST', url: `/v1/cases/${caseId}/notes`, payload: { summary }, headers: { 'idempotency-key': `note-${randomUUID()}` } });
  expect(res.statusCode, res.body).toBe(200);
}

const verify = async (who: Who, caseId: string) => t.as(who, { url: `/v1/cases/${caseId}/audit/verify` });

/** The chain recomputed in TypeScript from the rows' text: the canonical form the trigger uses. */
function field(value: string | null): string {
  return value === null ? '~' : `${[...value].length}:${value}`;
}
interface ChainRow {
  event_id: string;
  case_id: string;
  run_id: string;
  episode: number;
  seq: number;
  type: string;
  actor_sub: string;
  actor_role: string;
  request_id: string | null;
  occurred: string;
  payload: string;
  prev_hash: string | null;
  hash: string | null;
}
function hashOf(prev: string | null, r: ChainRow): string {
  const content = [r.event_id, r.case_id, r.run_id, String(r.episode), String(r.seq), r.type, r.actor_sub, r.actor_role, r.request_id, r.occurred, r.payload]
    .map(field)
    .join('');
  return createHash('sha256')
    .update((prev ?? '') + content, 'utf8')
    .digest('hex');
}
async function chainRows(caseId: string): Promise<ChainRow[]> {
  const result = await h.db.execute(sql`
    select event_id, case_id, run_id, episode, seq, type, actor_sub, actor_role, request_id,
           to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred,
           payload::text as payload, prev_hash, hash
    from case_events where case_id = ${caseId} order by recorded_at, episode, seq`);
  return result.rows as unknown as ChainRow[];
}

/** Edits one row's payload as the superuser, with the append-only trigger set aside in one transaction. */
async function tamper(eventId: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    await client.query('begin');
    try {
      await client.query('alter table case_events disable trigger case_events_append_only');
      await client.query(`update case_events set payload = payload || '{"summary": "nothing happened"}'::jsonb where event_id = $1`, [eventId]);
      await client.query('alter table case_events enable trigger case_events_append_only');
      await client.query('commit');
    } catch (err) {
      await client.query('rollback');
      throw err;
    }
  } finally {
    try {
      // Whatever happened, the trail refuses changes again (DDL is transactional: a rollback
      // restores it; this makes sure).
      const { rows } = await client.query(`select tgenabled from pg_trigger where tgname = 'case_events_append_only'`);
      if (rows[0]?.tgenabled !== 'O') await client.query('alter table case_events enable trigger case_events_append_only');
    } finally {
      await client.end();
    }
  }
}

describe('the hash chain of a case', () => {
  it('is valid as written, agrees with the canonical form in TypeScript, and names the first row edited behind its back', async () => {
    const officerSub = `officer-audit-${randomUUID().slice(0, 8)}`;
    const officer: Who = ['officer', officerSub, 'BR01'];
    const caseId = await openCase(officerSub);
    for (const summary of ['called the borrower', 'visited the shop', 'borrower promised to call back']) await note(officer, caseId, summary);
    const rows = await eventually(async () => {
      const r = await chainRows(caseId);
      return r.filter((e) => e.type === 'note_added').length === 3 ? r : undefined;
    });

    // The trigger's chain, recomputed in TypeScript with node:crypto.
    let prev: string | null = null;
    for (const row of rows) {
      expect(row.prev_hash).toBe(prev);
      expect(row.hash).toBe(hashOf(prev, row));
      prev = row.hash;
    }

    const ok = await verify(SUPERVISOR_BR01, caseId);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ caseId, events: rows.length, valid: true, firstBrokenLink: null });
    // Another branch's case is, to its supervisor, a missing one.
    expect(expectProblem(await verify(SUPERVISOR_BR02, caseId), 404).detail).toBe(`No case ${caseId}`);
    expectProblem(await verify(officer, caseId), 403);
    expectProblem(await verify(ADMIN, 'case-NOSUCHLOAN'), 404);

    // A writer cannot supply its own hash: the trigger overwrites it.
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.hash ?? ''))).toBe(true);

    const victim = rows.filter((e) => e.type === 'note_added')[1]!;
    await tamper(victim.event_id);
    const [edited] = (await chainRows(caseId)).filter((e) => e.event_id === victim.event_id);
    const broken = await verify(ADMIN, caseId);
    expect(broken.statusCode, broken.body).toBe(200);
    expect(broken.json()).toEqual({
      caseId,
      events: rows.length,
      valid: false,
      firstBrokenLink: { episode: victim.episode, seq: victim.seq, eventId: victim.event_id, expected: hashOf(victim.prev_hash, edited!), found: victim.hash },
    });
    // The trail still refuses changes.
    await expect(h.db.update(caseEvents).set({ type: 'note_added' }).where(eq(caseEvents.eventId, victim.event_id))).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/append-only/) },
    });
  });

  it('stays whole when the projection retries a batch, whole or overlapping the next', async () => {
    const { projectCase } = createActivities({ db: h.db, logger: createLogger('silent') });
    const loan = newLoan();
    const caseId = `case-${loan.loanId}`;
    const now = new Date().toISOString();
    const event = (seq: number) => ({
      eventId: randomUUID(),
      seq,
      type: 'note_added' as const,
      actor: OFFICER,
      requestId: randomUUID(),
      occurredAt: now,
      payload: { summary: `note ${seq}`, borrower: { idNumber: loan.borrower.idNumber } },
    });
    const [e1, e2, e3, e4] = [event(1), event(2), event(3), event(4)];
    const batch: ProjectionBatch = {
      caseId,
      episodeRunId: randomUUID(),
      runId: randomUUID(),
      version: 1,
      view: openingView(loan, now),
      lastEvent: { type: 'note_added', at: now },
      collateral: loan.collateral,
      parties: { borrower: loan.borrower, guarantors: loan.guarantors },
      events: [e1!, e2!],
      payments: [],
      notifications: [],
      tasks: [],
    };
    await projectCase(batch);
    await projectCase(batch); // retried whole: every row conflicts
    await projectCase({ ...batch, version: 2, events: [e2!, e3!] }); // overlapping: the first row conflicts
    await projectCase({ ...batch, version: 2, events: [e2!, e3!] });
    await projectCase({ ...batch, version: 3, events: [e4!] });

    const rows = await chainRows(caseId);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    const res = await verify(ADMIN, caseId);
    expect(res.json()).toEqual({ caseId, events: 4, valid: true, firstBrokenLink: null });

    // A new episode, then a late write of the first one: the late row joins the chain where it
    // arrived, and the chain stays whole.
    const later = new Date(Date.parse(now) + 60_000).toISOString();
    await projectCase({ ...batch, episode: 2, episodeRunId: randomUUID(), runId: randomUUID(), view: { ...batch.view, openedAt: later }, events: [{ ...event(1), eventId: randomUUID() }] });
    await projectCase({ ...batch, version: 9, events: [event(5)] });
    expect((await chainRows(caseId)).map((r) => [r.episode, r.seq])).toEqual([[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [1, 5]]);
    expect((await verify(ADMIN, caseId)).json()).toEqual({ caseId, events: 6, valid: true, firstBrokenLink: null });
  });
});

describe('GET /v1/audit', () => {
  it('lists the trail across cases by actor, type, time and branch, masked and in pages', async () => {
    const officerSub = `officer-trail-${randomUUID().slice(0, 8)}`;
    const officer: Who = ['officer', officerSub, 'BR01'];
    const first = await openCase(officerSub);
    const second = await openCase(officerSub);
    await note(officer, first, 'one');
    await note(officer, second, 'two');
    await note(officer, first, 'three');
    const byOfficer = `/v1/audit?actorSub=${officerSub}`;
    const all = await eventually(async () => {
      const res = await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&limit=200` });
      expect(res.statusCode, res.body).toBe(200);
      const items = res.json().items as { caseId: string; type: string; occurredAt: string; eventId: string; actor: { sub: string }; branch: string }[];
      return items.length === 3 ? items : undefined;
    });
    expect(all.map((e) => e.type)).toEqual(['note_added', 'note_added', 'note_added']);
    expect(all.map((e) => e.caseId)).toEqual([first, second, first]);
    expect(all.every((e) => e.actor.sub === officerSub && e.branch === 'BR01')).toBe(true);
    const keys = all.map((e) => `${e.occurredAt}|${e.eventId}`);
    expect([...keys].sort()).toEqual(keys);

    // Paging by (occurred_at, event_id).
    const p1 = (await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&limit=2` })).json();
    expect(p1.items.map((e: { eventId: string }) => e.eventId)).toEqual(all.slice(0, 2).map((e) => e.eventId));
    expect(p1.nextCursor).toEqual(expect.any(String));
    const p2 = (await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&limit=2&cursor=${p1.nextCursor}` })).json();
    expect(p2).toEqual({ items: [expect.objectContaining({ eventId: all[2]!.eventId })], nextCursor: null });
    expectProblem(await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&cursor=bm90LWEtY3Vyc29y` }), 400, ['cursor']);

    // Type and time.
    const opened = (await t.as(ADMIN, { url: `/v1/audit?type=case_opened&branch=BR01&from=${encodeURIComponent(new Date(Date.now() - 600_000).toISOString())}&limit=200` })).json();
    expect(opened.items.every((e: { type: string }) => e.type === 'case_opened')).toBe(true);
    let openedIds: string[] = opened.items.map((e: { caseId: string }) => e.caseId);
    let cursor = opened.nextCursor as string | null;
    while (cursor) {
      const next = (await t.as(ADMIN, { url: `/v1/audit?type=case_opened&branch=BR01&limit=200&cursor=${cursor}&from=${encodeURIComponent(new Date(Date.now() - 600_000).toISOString())}` })).json();
      openedIds = openedIds.concat(next.items.map((e: { caseId: string }) => e.caseId));
      cursor = next.nextCursor;
    }
    expect(openedIds).toEqual(expect.arrayContaining([first, second]));
    const from = encodeURIComponent(all[1]!.occurredAt);
    const later = (await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&from=${from}` })).json().items as { eventId: string }[];
    expect(later.map((e) => e.eventId)).toEqual(all.slice(1).map((e) => e.eventId));
    const to = encodeURIComponent(all[1]!.occurredAt);
    const earlier = (await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&to=${to}` })).json().items as { eventId: string }[];
    expect(earlier.map((e) => e.eventId)).toEqual([all[0]!.eventId]);
    const none = (await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&to=${encodeURIComponent('2000-01-01T00:00:00Z')}` })).json();
    expect(none.items).toEqual([]);
    expectProblem(await t.as(SUPERVISOR_BR01, { url: `${byOfficer}&from=yesterday` }), 400, ['from']);

    // Personal data masked as /events masks it.
    const intake = (await t.as(SUPERVISOR_BR01, { url: `/v1/audit?actorSub=core-banking&type=case_opened&from=${encodeURIComponent(new Date(Date.now() - 600_000).toISOString())}&limit=200` })).json();
    expect(JSON.stringify(intake.items)).not.toMatch(/1101011990\d{7}|\+86138/);

    // Branch scope: a supervisor of another branch sees none of it, and may not ask for BR01.
    const elsewhere = await t.as(SUPERVISOR_BR02, { url: byOfficer });
    expect(elsewhere.statusCode).toBe(200);
    expect(elsewhere.json().items).toEqual([]);
    expectProblem(await t.as(SUPERVISOR_BR02, { url: `${byOfficer}&branch=BR01` }), 403);
    expect((await t.as(ADMIN, { url: `${byOfficer}&branch=BR02` })).json().items).toEqual([]);
    expect((await t.as(ADMIN, { url: byOfficer })).json().items).toHaveLength(3);
    expectProblem(await t.as(officer, { url: byOfficer }), 403);
  });
});
