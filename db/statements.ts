import { is, Param, Placeholder, SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { Database } from './client';
import { heldClient } from './transaction';
import * as schema from './schema';

/**
 * A statement of a hot path, built by drizzle once, with named placeholders
 * (`sql.placeholder`) for its values, and run on pg under its name, so that each connection
 * parses and plans it once. Built per call, drizzle's builder costs more CPU than PostgreSQL
 * spends running a write of one case: about 1 ms for the ledger row's upsert of 49 columns,
 * the largest single cost of the API's process when it opens cases (bench:intake, profiled).
 *
 * drizzle's own `prepare()` binds a statement to the pool, where these also run within a
 * transaction, on its client.
 *
 * A placeholder in a column's place is encoded as drizzle encodes that column (jsonb as JSON
 * text, a timestamp as ISO text); one elsewhere in the SQL is passed to pg as it is.
 */
export interface Statement {
  /** The name given, with a hash of the text: pg refuses a name prepared on a connection with
   * another text, as two outboxes of different options in one process would have. */
  name: string | undefined;
  text: string;
  /** The parameters' values from the named values, in the order of `$1, $2, …`. */
  fill: (values: Record<string, unknown>) => unknown[];
}

/** Builds SQL only: it has no connection. */
export const statementBuilder = drizzle.mock({ schema });
const dialect = new PgDialect();

/** `name`: prepared under it on each connection (at most 54 bytes); none, parsed per call. */
export function statement(query: SQL | { toSQL(): { sql: string; params: unknown[] } }, name?: string): Statement {
  const { sql: text, params } = is(query, SQL) ? dialect.sqlToQuery(query) : query.toSQL();
  const fillers = params.map(filler);
  return { name: name === undefined ? undefined : `${name}_${fnv1a(text)}`, text, fill: (values) => fillers.map((f) => f(values)) };
}

/** FNV-1a, 32 bits, as 8 hex digits. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** As drizzle fills a parameter: a column's value through the column's encoder, null as null. */
function filler(param: unknown): (values: Record<string, unknown>) => unknown {
  const named = (name: string) => (values: Record<string, unknown>) => {
    if (!(name in values)) throw new Error(`No value for placeholder "${name}"`);
    return values[name];
  };
  if (is(param, Placeholder)) return named(param.name);
  if (is(param, Param) && is(param.value, Placeholder)) {
    const value = named(param.value.name);
    const { encoder } = param;
    return (values) => {
      const v = value(values);
      return v === null || v === undefined ? null : encoder.mapToDriverValue(v);
    };
  }
  return () => param;
}

/** The pool under `db`, for statements run outside a transaction. */
export function poolOf(db: Database): pg.Pool {
  return (db as Database & { $client: pg.Pool }).$client;
}

/** A transaction's client, or the pool of a database. */
export function queryableOf(executor: Database | object): Queryable {
  return heldClient(executor) ?? poolOf(executor as Database);
}

/** A pool, or the client a transaction holds (`transactionClient` in db/transaction.ts). */
export type Queryable = pg.Pool | pg.PoolClient;

export async function runStatement<R extends pg.QueryResultRow>(client: Queryable, st: Statement, values: Record<string, unknown>): Promise<R[]> {
  const { rows } = await (client as pg.Pool).query<R>({ name: st.name, text: st.text, values: st.fill(values) });
  return rows;
}

/** Rows as arrays of their columns, read by `types`' parsers. */
export async function runStatementArrays(client: Queryable, st: Statement, values: Record<string, unknown>, types: pg.CustomTypesConfig): Promise<unknown[][]> {
  const { rows } = await (client as pg.Pool).query<unknown[]>({ name: st.name, text: st.text, values: st.fill(values), rowMode: 'array', types });
  return rows;
}

/** Placeholders for `count` rows of `keys`, named `${key}_${row}`. */
export function placeholderRows<K extends string>(keys: readonly K[], count: number): Record<K, Placeholder>[] {
  return Array.from({ length: count }, (_, i) => Object.fromEntries(keys.map((key) => [key, sql.placeholder(`${key}_${i}`)])) as Record<K, Placeholder>);
}

/** The values of `rows` for the placeholders `placeholderRows` named. */
export function rowValues<K extends string>(keys: readonly K[], rows: readonly Record<K, unknown>[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  rows.forEach((row, i) => {
    for (const key of keys) values[`${key}_${i}`] = row[key];
  });
  return values;
}

/**
 * A statement per number of rows: prepared by name up to `prepared` rows (the counts a batch
 * has), built per call above that, so that no connection keeps statements without bound.
 */
export function statementsByCount(name: string, prepared: number, build: (count: number) => { toSQL(): { sql: string; params: unknown[] } }): (count: number) => Statement {
  const built = new Map<number, Statement>();
  return (count) => {
    if (count > prepared) return statement(build(count));
    let st = built.get(count);
    if (!st) built.set(count, (st = statement(build(count), `${name}_${count}`)));
    return st;
  };
}
