/**
 * The worker's own Temporal SDK metrics (worker.ts `installRuntime`, WORKER_METRICS_ADDRESS):
 * `npm run worker` as a process of its own (the runtime is installed once per process), serving
 * Prometheus text at `/metrics` with the SDK's `temporal_…` series once it polls and runs a case.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { caseStateQuery } from '../../domain';
import { eventually, newLoan, open, testPolicy, useDatabaseFor } from '../support/fixtures';
import { SPAWNED_WORKER_PAYLOAD_ENV, testDataConverter } from '../support/harness';

let connection: Connection;
let client: Client;
let database: DatabaseHandle;
beforeAll(async () => {
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection, dataConverter: testDataConverter() });
  database = createDatabase(inject('databaseUrl'), 1);
  useDatabaseFor(client, database.db);
});
afterAll(async () => {
  await connection?.close();
  await database?.close();
});

/** A port free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function spawnWorker(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: {
      ...process.env,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      NOTIFY_CHANNELS: 'log',
      // The production entry refuses the development secrets (config.ts refuseDevelopmentSecrets).
      JWT_SECRET: 'test-worker-jwt-secret-'.padEnd(40, 'x'),
      HOUSEHOLD_KEY: 'test-worker-household-key-'.padEnd(40, 'x'),
      ...SPAWNED_WORKER_PAYLOAD_ENV,
      // Other test files' pending notifications are not this worker's to send.
      NOTIFY_SWEEP_INTERVAL_MS: '3600000',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function stop(worker: ReturnType<typeof spawnWorker>): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 20_000);
  await worker.exited;
  clearTimeout(timer);
}

async function scrape(address: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

describe('the worker\'s Temporal SDK metrics', () => {
  it('are served at WORKER_METRICS_ADDRESS: task slots, pollers, schedule-to-start latency, the sticky cache', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const taskQueue = `worker-metrics-${randomUUID()}`;
    const worker = spawnWorker({ WORKER_METRICS_ADDRESS: address, TEMPORAL_TASK_QUEUE: taskQueue });
    try {
      // The log names the endpoint once both workers run.
      await eventually(async () => (worker.output().includes('"msg":"worker started"') ? true : undefined), 60_000, 200);
      expect(worker.output()).toContain(`"metrics":"http://${address}/metrics"`);

      // A case on the worker's queue: a workflow task and activities scheduled, picked up, cached.
      const policy = await testPolicy(database.db, { dayMs: 86_400_000, entersAtDays: [0, 15, 30, 60, 90, 120] });
      const { case: opened } = await open(client, taskQueue, newLoan(), policy);
      expect((await client.workflow.getHandle(opened.caseId).query(caseStateQuery)).hand).toBe(1);

      const text = await eventually(async () => {
        const body = await scrape(address);
        return body?.includes('temporal_workflow_task_schedule_to_start_latency_seconds_bucket') &&
          body.includes('temporal_sticky_cache_size')
          ? body
          : undefined;
      }, 30_000, 500);
      const names = new Set(text.split('\n').filter((l) => l.startsWith('temporal_')).map((l) => l.split(/[{ ]/)[0]));
      for (const name of [
        'temporal_worker_task_slots_available',
        'temporal_worker_task_slots_used',
        'temporal_num_pollers',
        'temporal_workflow_task_schedule_to_start_latency_seconds_bucket',
        'temporal_activity_schedule_to_start_latency_seconds_bucket',
        'temporal_sticky_cache_size',
      ]) {
        expect(names, name).toContain(name);
      }
      // Labelled with the task queue (both of the process's workers) and the namespace.
      expect(text).toContain(`task_queue="${taskQueue}"`);
      expect(text).toContain(`task_queue="${taskQueue}-delivery"`);
      expect(text).toMatch(/namespace="default"/);
      await client.workflow.getHandle(opened.caseId).terminate('worker metrics test done');
    } finally {
      await stop(worker);
    }
    expect(await scrape(address)).toBeUndefined(); // gone with the process
  });

  it('refuses a WORKER_METRICS_ADDRESS that is not ip:port, naming it', async () => {
    const worker = spawnWorker({ WORKER_METRICS_ADDRESS: 'localhost:9464', TEMPORAL_TASK_QUEUE: `worker-metrics-${randomUUID()}` });
    try {
      expect(await worker.exited).toBe(1);
      expect(worker.output()).toMatch(/WORKER_METRICS_ADDRESS/);
    } finally {
      await stop(worker);
    }
  });
});
