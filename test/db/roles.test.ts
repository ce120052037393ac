/**
 * The runtime's database role (migration 0005_application_role): the worker and the API connect
 * as a login role in `collection_app`, which may write the ledger, only append to the business
 * trail, only read policies, and change no schema. A login role of the test's own (random name,
 * dropped afterwards) stands for the operator's `collection_app_login`; the run's database was
 * migrated by the server's admin, as the owner. Then a real case runs end to end with the
 * workers and the API connected as that role: the runtime needs nothing more.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ChannelAdapter, OutgoingNotification } from '../../activities';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { MIGRATIONS_FOLDER } from '../../db/migrate';
import { msToDate } from '../../domain';
import { build, type ApiTest } from '../api/helper';
import { eventually, newLoan, testPolicy } from '../support/fixtures';
import { startCaseHarness, type CaseHarness } from '../support/harness';

const APP_ROLE = 'collection_app';
const ownerUrl = inject('databaseUrl');
const loginRole = `cc_app_test_${randomBytes(4).toString('hex')}`;
// A password too: the embedded cluster (no DATABASE_URL) authenticates with scram-sha-256.
const loginPassword = randomBytes(16).toString('hex');
const appUrl = withUser(ownerUrl, loginRole, loginPassword);

function withUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Runs `fn` in a transaction that is always rolled back: the shared database keeps nothing. */
async function rolledBack<T>(client: pg.Client, fn: () => Promise<T>): Promise<T> {
  await client.query('begin');
  try {
    return await fn();
  } finally {
    await client.query('rollback');
  }
}

/** The SQLSTATE a statement fails with (inside a savepoint, so a transaction goes on). */
async function sqlState(client: pg.Client, statement: string, values?: unknown[]): Promise<string | undefined> {
  await client.query('savepoint probe');
  try {
    await client.query(statement, values);
    await client.query('release savepoint probe');
    return undefined;
  } catch (err) {
    await client.query('rollback to savepoint probe');
    return (err as { code?: string }).code;
  }
}

const PERMISSION_DENIED = '42501';
/** Trails the runtime only appends to and reads. */
const APPEND_ONLY = new Set(['case_events', 'case_reads', 'watch_events', 'intake_row_results']);

let owner: pg.Client;
let app: pg.Client;
beforeAll(async () => {
  owner = await connect(ownerUrl);
  await owner.query(
    `create role ${pg.escapeIdentifier(loginRole)} login password ${pg.escapeLiteral(loginPassword)} in role ${APP_ROLE}`,
  );
  app = await connect(appUrl);
});
afterAll(async () => {
  await app?.end();
  // The login role owns nothing and was granted nothing but its membership.
  await owner?.query(`drop role if exists ${pg.escapeIdentifier(loginRole)}`);
  await owner?.end();
});

/** A case row (and its parties) written as the app role, inside the caller's transaction. */
async function insertCase(client: pg.Client): Promise<string> {
  const caseId = `case-ROLES${randomBytes(4).toString('hex')}`;
  await client.query(
    `insert into cases (case_id, loan_id, run_id, stage, hand, overdue_since, clock_origin, day_ms, currency,
                        principal, outstanding, overdue, arrears, recovered, branch, product, secured, policy_name,
                        policy_version, collateral, opened_at, version)
     values ($1, $1, 'run-1', 'collecting', 1, current_date, now(), 86400000, 'CNY',
             100, 100, 10, '{"principal": 10}', 0, 'ROLES', 'small_business', false, 'standard', 1, '[]', now(), 1)`,
    [caseId],
  );
  return caseId;
}

async function insertEvent(client: pg.Client, caseId: string, seq: number): Promise<void> {
  await client.query(
    `insert into case_events (event_id, case_id, run_id, episode, seq, type, actor_sub, actor_role, occurred_at, payload)
     values ($1, $2, 'run-1', 1, $3, 'note_added', 'officer-li', 'officer', now(), '{}')`,
    [randomUUID(), caseId, seq],
  );
}

