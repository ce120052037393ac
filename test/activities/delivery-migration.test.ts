import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const MIGRATIONS = new URL('../../db/migrations/', import.meta.url);
const statements = async (file: string) =>
  (await readFile(new URL(file, MIGRATIONS), 'utf8'))
    .split('--> statement-breakpoint')
    .map((s) => s.trim())
    .filter(Boolean);

/** A database of its own, at the schema before the per-recipient outbox. */
let admin: pg.Client;
let client: pg.Client;
const name = `outbox_migration_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  await admin.query(`create database ${pg.escapeIdentifier(name)}`);
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  for (const file of ['0000_init.sql', '0001_case_events_append_only.sql']) {
    for (const statement of await statements(file)) await client.query(statement);
  }
});
afterAll(async () => {
  await client?.end();
  await admin?.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  await admin?.end();
});

async function legacyCase(caseId: string, guarantors: number): Promise<void> {
  await client.query(
    `insert into cases (case_id, loan_id, run_id, stage, hand, days_past_due, paused_days, overdue_since, currency, principal,
       outstanding, overdue, recovered, branch, product, secured, policy_name, policy_version, collateral, opened_at, version)
     values ($1, $1, 'run', 'collecting', 5, 95, 0, '2026-01-01', 'CNY', 1, 1, 1, 0, 'BR01', 'loan', false, 'standard', 1, '[]', now(), 3)`,
    [caseId],
  );
  await client.query(`insert into case_parties values ($1, 'borrower', 0, 'Zhang Wei', '110101199003071234', '+8613800138000')`, [caseId]);
  for (let position = 0; position < guarantors; position++) {
    await client.query(`insert into case_parties values ($1, 'guarantor', $2, 'G', '110101198805051111', '+8613900139000')`, [caseId, position]);
  }
}

describe('migration 0002: one outbox row per recipient', () => {
  it('turns the rows of the one-per-notification outbox into rows per party, keeping what was sent and tried', async () => {
    await legacyCase('case-A', 2);
    await legacyCase('case-B', 0);
    const legacy = `insert into notification_outbox (id, case_id, channel, template, recipient, payload, status, attempts, last_error, sent_at)
                    values ($1, $2, 'letter', 'lawyers_letter', $3, '{}', $4, $5, $6, $7)`;
    await client.query(legacy, ['n1', 'case-A', 'borrower', 'sent', 1, null, new Date()]);
    await client.query(legacy, ['n2', 'case-A', 'guarantors', 'pending', 2, 'print service unavailable', null]);
    await client.query(legacy, ['n3', 'case-B', 'guarantors', 'pending', 0, null, null]);
    await client.query(legacy, ['n4', 'case-B', 'borrower', 'pending', 0, null, null]);

    for (const statement of await statements('0002_notification_outbox_per_recipient.sql')) await client.query(statement);

    const { rows } = await client.query(
      `select id, notification_id, recipient, party_role, party_position, status, attempts, last_error, claimed_by
         from notification_outbox order by id`,
    );
    expect(rows.map((r) => Object.values(r))).toEqual([
      ['n1:borrower', 'n1', 'borrower', 'borrower', 0, 'sent', 1, null, null],
      ['n2:guarantor:1', 'n2', 'guarantors', 'guarantor', 0, 'pending', 2, 'print service unavailable', null],
      ['n2:guarantor:2', 'n2', 'guarantors', 'guarantor', 1, 'pending', 2, 'print service unavailable', null],
      // n3: a letter to the guarantors of a case without any reached nobody, and goes.
      ['n4:borrower', 'n4', 'borrower', 'borrower', 0, 'pending', 0, null, null],
    ]);
    const notNull = await client.query(
      `select column_name from information_schema.columns
        where table_name = 'notification_outbox' and column_name in ('notification_id', 'party_role', 'party_position') and is_nullable = 'NO'`,
    );
    expect(notNull.rowCount).toBe(3);
  });
});
