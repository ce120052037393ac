import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect, inject } from 'vitest';
import { buildApp } from '../../api/app';
import { signToken, type TokenClaims } from '../../api/auth/tokens';
import { loadConfig, type Config } from '../../config';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { apiConnectionOptions } from '../../api/plugins/app/temporal';
import { createLogger } from '../../logger';
import { dataConverterFrom } from '../../temporal/codec';
import type { CaseHarness } from '../support/harness';

export interface ApiTest {
  app: FastifyInstance;
  config: Config;
  client: Client;
  database: DatabaseHandle;
  /** `Authorization` header value for a caller. */
  auth(role: TokenClaims['role'], sub: string, branch?: string): string;
  /** `app.inject` as that caller. */
  as(caller: [TokenClaims['role'], string, string?], options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * The app on the run's real PostgreSQL database and Temporal server. With a harness, it shares
 * the harness's client and database (and its task queue, where the harness's worker listens);
 * without, it makes its own and closes them after. `env` adds settings (CORS_ORIGINS, JWT_ISSUER…).
 */
export async function build(options: { harness?: CaseHarness; env?: Record<string, string> } = {}): Promise<ApiTest> {
  const { harness } = options;
  const config: Config = {
    ...loadConfig({
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      // Suites send many requests as one caller; the limit itself is tested in access-limits.test.ts.
      RATE_LIMIT_MAX: '1000000',
      ...options.env,
    }),
    ...(harness ? { TEMPORAL_TASK_QUEUE: harness.taskQueue } : {}),
  };
  let connection: Connection | undefined;
  let client: Client;
  let database: DatabaseHandle;
  if (harness) {
    client = harness.client;
    database = harness.database;
  } else {
    connection = await Connection.connect(apiConnectionOptions({ address: config.TEMPORAL_ADDRESS }));
    client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFrom(config) });
    database = createDatabase(config.DATABASE_URL, 2);
  }
  const app = await buildApp({ config, db: database.db, temporal: client, logger: createLogger(config.LOG_LEVEL) });
  const auth = (role: TokenClaims['role'], sub: string, branch?: string) =>
    `Bearer ${signToken(config.JWT_SECRET, { role, sub, ...(branch ? { branch } : {}) }, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE })}`;
  return {
    app,
    config,
    client,
    database,
    auth,
    as: ([role, sub, branch], injectOptions) =>
      app.inject({ ...injectOptions, headers: { ...injectOptions.headers, authorization: auth(role, sub, branch) } }),
    async close() {
      await app.close();
      if (!harness) {
        await connection?.close();
        await database.close();
      }
    },
  };
}

/** Asserts an RFC 9457 answer with the status and, for 400s, the named fields. */
export function expectProblem(res: LightMyRequestResponse, status: number, fields: string[] = []): Record<string, unknown> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String), instance: expect.any(String) });
  if (fields.length > 0) {
    const named = (body.errors as { field: string; reason: string }[]).map((e) => e.field);
    expect(named).toEqual(expect.arrayContaining(fields));
    for (const error of body.errors) expect(error.reason).toEqual(expect.any(String));
  }
  return body;
}