describe('the application role', () => {
  it('is a NOLOGIN group role; the login role is a member of it and nothing more', async () => {
    const { rows: [group] } = await owner.query(
      'select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls from pg_roles where rolname = $1',
      [APP_ROLE],
    );
    expect(group).toEqual({ rolcanlogin: false, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false });
    const { rows: [me] } = await app.query(
      `select current_user as name, pg_has_role(current_user, $1, 'member') as member,
              (select rolsuper from pg_roles where rolname = current_user) as superuser`,
      [APP_ROLE],
    );
    expect(me).toEqual({ name: loginRole, member: true, superuser: false });
  });

  it('holds exactly the runtime privileges on every table', async () => {
    const { rows } = await owner.query<{ table: string; privileges: string[] }>(
      `select c.relname as table,
              array(select p from unnest(array['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
                     where has_table_privilege($1, c.oid, p)) as privileges
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p')
        order by 1`,
      [APP_ROLE],
    );
    const granted = Object.fromEntries(rows.map((r) => [r.table, r.privileges]));
    expect(Object.keys(granted)).toEqual(
      expect.arrayContaining([
        'cases', 'case_parties', 'case_events', 'payments', 'notification_outbox', 'officer_tasks',
        'collection_policies', 'projection_incidents', 'message_refusals',
      ]),
    );
    for (const [table, privileges] of Object.entries(granted)) {
      const expected =
        APPEND_ONLY.has(table) ? ['SELECT', 'INSERT'] : table === 'collection_policies' ? ['SELECT', 'INSERT'] : ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];
      expect({ table, privileges }).toEqual({ table, privileges: expected });
    }
  });

  it('appends to case_events and reads it back', async () => {
    await rolledBack(app, async () => {
      const caseId = await insertCase(app);
      await insertEvent(app, caseId, 1);
      await insertEvent(app, caseId, 2);
      // The projection's own form: a retried batch adds nothing a second time.
      const { rows: [first] } = await app.query('select event_id from case_events where case_id = $1 and seq = 1', [caseId]);
      const again = await app.query(
        `insert into case_events (event_id, case_id, run_id, episode, seq, type, actor_sub, actor_role, occurred_at, payload)
         values ($1, $2, 'run-1', 1, 1, 'note_added', 'officer-li', 'officer', now(), '{}') on conflict do nothing`,
        [first.event_id, caseId],
      );
      expect(again.rowCount).toBe(0);
      const { rows } = await app.query('select seq from case_events where case_id = $1 order by seq', [caseId]);
      expect(rows.map((r) => r.seq)).toEqual([1, 2]);
    });
  });

  it('may not update, delete or truncate case_events: permission denied before the trigger is reached', async () => {
    await rolledBack(app, async () => {
      const caseId = await insertCase(app);
      await insertEvent(app, caseId, 1);
      expect(await sqlState(app, `update case_events set type = 'tampered' where case_id = $1`, [caseId])).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'delete from case_events where case_id = $1', [caseId])).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'truncate case_events')).toBe(PERMISSION_DENIED);
      const { rows } = await app.query('select type from case_events where case_id = $1', [caseId]);
      expect(rows).toEqual([{ type: 'note_added' }]);
    });
  });

  it('writes the ledger tables: insert, update, delete', async () => {
    await rolledBack(app, async () => {
      const caseId = await insertCase(app);
      await app.query(`update cases set hand = 2, version = 2 where case_id = $1`, [caseId]);
      await app.query(
        `insert into case_parties (case_id, role, position, name, id_number, phone) values ($1, 'borrower', 0, 'Zhang Wei', 'x', 'y')`,
        [caseId],
      );
      await app.query(`update case_parties set phone = 'z' where case_id = $1`, [caseId]);
      await app.query(`delete from case_parties where case_id = $1`, [caseId]);
      await app.query(
        `insert into payments (case_id, episode, reference, amount, currency, paid_at, received_at, event_id, recorded_by)
         values ($1, 1, 'REF-1', 10, 'CNY', now(), now(), 'e1', 'officer-li')`,
        [caseId],
      );
      await app.query(
        `insert into notification_outbox (id, notification_id, case_id, channel, template, recipient, party_role, party_position, payload)
         values ($1 || ':n1:borrower', $1 || ':n1', $1, 'sms', 'payment_reminder', 'borrower', 'borrower', 0, '{}')`,
        [caseId],
      );
      // Delivery's claim: a row lock and a lease.
      await app.query(
        `select id from notification_outbox where case_id = $1 and status = 'pending' for update skip locked`,
        [caseId],
      );
      await app.query(
        `update notification_outbox set status = 'sent', claimed_by = 'w', claimed_until = now(), attempts = attempts + 1 where case_id = $1`,
        [caseId],
      );
      await app.query(
        `insert into officer_tasks (id, case_id, type, hand, officer_id, due_at) values ($1 || ':t1', $1, 'call', 1, 'officer-li', now())`,
        [caseId],
      );
      await app.query(`update officer_tasks set status = 'cancelled' where case_id = $1`, [caseId]);
      await app.query(
        `insert into projection_incidents (case_id, run_id, version, branch, error, event_types, batch)
         values ($1, 'run-1', 2, 'ROLES', 'refused', '[]', '{}')`,
        [caseId],
      );
      await app.query(`update projection_incidents set resolved_at = now() where case_id = $1`, [caseId]);
      await app.query(
        `insert into message_refusals (case_id, request_id, message, reason, detail, actor_sub, actor_role)
         values ($1, 'r1', 'promiseToPay', 'promise_date_not_ahead', '{}', 'officer-li', 'officer')`,
        [caseId],
      );
      const { rows } = await app.query(
        `select (select count(*) from payments where case_id = $1)::int as payments,
                (select status from notification_outbox where case_id = $1) as outbox,
                (select status from officer_tasks where case_id = $1) as task,
                (select count(*) from message_refusals where case_id = $1)::int as refusals`,
        [caseId],
      );
      expect(rows[0]).toEqual({ payments: 1, outbox: 'sent', task: 'cancelled', refusals: 1 });
    });
  });

  it('adds collection policy versions (admins, through the API) but changes none', async () => {
    const { rows } = await app.query(`select name from collection_policies where name in ('standard', 'demo') and version = 1 order by name`);
    expect(rows.map((r) => r.name)).toEqual(['demo', 'standard']);
    await rolledBack(app, async () => {
      expect(
        await sqlState(
          app,
          `insert into collection_policies (name, version, description, day_ms, max_promise_days, hands) values ('rogue', 1, '', 1, 1, '[]')`,
        ),
      ).toBeUndefined();
      expect(await sqlState(app, `update collection_policies set day_ms = 1 where name = 'standard'`)).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, `delete from collection_policies where name = 'rogue'`)).toBe(PERMISSION_DENIED);
    });
  });

  it('changes no schema: no CREATE, DROP, ALTER or TRUNCATE, and no look at the migrations table', async () => {
    await rolledBack(app, async () => {
      expect(await sqlState(app, 'create table rogue (id int)')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'create table public.rogue (id int)')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'drop table case_events')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'drop table cases cascade')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'alter table case_events disable trigger case_events_append_only')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'alter table cases add column rogue text')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'drop trigger case_events_append_only on case_events')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'truncate cases cascade')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'select * from drizzle.__drizzle_migrations')).toBe(PERMISSION_DENIED);
      expect(await sqlState(app, 'create schema rogue')).toBe(PERMISSION_DENIED);
    });
  });

  it('gets the ledger grants on tables a later migration adds (default privileges of the migrating role)', async () => {
    const table = `roles_probe_${randomBytes(4).toString('hex')}`;
    await owner.query(`create table ${table} (id int primary key generated by default as identity, note text)`);
    try {
      const { rows: [privileges] } = await owner.query(
        `select has_table_privilege($1, $2, 'SELECT, INSERT, UPDATE, DELETE') as dml,
                has_table_privilege($1, $2, 'TRUNCATE') as truncate`,
        [APP_ROLE, table],
      );
      expect(privileges).toEqual({ dml: true, truncate: false });
      await app.query(`insert into ${table} (note) values ('x')`);
      await app.query(`update ${table} set note = 'y'`);
      await app.query(`delete from ${table}`);
    } finally {
      await owner.query(`drop table ${table}`);
    }
  });

  it('is created by a migration that runs again, and at the same time on another database, without failing', async () => {
    const sql = await readFile(path.join(MIGRATIONS_FOLDER, '0005_application_role.sql'), 'utf8');
    const statements = sql.split('--> statement-breakpoint').map((s) => s.trim()).filter(Boolean);
    // Again on this database (the role exists, the grants are there): nothing fails.
    await rolledBack(owner, async () => {
      for (const statement of statements) await owner.query(statement);
    });
    // Two migrations creating the role at once (roles are cluster-wide): the second waits for the
    // first to commit, then finds the name taken. Tried on a role of this test's own name.
    const scratchRole = `cc_role_race_${randomBytes(4).toString('hex')}`;
    const createRole = statements[0]!.replaceAll(APP_ROLE, scratchRole);
    expect(createRole).toContain(`CREATE ROLE ${scratchRole} NOLOGIN`);
    const first = await connect(ownerUrl);
    const second = await connect(ownerUrl);
    try {
      await first.query('begin');
      await first.query(createRole);
      await second.query('begin');
      const racing = second.query(createRole);
      // The second is blocked on the first's uncommitted role.
      await eventually(async () => {
        const { rows } = await owner.query(
          `select count(*)::int as n from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'`,
          [(second as unknown as { processID: number }).processID],
        );
        return rows[0].n === 1 ? true : undefined;
      }, 5_000, 50);
      await first.query('commit');
      await racing;
      await second.query('commit');
      const { rows } = await owner.query('select count(*)::int as n from pg_roles where rolname = $1', [scratchRole]);
      expect(rows[0].n).toBe(1);
    } finally {
      await first.end();
      await second.end();
      await owner.query(`drop role if exists ${pg.escapeIdentifier(scratchRole)}`);
    }
  });
});

