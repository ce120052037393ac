/**
 * Errors in the logs: message, code and cause chain, never the SQL's parameters (personal data),
 * a row's values, or a pg client; circular errors serialize. Real PostgreSQL errors as drizzle
 * wraps them, logged through the service's pino options and through the path the Temporal
 * runtime's log entries take (worker.ts installRuntime → sanitizeLogMeta).
 */
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../db/client';
import { loggerOptions, sanitizeLogMeta, serializeError } from '../logger';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-database';
import { eventually } from './support/fixtures';

const PHONE = '+8613800138000';
const ID_NUMBER = '110101199003071234';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino(loggerOptions('info'), stream), lines, json: () => lines.map((l) => JSON.parse(l)) };
}

let database: DatabaseHandle;
beforeAll(() => {
  database = createDatabase(inject('databaseUrl'), 2);
});
afterAll(async () => {
  await database?.close();
});

/** A real failed insert whose parameters hold a phone and an ID number (the party twice: 23505). */
async function failedInsert(): Promise<Error> {
  const err = await database.db
    .execute(
      sql`insert into case_parties (case_id, role, position, name, id_number, phone) values (${'case-NONE'}, 'borrower', 0, 'Zhang Wei', ${ID_NUMBER}, ${PHONE}), (${'case-NONE'}, 'borrower', 0, 'Zhang Wei', ${ID_NUMBER}, ${PHONE})`,
    )
    .then(() => undefined, (e: unknown) => e as Error);
  if (!err) throw new Error('the insert should have failed');
  // The premise: drizzle's error carries the parameters, in fields and in its message.
  expect(`${err.message} ${JSON.stringify((err as { params?: unknown }).params)}`).toContain(PHONE);
  return err;
}

describe('error logs', () => {
  it('a drizzle query error: message and code, never the parameters', async () => {
    const err = await failedInsert();
    const { logger, lines, json } = capture();
    logger.error({ err }, 'projection failed');
    logger.warn({ error: err }, 'Activity failed');
    logger.error(err);
    const text = lines.join('\n');
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain(ID_NUMBER);
    expect(text).not.toContain('params');
    const [first] = json();
    expect(first.err).toMatchObject({
      type: 'DrizzleQueryError',
      message: expect.stringMatching(/^Failed query: insert into case_parties/),
      cause: { code: '23505', message: expect.stringMatching(/violates unique constraint/), constraint: expect.any(String) },
    });
    expect(first.err.cause).not.toHaveProperty('detail'); // `Key (case_id, …)=(…)`: row values stay out
    expect(json()[1].error.cause.code).toBe('23505');
  });

  it('the Temporal runtime path (installRuntime): an activity failure logs no parameters', async () => {
    const err = await failedInsert();
    const { logger, lines } = capture();
    // What the SDK's worker logs for a failed activity, as installRuntime forwards it.
    logger.child({ sdk: true }).warn(sanitizeLogMeta({ error: err, durationMs: 12, params: [PHONE], query: 'insert …' }), 'Activity failed');
    const [line] = lines.map((l) => JSON.parse(l));
    expect(JSON.stringify(line)).not.toContain(PHONE);
    expect(line).toMatchObject({ sdk: true, durationMs: 12, error: { cause: { code: '23505' } } });
    expect(line).not.toHaveProperty('params');
    expect(line).not.toHaveProperty('query');
  });

  it('a value PostgreSQL quotes in a data error is masked', () => {
    const err = Object.assign(new Error(`invalid input syntax for type bigint: "${PHONE}"`), { code: '22P02' });
    expect(JSON.stringify(serializeError(err))).not.toContain(PHONE);
  });

  it('circular errors and cause chains serialize', () => {
    const inner = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const outer = new Error('Connection terminated unexpectedly', { cause: inner });
    const client: Record<string, unknown> = { host: 'db', password: 'secret' };
    client.self = client;
    Object.assign(outer, { client, again: outer });
    (inner as { cause?: unknown }).cause = outer; // a cycle through the cause chain
    const { logger, lines } = capture();
    logger.warn({ err: outer, error: outer }, 'lost');
    expect(lines[0]).not.toContain('unable to serialize');
    expect(lines[0]).not.toContain('secret');
    const line = JSON.parse(lines[0]!);
    expect(line.err).toMatchObject({ message: 'Connection terminated unexpectedly', cause: { code: '57P01' } });
    expect(line.err).not.toHaveProperty('client');
  });
});

describe('a lost idle connection', () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
  });
  afterAll(async () => {
    await scratch?.drop();
  });

  it('logs the cause only, never the client', async () => {
    const { logger, lines } = capture();
    const handle = createDatabase(scratch.url, 1, (err, state) => logger.warn({ err, state }, 'database connection lost'));
    try {
      await handle.db.execute(sql`select 1`);
      await scratch.terminateSessions();
      await eventually(async () => (lines.length > 0 ? true : undefined), 5_000, 20);
      const line = JSON.parse(lines[0]!);
      expect(line).toMatchObject({ state: 'idle', err: { code: '57P01', message: expect.stringMatching(/terminat/) } });
      expect(lines[0]).not.toMatch(/connectionParameters|_queryable|"client"/);
      expect(lines[0]!.length).toBeLessThan(2_000);
    } finally {
      await handle.close();
    }
  });
});
