/**
 * A process that checks out a pooled PostgreSQL client and holds it idle, so that a test can
 * end its backend (`pg_terminate_backend`) and see whether the process survives.
 *
 *   node --import tsx test/support/hold-connection.ts <safe|raw> <database url>
 *
 * `safe` uses db/client.ts; `raw` a bare pg.Pool that hears only idle errors (the code before
 * issue 6), which dies. Prints JSON lines: `{ pid }`, then `{ lost, message, code }` from the
 * connection error handler, then `{ alive: true }` once the pool answered again. Waits for a
 * line on stdin after printing the pid.
 */
import { createInterface } from 'node:readline';
import pg from 'pg';
import { createDatabase } from '../../db/client';

const [mode, url] = process.argv.slice(2) as ['safe' | 'raw', string];
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

const pool =
  mode === 'raw'
    ? new pg.Pool({ connectionString: url, max: 2 })
    : createDatabase(url, 2, (err, state) => print({ lost: state, message: err.message, code: (err as { code?: string }).code })).pool;
if (mode === 'raw') pool.on('error', () => undefined);

const client = await pool.connect();
const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
print({ pid: rows[0]!.pid });

const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();
await new Promise((resolve) => setTimeout(resolve, 300));
client.release(true);
await pool.query('select 1');
print({ alive: true });
await pool.end();