describe('the runtime as the application role', () => {
  const sent: OutgoingNotification[] = [];
  const adapter: ChannelAdapter = {
    async send(n) {
      sent.push(n);
    },
  };
  let ownerDb: DatabaseHandle;
  let h: CaseHarness;
  let t: ApiTest;
  beforeAll(async () => {
    ownerDb = createDatabase(ownerUrl, 1);
    h = await startCaseHarness({ databaseUrl: appUrl, channels: { sms: adapter, letter: adapter } });
    t = await build({ harness: h });
  });
  afterAll(async () => {
    await t?.close();
    await h?.close();
    await ownerDb?.close();
  });

  /** What a stuck case's pending activities last failed with (a permission denied, say). */
  async function whyStuck(caseId: string): Promise<string> {
    const description = await h.client.workflow.getHandle(caseId).describe().catch(() => undefined);
    const failures = (description?.raw.pendingActivities ?? []).map(
      (a) => `${a.activityType?.name}: ${a.lastFailure?.message ?? 'no failure yet'}`,
    );
    return failures.length ? failures.join('; ') : 'no pending activity';
  }

  async function until<T>(caseId: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    try {
      return await eventually(check, timeoutMs, 200);
    } catch (err) {
      throw new Error(`${(err as Error).message} (${await whyStuck(caseId)})`);
    }
  }

  it('runs a case from intake to recovery: ledger, trail, payments, notifications, tasks and refusals', async () => {
    expect(h.database.pool.options.connectionString).toBe(appUrl);
    // Policies are written by the owner (migrations, seeding, an administrator), never the runtime.
    const policy = await testPolicy(ownerDb.db, { dayMs: 400, entersAtDays: [0, 1, 2, 3, 4, 5] });
    const SYSTEM: ['system', string] = ['system', 'core-banking'];
    // A branch of its own: the list below sees only this file's case in the shared database.
    const branch = `ROLES-${randomBytes(4).toString('hex')}`;
    const SUPERVISOR: ['supervisor', string, string] = ['supervisor', 'supervisor-wang', branch];
    const OFFICER: ['officer', string, string] = ['officer', 'officer-li', branch];
    const loan = newLoan({ branch });

    const opened = await t.as(SYSTEM, { method: 'POST', url: '/v1/cases', payload: { ...loan, policy: policy.name } });
    expect(opened.statusCode, opened.body).toBe(201);
    const caseId: string = opened.json().case.caseId;
    const send = (who: typeof OFFICER | typeof SUPERVISOR, message: string, payload: object) =>
      t.as(who, { method: 'POST', url: `/v1/cases/${caseId}/${message}`, payload });

    const contact = await send(OFFICER, 'contacts', { channel: 'phone', outcome: 'no_answer' });
    expect(contact.statusCode, contact.body).toBe(200);
    const note = await send(OFFICER, 'notes', { summary: 'Borrower travelling; try the shop.' });
    expect(note.statusCode, note.body).toBe(200);
    // Refused at once and kept by the API in message_refusals.
    const past = await send(OFFICER, 'promises', { amount: 500_000, dueDate: msToDate(Date.now() - 5 * 86_400_000) });
    expect(past.statusCode, past.body).toBe(422);
    const paused = await send(SUPERVISOR, 'pause', { reason: 'dispute' });
    expect(paused.statusCode, paused.body).toBe(200);
    const resumed = await send(SUPERVISOR, 'resume', {});
    expect(resumed.statusCode, resumed.body).toBe(200);
    const assigned = await send(SUPERVISOR, 'assignment', { officerId: 'officer-chen' });
    expect(assigned.statusCode, assigned.body).toBe(200);

    // The ladder climbs by itself: the projection writes the ledger at every hand.
    await until(caseId, async () => {
      const res = await t.as(SUPERVISOR, { url: `/v1/cases/${caseId}` });
      return res.statusCode === 200 && res.json().hand === 6 ? true : undefined;
    });
    const paid = await send(SUPERVISOR, 'payments', { amount: loan.overdue, paidAt: new Date().toISOString(), reference: 'ROLES-1' });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ stage: 'recovered', recovered: loan.overdue });

    // Every letter and SMS delivered (claimed and marked sent by the delivery worker).
    let last: unknown;
    const outbox = await until(caseId, async () => {
      const { rows } = await h.database.pool.query<{ id: string; status: string; last_error: string | null }>(
        'select id, status, last_error from notification_outbox where case_id = $1 order by id',
        [caseId],
      );
      last = rows;
      return rows.length > 0 && rows.every((r) => r.status === 'sent') ? rows : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; the outbox: ${JSON.stringify(last)}`);
    });
    expect(new Set(sent.filter((n) => n.caseId === caseId).map((n) => n.idempotencyKey))).toEqual(new Set(outbox.map((r) => r.id)));

    // Tasks were reassigned, then cancelled when the case closed.
    const { rows: tasks } = await h.database.pool.query<{ status: string; officer_id: string }>(
      'select status, officer_id from officer_tasks where case_id = $1',
      [caseId],
    );
    expect(tasks.length).toBeGreaterThan(0);
    expect(tasks.filter((r) => r.status === 'open')).toEqual([]);
    expect(tasks.filter((r) => r.officer_id !== 'officer-chen')).toEqual([]);

    const events = await t.as(SUPERVISOR, { url: `/v1/cases/${caseId}/events?limit=200` });
    expect(events.statusCode, events.body).toBe(200);
    const types = events.json().items.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['case_opened', 'contact_recorded', 'note_added', 'payment_recorded', 'case_recovered']));
    const refusals = await t.as(SUPERVISOR, { url: `/v1/cases/${caseId}/refusals` });
    expect(refusals.json().items.map((r: { reason: string }) => r.reason)).toEqual(['promise_date_not_ahead']);
    const list = await t.as(SUPERVISOR, { url: `/v1/cases?stage=recovered&branch=${branch}` });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().items.map((c: { caseId: string }) => c.caseId)).toEqual([caseId]);
    expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);

    // Nothing the runtime wrote was refused and set aside.
    const { rows: incidents } = await ownerDb.pool.query('select 1 from projection_incidents where case_id = $1', [caseId]);
    expect(incidents).toEqual([]);
    const { rows: payments } = await ownerDb.pool.query('select reference, amount from payments where case_id = $1', [caseId]);
    expect(payments).toEqual([{ reference: 'ROLES-1', amount: String(loan.overdue) }]);
  });
});
