import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_JWT_SECRET, loadConfig, temporalConnectionOptions, watchLargeLoanThresholds } from '../config';

const base = { DATABASE_URL: 'postgres://app@db:5432/collection' };

describe('configuration', () => {
  it('fills defaults for a development machine', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      PORT: 3000,
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'collection-cases',
      JWT_SECRET: DEVELOPMENT_JWT_SECRET,
    });
    expect(temporalConnectionOptions(config)).toEqual({ address: '127.0.0.1:7233', tls: false });
  });

  it.each([
    [{}, /DATABASE_URL/],
    [{ ...base, DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    [{ ...base, PORT: 'eighty' }, /PORT/],
    [{ ...base, TEMPORAL_ADDRESS: 'no-port' }, /TEMPORAL_ADDRESS/],
    [{ ...base, JWT_SECRET: 'short' }, /JWT_SECRET/],
    [{ ...base, NODE_ENV: 'production' }, /JWT_SECRET/],
    [{ ...base, TEMPORAL_TLS_CERT_PATH: '/etc/tls/client.pem' }, /TEMPORAL_TLS_KEY_PATH/],
    // A bare amount, as before thresholds were per currency, says nothing of its currency.
    [{ ...base, WATCH_LARGE_LOAN_MIN_OUTSTANDING: '1000000000' }, /WATCH_LARGE_LOAN_MIN_OUTSTANDING/],
    [{ ...base, WATCH_LARGE_LOAN_MIN_OUTSTANDING: 'CNY:1000000000,CNY:5' }, /WATCH_LARGE_LOAN_MIN_OUTSTANDING names CNY twice/],
  ])('names the bad variable in %j', (env, pattern) => {
    expect(() => loadConfig(env)).toThrow(pattern);
  });

  it('reads a large-customer threshold per currency, in its minor units', () => {
    expect(watchLargeLoanThresholds(loadConfig({ ...base, WATCH_LARGE_LOAN_MIN_OUTSTANDING: 'CNY:1000000000,USD:150000000,JPY:150000000' }))).toEqual({
      CNY: 1_000_000_000,
      USD: 150_000_000,
      JPY: 150_000_000,
    });
    expect(watchLargeLoanThresholds(loadConfig(base))).toMatchObject({ CNY: 1_000_000_000 });
  });

  it('turns on TLS for Temporal Cloud when an API key is given', () => {
    const config = loadConfig({ ...base, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key' });
    expect(temporalConnectionOptions(config)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: true, apiKey: 'key' });
  });
});
