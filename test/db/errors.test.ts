/**
 * db/errors.ts on real PostgreSQL errors as drizzle wraps them, and on the shapes pg, pg-pool
 * and Node give connection failures.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import {
  classifyDatabaseError,
  describeDatabaseError,
  isConnectionError,
  isDataError,
  isInvalidInputError,
  isUnavailableError,
  sqlState,
} from '../../db/errors';

let database: DatabaseHandle;
beforeAll(() => {
  database = createDatabase(inject('databaseUrl'), 2);
});
afterAll(async () => {
  await database?.close();
});

const failure = (query: ReturnType<typeof sql>) => database.db.execute(query).then(() => undefined, (err: unknown) => err);

describe('real PostgreSQL errors, wrapped by drizzle', () => {
  it.each([
    ['numeric overflow', sql`select ${2 ** 40}::int`, '22003'],
    ['invalid text representation', sql`select ${'+86 138 0013 8000'}::bigint`, '22P02'],
    ['datetime field out of range', sql`select ${'2025-02-30'}::date`, '22008'],
    ['NUL in text', sql`select ${'a\u0000b'}::text`, '22021'],
    ['NUL in jsonb', sql`select ${JSON.stringify({ summary: 'a\u0000b' })}::jsonb`, '22P05'],
    ['division by zero', sql`select 1 / ${0}::int`, '22012'],
  ])('%s is a data error: never retried, a 400 in the API', async (_name, query, code) => {
    const err = await failure(query);
    expect(sqlState(err)).toBe(code);
    expect(isDataError(err)).toBe(true);
    expect(isInvalidInputError(err)).toBe(true);
    expect(isConnectionError(err)).toBe(false);
    // The description carries no parameter value.
    expect(JSON.stringify(describeDatabaseError(err))).not.toContain('0013 8000');
  });

  it('integrity constraint violations (class 23) are data errors too', async () => {
    const err = await failure(sql`insert into collection_policies (name, version, description, day_ms, max_promise_days, hands) values (null, 1, 'x', 1, 1, '[]')`);
    expect(sqlState(err)).toBe('23502');
    expect(isDataError(err)).toBe(true);
    expect(isInvalidInputError(err)).toBe(false);
  });

  it('a missing table is neither (a bug: retried, masked as 500)', async () => {
    const err = await failure(sql`select * from no_such_table`);
    expect(sqlState(err)).toBe('42P01');
    expect(classifyDatabaseError(err)).toBe('other');
  });
});

describe('contention', () => {
  it('a real deadlock rolls one transaction back: retry later (503), never a data error', async () => {
    // Two transactions taking two advisory locks in opposite orders.
    const first = await database.pool.connect();
    const second = await database.pool.connect();
    try {
      await first.query('begin');
      await second.query('begin');
      await first.query('select pg_advisory_xact_lock(424201)');
      await second.query('select pg_advisory_xact_lock(424202)');
      const outcomes = await Promise.allSettled([
        first.query('select pg_advisory_xact_lock(424202)'),
        second.query('select pg_advisory_xact_lock(424201)'),
      ]);
      const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      expect(failed).toHaveLength(1);
      expect(sqlState(failed[0])).toBe('40P01');
      expect(classifyDatabaseError(failed[0])).toBe('contention');
      expect(isUnavailableError(new Error('Failed query', { cause: failed[0] }))).toBe(true);
      expect(isDataError(failed[0])).toBe(false);
    } finally {
      await first.query('rollback');
      await second.query('rollback');
      first.release();
      second.release();
    }
  });

  it.each([
    ['a serialization failure', '40001'],
    ['a lock not available (NOWAIT)', '55P03'],
  ])('%s is contention too', (_name, code) => {
    expect(classifyDatabaseError(Object.assign(new Error('rolled back'), { code }))).toBe('contention');
  });
});

describe('connection failures in every shape', () => {
  const withCode = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
  it.each([
    ['ECONNREFUSED', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['ECONNRESET', withCode('read ECONNRESET', 'ECONNRESET')],
    ['ETIMEDOUT', withCode('connect ETIMEDOUT', 'ETIMEDOUT')],
    ['Connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
    ['a connect timeout', new Error('Connection terminated due to connection timeout')],
    ['no client from the pool in time', new Error('timeout exceeded when trying to connect')],
    ['admin shutdown 57P01', withCode('terminating connection due to administrator command', '57P01')],
    ['crash shutdown 57P02', withCode('terminating connection because of crash of another server process', '57P02')],
    ['starting up 57P03', withCode('the database system is starting up', '57P03')],
    ['class 08', withCode('connection failure', '08006')],
    ['too many connections 53300', withCode('sorry, too many clients already', '53300')],
    ['a database not accepting connections', withCode('database "x" is not currently accepting connections', '55000')],
    ['a broken client', new Error('Client has encountered a connection error and is not queryable')],
  ])('%s', (_name, err) => {
    expect(isConnectionError(err)).toBe(true);
    // Wrapped, as drizzle wraps a failed query.
    expect(isConnectionError(new Error('Failed query: select 1\nparams: ', { cause: err }))).toBe(true);
    expect(isDataError(err)).toBe(false);
  });

  it('an unrelated 55000 is not a connection error', () => {
    expect(isConnectionError(Object.assign(new Error('cannot lock'), { code: '55000' }))).toBe(false);
  });
});
