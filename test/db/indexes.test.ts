/**
 * Every list filter of GET /v1/cases has an index whose columns are the filter's and then the
 * cursor's order (case_id), so a page is a range scan that stops after `limit + 1` rows.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';

let client: pg.Client;
let indexes: Map<string, string[]>;
beforeAll(async () => {
  client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  const { rows } = await client.query<{ name: string; columns: string[] }>(`
    select i.relname as name, array_agg(a.attname::text order by k.ord) as columns
      from pg_index x
      join pg_class i on i.oid = x.indexrelid
      join pg_class t on t.oid = x.indrelid
      cross join lateral unnest(x.indkey) with ordinality as k(attnum, ord)
      join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
     where t.relname = 'cases' and x.indpred is null
     group by i.relname`);
  indexes = new Map(rows.map((r) => [r.name, r.columns]));
});
afterAll(async () => {
  await client?.end();
});

/** The plan of a page query, sequential scans ruled out so that an empty table still shows an index. */
async function plan(where: string, values: unknown[]): Promise<string> {
  await client.query('begin');
  try {
    await client.query('set local enable_seqscan = off');
    await client.query('set local enable_bitmapscan = off');
    const { rows } = await client.query(
      `explain select * from cases where ${where} and case_id > $${values.length + 1} order by case_id limit 51`,
      [...values, 'case-A'],
    );
    return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.query('rollback');
  }
}

describe('list filter indexes', () => {
  it.each([
    [['branch'], 'branch = $1', ['BR01']],
    [['branch', 'stage'], 'branch = $1 and stage = $2', ['BR01', 'collecting']],
    [['branch', 'hand'], 'branch = $1 and hand = $2', ['BR01', 3]],
    [['stage'], 'stage = $1', ['paused']],
    [['hand'], 'hand = $1', [6]],
    [['officer_id'], 'officer_id = $1', ['officer-li']],
  ])('%j, then case_id', async (columns, where, values) => {
    const wanted = [...columns, 'case_id'];
    const found = [...indexes].filter(([, cols]) => JSON.stringify(cols) === JSON.stringify(wanted));
    expect(found, `an index on (${wanted.join(', ')})`).toHaveLength(1);
    const text = await plan(where, values);
    expect(text).toMatch(/Index Scan/);
    expect(text).not.toMatch(/\bSort\b/);
  });
});
