/**
 * `npm run server` and `npm run worker` refuse the development secrets whatever NODE_ENV says:
 * each entry point, spawned as its own process, exits 1 saying which secret to set, before it
 * connects to anything.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { developmentSecretsIn, DEVELOPMENT_HOUSEHOLD_KEY, DEVELOPMENT_JWT_SECRET, loadConfig } from '../../config';
import { DEVELOPMENT_KEY_ENTRY } from '../../temporal/codec';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REAL_SECRET = 'a-real-secret-from-the-vault-'.padEnd(48, '7');
const REAL_PAYLOAD_KEYS = `vault-2026:${Buffer.alloc(32, 0x42).toString('base64')}`;

/** Runs an entry point with exactly these settings; kills it after `timeoutMs`. */
function run(entry: 'server.ts' | 'worker.ts', env: Record<string, string>, timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      // Nothing listens here: a process that got past the check would fail differently (or hang).
      DATABASE_URL: 'postgres://collection_app_login@127.0.0.1:9/collection_cases',
      TEMPORAL_ADDRESS: '127.0.0.1:9',
      NOTIFY_CHANNELS: 'log',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('the production entry points', () => {
  it.each([
    ['server.ts', 'development'],
    ['worker.ts', 'development'],
    ['server.ts', 'staging'],
    ['worker.ts', 'test'],
  ] as const)('%s exits 1 without JWT_SECRET and HOUSEHOLD_KEY (NODE_ENV=%s)', { timeout: 120_000 }, async (entry, nodeEnv) => {
    const { code, output } = await run(entry, { NODE_ENV: nodeEnv });
    expect(code, output).toBe(1);
    expect(output).toMatch(/refuses to start on the development secrets: set JWT_SECRET \(or JWT_JWKS_URL\) and HOUSEHOLD_KEY/);
  });

  it.each(['server.ts', 'worker.ts'] as const)('%s refuses the development secret given explicitly', { timeout: 120_000 }, async (entry) => {
    const { code, output } = await run(entry, { JWT_SECRET: DEVELOPMENT_JWT_SECRET, HOUSEHOLD_KEY: REAL_SECRET, PAYLOAD_KEYS: REAL_PAYLOAD_KEYS });
    expect(code, output).toBe(1);
    expect(output).toMatch(/development secrets: set JWT_SECRET \(or JWT_JWKS_URL\) \(/);
    const household = await run(entry, { JWT_SECRET: REAL_SECRET, HOUSEHOLD_KEY: DEVELOPMENT_HOUSEHOLD_KEY, PAYLOAD_KEYS: REAL_PAYLOAD_KEYS });
    expect(household.code, household.output).toBe(1);
    expect(household.output).toMatch(/development secrets: set HOUSEHOLD_KEY /);
    // The payload key: absent (the development key by default), or the development key by value.
    for (const payload of [{}, { PAYLOAD_KEYS: DEVELOPMENT_KEY_ENTRY }] as Record<string, string>[]) {
      const sealing = await run(entry, { JWT_SECRET: REAL_SECRET, HOUSEHOLD_KEY: REAL_SECRET, ...payload });
      expect(sealing.code, sealing.output).toBe(1);
      expect(sealing.output).toMatch(/development secrets: set PAYLOAD_KEYS \(or PAYLOAD_KEY_FILE\) /);
    }
  });

  it('server.ts gets past the check with real secrets (then fails on the unreachable Temporal, not on secrets)', { timeout: 120_000 }, async () => {
    const { code, output } = await run('server.ts', { JWT_SECRET: REAL_SECRET, HOUSEHOLD_KEY: REAL_SECRET, PAYLOAD_KEYS: REAL_PAYLOAD_KEYS }, 30_000);
    expect(output).not.toMatch(/development secrets/);
    expect(code).not.toBe(0);
  });
});

describe('the development secrets', () => {
  const base = { DATABASE_URL: 'postgres://app@db:5432/collection' };
  it('are what npm start and the tests fall back to, and what its banner names', () => {
    const payload = 'PAYLOAD_KEYS (or PAYLOAD_KEY_FILE)';
    expect(developmentSecretsIn(loadConfig(base))).toEqual(['JWT_SECRET (or JWT_JWKS_URL)', 'HOUSEHOLD_KEY', payload]);
    expect(developmentSecretsIn(loadConfig({ ...base, JWT_JWKS_URL: 'https://idp.bank.example/certs' }))).toEqual(['HOUSEHOLD_KEY', payload]);
    expect(developmentSecretsIn(loadConfig({ ...base, JWT_SECRET: REAL_SECRET, HOUSEHOLD_KEY: REAL_SECRET, PAYLOAD_KEYS: DEVELOPMENT_KEY_ENTRY }))).toEqual([payload]);
    expect(developmentSecretsIn(loadConfig({ ...base, JWT_SECRET: REAL_SECRET, HOUSEHOLD_KEY: REAL_SECRET, PAYLOAD_KEYS: REAL_PAYLOAD_KEYS }))).toEqual([]);
  });
});
