import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../tools/project-paths';
import { workflowBundle } from './harness';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** What test/support/worker-process.ts runs with (one JSON argument). */
export interface WorkerProcessSettings {
  temporalAddress: string;
  databaseUrl: string;
  taskQueue: string;
  /** The workflow bundle's code, written once: each start then skips bundling. */
  bundlePath: string;
  sweepIntervalMs: number;
  logLevel: string;
}

export interface WorkerProcess {
  pid: number;
  /** Resolves once the child's workers poll; rejects if it exits first. */
  ready: Promise<void>;
  exited: Promise<unknown>;
  /** Its last lines of output, for a failure's message. */
  tail: string[];
  isRunning(): boolean;
  /** SIGKILL to its own pid, then waits until it has exited. */
  kill(): Promise<void>;
}

/** Writes the test file's workflow bundle where worker processes load it from. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  await writeFile(bundlePath, (await workflowBundle()).code);
  return bundlePath;
}

const live = new Set<ChildProcess>();
// Last resort when the test process exits without the drill's cleanup: no worker left behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function spawnWorkerProcess(settings: WorkerProcessSettings): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, JSON.stringify(settings)], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const tail: string[] = [];
  const exited = once(child, 'exit').finally(() => live.delete(child));
  exited.catch(() => undefined);
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  const ready = new Promise<void>((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (line.includes('"ready":true')) resolve();
      });
    }
    void exited.then(() => reject(new Error(`the worker process exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail.join('\n')}`)));
  });
  ready.catch(() => undefined);
  return {
    pid: child.pid!,
    ready,
    exited,
    tail,
    isRunning,
    async kill() {
      if (!isRunning()) return;
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(10_000)]);
    },
  };
}
