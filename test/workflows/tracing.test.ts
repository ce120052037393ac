/**
 * OpenTelemetry traces (tracing.ts): one intake request is one trace, from the caller's
 * `traceparent` through the API's server span and the Temporal client's call to the workflow's
 * spans and the projection activity's, exported over OTLP/HTTP to a collector (here a local HTTP
 * receiver). The tracer provider is global, so this file is the only one that starts tracing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../api/app';
import { signToken } from '../../api/auth/tokens';
import { loadConfig } from '../../config';
import { createDatabase, type DatabaseHandle } from '../../db/client';
import { createLogger } from '../../logger';
import { startTracing, type Tracing } from '../../tracing';
import { createCaseWorker, type CaseWorkers } from '../../worker';
import { eventually, newLoan } from '../support/fixtures';
import { testDataConverter } from '../support/harness';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
}

/** A stand-in OTLP/HTTP collector: the spans of every JSON export it receives. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const request = JSON.parse(body) as {
          resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: ExportedSpan[] }[] }[];
        };
        for (const { resource, scopeSpans } of request.resourceSpans) {
          const service = resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const scope of scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let collector: Awaited<ReturnType<typeof startCollector>>;
let tracing: Tracing;
let connection: Connection;
let nativeConnection: NativeConnection;
let database: DatabaseHandle;
let workers: CaseWorkers;
let running: Promise<void>;
const taskQueue = `tracing-${randomUUID()}`;

beforeAll(async () => {
  collector = await startCollector();
  tracing = startTracing({ serviceName: 'collection-cases-test', endpoint: collector.url })!;
  database = createDatabase(inject('databaseUrl'), 3);
  nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  // The worker bundles the workflows itself: the plugin adds its workflow interceptors to the bundle.
  workers = await createCaseWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    db: database.db,
    logger: createLogger('silent'),
    sweepIntervalMs: 0,
    shutdownGraceTime: 0,
    plugins: [tracing.plugin],
    dataConverter: testDataConverter(),
  });
  running = workers.run();
  connection = await Connection.connect({ address: inject('temporalAddress') });
});
afterAll(async () => {
  workers?.shutdown();
  await running?.catch(() => undefined);
  await nativeConnection?.close();
  await connection?.close();
  await database?.close();
  await tracing?.shutdown();
  await collector?.close();
});

describe('a trace across API → Temporal → workflow → activities', () => {
  it('follows an intake request from the caller\'s traceparent to the projection activity', async () => {
    const client = new Client({ connection, plugins: [tracing.plugin], dataConverter: testDataConverter() });
    const config = { ...loadConfig({ DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress'), LOG_LEVEL: 'silent' }), TEMPORAL_TASK_QUEUE: taskQueue };
    const app = await buildApp({ config, db: database.db, temporal: client, logger: createLogger('silent') });
    try {
      const traceId = randomBytes(16).toString('hex');
      const callerSpanId = randomBytes(8).toString('hex');
      const res = await app.inject({
        method: 'POST',
        url: '/v1/cases',
        payload: newLoan(),
        headers: {
          authorization: `Bearer ${signToken(config.JWT_SECRET, { role: 'system', sub: 'core-banking' })}`,
          traceparent: `00-${traceId}-${callerSpanId}-01`,
        },
      });
      expect(res.statusCode, res.body).toBe(201);

      const spans = await eventually(async () => {
        await tracing.flush();
        const inTrace = collector.spans.filter((s) => s.traceId === traceId);
        // The workflow's spans leave with its activations, the activity's with the worker's: wait for both.
        const names = ['RunActivity:projectCase', 'StartActivity:projectCase', 'HandleUpdate:openCase'];
        return names.every((name) => inTrace.some((s) => s.name === name)) ? inTrace : undefined;
      }, 20_000, 250);
      const child = (parent: ExportedSpan, prefix: string) => spans.find((s) => s.parentSpanId === parent.spanId && s.name.startsWith(prefix));

      // The API's server span, child of the caller's, named by the route pattern.
      const server = spans.find((s) => s.name === 'POST /v1/cases')!;
      expect(server).toMatchObject({ parentSpanId: callerSpanId, kind: 2 /* SERVER */ });
      // The Temporal client's update-with-start, inside the request; the workflow's update
      // handler, inside that call (carried in Temporal's headers).
      const call = child(server, 'UpdateWithStartWorkflow:openCase');
      expect(call, 'the client span').toBeDefined();
      expect(child(call!, 'HandleUpdate:openCase'), 'the workflow\'s update handler').toBeDefined();
      // The projection: scheduled by the workflow (its run span, still open, is their parent) and
      // run by the worker, in the same trace.
      const scheduled = spans.find((s) => s.name === 'StartActivity:projectCase')!;
      expect(child(scheduled, 'RunActivity:projectCase'), 'the activity run').toBeDefined();
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['collection-cases-test']));
    } finally {
      await app.close();
    }
  });
});
