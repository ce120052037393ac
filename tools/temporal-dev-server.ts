import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { CASE_SEARCH_ATTRIBUTES } from '../domain';
import { devServerSearchAttributeArgs } from '../temporal/search-attributes';
import { isPortInUse } from './ports';
import { DATA_DIR } from './project-paths';
import { ensureTemporalCli } from './temporal-cli';

export interface DevServerOptions {
  ip?: string;
  port?: number;
  uiPort?: number;
  /** SQLite file the server keeps its state in, so that cases survive a restart. */
  dbFilename?: string;
  /** The codec server the UI decodes payloads through (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  onLog?: (line: string) => void;
}

export interface RunningDevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/** Measured here: with SQLite's default rollback journal the dev server is several times slower. */
const SQLITE_WAL = ['--sqlite-pragma', 'journal_mode=wal'];
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_LINES = 30;

/**
 * Runs `temporal server start-dev` persisted in a SQLite file, with the case search attributes.
 * Refuses when the ports are taken: a second server on the same file would corrupt it, and a
 * server someone else runs is used by setting TEMPORAL_ADDRESS instead of starting one.
 */
export async function startTemporalDevServer(options: DevServerOptions = {}): Promise<RunningDevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  const dbFilename = options.dbFilename ?? path.join(DATA_DIR, 'temporal.db');
  const address = `${ip}:${port}`;
  const uiUrl = `http://${ip}:${uiPort}`;
  for (const [what, p] of [['Temporal frontend', port], ['Temporal UI', uiPort]] as const) {
    if (await isPortInUse(ip, p)) {
      throw new Error(
        `${ip}:${p} (${what}) is already in use, probably by a Temporal server that is still running. ` +
          `Stop it, or set TEMPORAL_ADDRESS=${address} to use that server instead of starting one.`,
      );
    }
  }
  await mkdir(path.dirname(dbFilename), { recursive: true });

  const cli = ensureTemporalCli();
  if (!cli) {
    const env = await createLocalTemporal({ ip, port, uiPort, dbFilename, uiCodecEndpoint: options.uiCodecEndpoint });
    return { address: env.address, uiUrl, stop: () => env.teardown() };
  }
  const args = [
    ...['server', 'start-dev', '--ip', ip, '--port', String(port), '--ui-port', String(uiPort)],
    ...['--db-filename', dbFilename, ...SQLITE_WAL, '--log-level', 'warn'],
    ...devServerSearchAttributeArgs(),
    ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : []),
  ];
  // Its own process group: a Ctrl-C in the terminal reaches only us, and we stop the server
  // after the worker has drained, not while it still talks to it.
  const child = spawn(cli, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const onLog = options.onLog ?? ((line: string) => process.stderr.write(`[temporal] ${line}\n`));
  // Forwarded only while serving: stdout is its banner (with localhost URLs), and the warnings
  // while it starts and stops are expected. Failures to start show the tail instead.
  let serving = false;
  const collect = (forward: boolean) => (line: string) => {
    tail.push(line);
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    if (forward && serving) onLog(line);
  };
  createInterface({ input: child.stdout! }).on('line', collect(false));
  createInterface({ input: child.stderr! }).on('line', collect(true));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  // Last resort when this process exits without stop(): never leave a detached server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    serving = false;
    process.off('exit', killOnExit);
    await stopChild(child, STOP_GRACE_MS);
  };

  try {
    await waitUntilServing(address, READY_TIMEOUT_MS, () => {
      if (spawnError) return `could not run ${cli}: ${spawnError.message}`;
      if (child.exitCode !== null || child.signalCode !== null) {
        return `temporal server start-dev exited (${child.exitCode ?? child.signalCode}):\n${tail.join('\n')}`;
      }
      return undefined;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  serving = true;
  return { address, uiUrl, stop };
}

/**
 * A dev server run by the SDK's native bridge: `createLocal` with the given CLI, or with the
 * SDK's own download when there is none. Without `dbFilename` it keeps its state in memory.
 */
export function createLocalTemporal(
  server: { ip?: string; port?: number; uiPort?: number; dbFilename?: string; uiCodecEndpoint?: string },
  cli?: string,
): Promise<TestWorkflowEnvironment> {
  const { uiCodecEndpoint, ...options } = server;
  return TestWorkflowEnvironment.createLocal({
    server: {
      ...options,
      ...(cli ? { executable: { type: 'existing-path', path: cli } } : {}),
      ui: server.uiPort !== undefined,
      searchAttributes: [...CASE_SEARCH_ATTRIBUTES],
      extraArgs: [...(server.dbFilename ? SQLITE_WAL : []), ...(uiCodecEndpoint ? ['--ui-codec-endpoint', uiCodecEndpoint] : [])],
    },
  });
}

async function waitUntilServing(address: string, timeoutMs: number, failure: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failed = failure();
    if (failed) throw new Error(failed);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        // The frontend may accept connections before the default namespace is registered.
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`Temporal dev server at ${address} not serving after ${timeoutMs} ms: ${(err as Error).message}`);
      }
    }
    await sleep(250);
  }
}

/** SIGTERM to the child's own pid, SIGKILL if it has not exited within the grace period. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
