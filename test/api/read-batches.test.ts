/**
 * Group commit of the record of reads (api/plugins/app/read-batches.ts) on the run's real
 * PostgreSQL: concurrent requests' rows go into one insert, at most one insert is in flight, the
 * rows that arrive meanwhile go into the next, and a batch that fails fails exactly its requests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { insertReads, ReadBatches, type ReadRecord } from '../../api/plugins/app/read-batches';

let database: DatabaseHandle;
beforeAll(() => {
  database = createDatabase(inject('databaseUrl'), 2);
});
afterAll(async () => {
  await database?.close();
});

/** A read of its own subject, so that this test's rows are told apart from the run's others. */
const read = (caseId = `case-RB${randomUUID().slice(0, 8)}`): ReadRecord => ({
  actorSub: `batch-${randomUUID()}`,
  actorRole: 'officer',
  actorBranch: 'BR01',
  caseId,
  what: 'case',
  requestId: randomUUID(),
});

async function recorded(reads: ReadRecord[]): Promise<{ actor_sub: string; read_at: Date }[]> {
  const { rows } = await database.pool.query<{ actor_sub: string; read_at: Date }>(
    'select actor_sub, read_at from case_reads where actor_sub = any($1::text[])',
    [reads.map((r) => r.actorSub)],
  );
  return rows;
}

/** The real insert, with the size of each batch it was given and the most it ran at once. */
function observedInsert() {
  const seen = { sizes: [] as number[], running: 0, mostRunning: 0 };
  const insert = insertReads(database.db);
  return {
    seen,
    sizes: seen.sizes,
    insert: async (rows: readonly ReadRecord[]) => {
      seen.sizes.push(rows.length);
      seen.mostRunning = Math.max(seen.mostRunning, ++seen.running);
      try {
        await insert(rows);
      } finally {
        seen.running--;
      }
    },
  };
}

/** Runs `fn` once the batches have sent what they held (the send starts on setImmediate). */
const afterSendStarts = <T>(fn: () => T) => new Promise<T>((resolve) => setImmediate(() => resolve(fn())));

describe('the record of reads, committed in batches', () => {
  it('commits the reads of one moment in one insert, and those that arrive meanwhile in the next', async () => {
    const { seen, sizes, insert } = observedInsert();
    const batches = new ReadBatches(insert);
    const first = [read(), read(), read()];
    const firstCommits = first.map((r) => batches.record([r]));
    const later = [read(), read()];
    const laterCommits = await afterSendStarts(() => later.map((r) => batches.record([r])));
    await Promise.all(firstCommits);
    await Promise.all(laterCommits);
    expect(sizes).toEqual([3, 2]);
    expect(seen.mostRunning).toBe(1);
    const rows = await recorded([...first, ...later]);
    expect(rows).toHaveLength(5);
    const at = (r: ReadRecord) => rows.find((row) => row.actor_sub === r.actorSub)!.read_at.getTime();
    // One transaction each: one read_at per batch.
    expect(new Set(first.map(at)).size).toBe(1);
    expect(new Set(later.map(at)).size).toBe(1);
    expect(at(later[0]!)).toBeGreaterThanOrEqual(at(first[0]!));
  });

  it('never splits a request\'s rows and keeps a batch within its size', async () => {
    const { sizes, insert } = observedInsert();
    const batches = new ReadBatches(insert, 4);
    const requests = [[read(), read(), read()], [read(), read()], [read()], [read(), read(), read(), read(), read()]];
    await Promise.all(requests.map((rows) => batches.record(rows)));
    expect(sizes).toEqual([3, 3, 5]);
    expect(await recorded(requests.flat())).toHaveLength(11);
  });

  it('fails exactly the requests of a batch that fails, and goes on with the next', async () => {
    const { sizes, insert } = observedInsert();
    const batches = new ReadBatches(insert);
    const ok = read();
    const refused = read('case-\u0000'); // PostgreSQL takes no NUL in text: the whole insert fails
    const outcome = (commit: Promise<void>) => commit.then(() => 'committed', (err: unknown) => err);
    const failing = [outcome(batches.record([ok])), outcome(batches.record([refused]))];
    const next = read();
    const nextCommit = await afterSendStarts(() => outcome(batches.record([next])));
    for (const result of await Promise.all(failing)) expect(result).toMatchObject({ cause: { code: '22021' } });
    expect(await nextCommit).toBe('committed');
    expect(sizes).toEqual([2, 1]);
    expect((await recorded([ok, refused, next])).map((r) => r.actor_sub)).toEqual([next.actorSub]);
  });
});
