import { sql } from 'drizzle-orm';
import { NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres';
import type { PgDialect, PgTransactionConfig } from 'drizzle-orm/pg-core';
import type pg from 'pg';

/** What the session keeps that a transaction's own session needs (private in drizzle's types). */
interface SessionInternals {
  dialect: PgDialect;
  schema: ConstructorParameters<typeof NodePgSession>[2];
  options: ConstructorParameters<typeof NodePgSession>[3];
  transaction: (work: (tx: unknown) => Promise<unknown>, config?: PgTransactionConfig) => Promise<unknown>;
}

interface TransactionInternals {
  getTransactionConfigSQL(config: PgTransactionConfig): ReturnType<typeof sql>;
}

const clients = new WeakMap<object, pg.PoolClient>();

/** The pg client a transaction of `createDatabase`'s database runs on, for statements run on pg
 * itself (db/statements.ts) within it; undefined for anything else. */
export function heldClient(tx: object): pg.PoolClient | undefined {
  return clients.get(tx);
}

export function transactionClient(tx: object): pg.PoolClient {
  const client = heldClient(tx);
  if (!client) throw new Error('not a transaction of a database made by createDatabase');
  return client;
}

/**
 * Replaces drizzle's pooled `transaction()` on `session` (`db._.session`) with one that always
 * gives its client back, and drops a client it cannot trust.
 *
 * drizzle-orm 0.45's node-postgres session runs BEGIN before the `try/finally` that releases the
 * client, so a BEGIN that fails (a connection the server or the network dropped while it sat idle
 * in the pool, a client-side query timeout) leaks the client for the life of the process: after a
 * database outage a worker's pool kept one client checked out for ever. It also returns a client
 * whose ROLLBACK failed to the pool as healthy, where the next checkout would wait behind a
 * statement that never answers (drizzle-team/drizzle-orm#6023, #6114, open upstream).
 *
 * Here a client whose BEGIN, COMMIT or ROLLBACK failed is released with the error, which makes
 * pg-pool destroy it; the caller gets the transaction's own error, not the ROLLBACK's.
 */
export function releaseClientsOnFailure(session: object, pool: pg.Pool): void {
  const internals = session as SessionInternals;
  internals.transaction = async (work, config) => {
    const client = await pool.connect();
    const own = new NodePgSession(client, internals.dialect, internals.schema, internals.options);
    const tx = new NodePgTransaction(internals.dialect, own, internals.schema);
    clients.set(tx, client);
    let untrusted: Error | undefined;
    const statement = async (text: ReturnType<typeof sql>) => {
      try {
        await tx.execute(text);
      } catch (err) {
        untrusted = err instanceof Error ? err : new Error(String(err));
        throw err;
      }
    };
    try {
      await statement(sql`begin${config ? sql` ${(tx as unknown as TransactionInternals).getTransactionConfigSQL(config)}` : undefined}`);
      let result: unknown;
      try {
        result = await work(tx);
      } catch (err) {
        await statement(sql`rollback`).catch(() => undefined);
        throw err;
      }
      await statement(sql`commit`);
      return result;
    } finally {
      client.release(untrusted);
    }
  };
}
