import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { CASE_SEARCH_ATTRIBUTES, caseStageKey, collectionHandKey } from '../domain';

const { IndexedValueType } = temporal.api.enums.v1;

describe('the services of a test run', () => {
  it('Temporal serves the default namespace with the case search attributes', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(customAttributes)).toEqual(expect.arrayContaining(CASE_SEARCH_ATTRIBUTES.map((key) => key.name)));
      expect(customAttributes[caseStageKey.name]).toBe(IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
      expect(customAttributes[collectionHandKey.name]).toBe(IndexedValueType.INDEXED_VALUE_TYPE_INT);
    } finally {
      await connection.close();
    }
  });

  it('PostgreSQL holds the run\'s own database, migrated and seeded', async () => {
    const client = new pg.Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    try {
      const { rows: [one] } = await client.query<{ one: number }>('select 1 as one');
      expect(one?.one).toBe(1);
      const { rows: [table] } = await client.query<{ cases: string | null }>(`select to_regclass('public.cases')::text as cases`);
      expect(table?.cases).toBe('cases');
      const { rows: [database] } = await client.query<{ name: string }>('select current_database() as name');
      expect(database?.name).toMatch(/^collection_cases_test_[0-9a-f]{8}$/);
      // Other files may add policy versions meanwhile; the seeded first versions are there.
      const { rows: policies } = await client.query<{ name: string }>('select name from collection_policies where version = 1');
      expect(policies.map((p) => p.name)).toEqual(expect.arrayContaining(['demo', 'standard']));
    } finally {
      await client.end();
    }
  });
});
