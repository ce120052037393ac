/**
 * The HTTP API: external plugins first, then the app's own, then the routes; one error handler
 * answering RFC 9457 problem details. The caller owns the database and the Temporal client
 * (`server.ts` and the tests make and close them).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config';
import type { Database } from '../db/client';
import type { Logger } from '../logger';
import { containsNul } from '../domain';
import { badRequest, fieldErrorsFromAjv, HttpProblem, PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, type Problem } from './errors';
import { problemForFault } from './faults';
import authorization from './plugins/app/authorization';
import caseReads from './plugins/app/case-reads';
import casesRepository from './plugins/app/cases-repository';
import consolePlugin, { type ConsoleOptions } from './plugins/app/console';
import metrics from './plugins/app/metrics';
import tracing from './plugins/app/tracing';
import resources from './plugins/app/resources';
import cors, { corsOrigins } from './plugins/external/cors';
import helmet from './plugins/external/helmet';
import jwt from './plugins/external/jwt';
import rateLimit from './plugins/external/rate-limit';
import swagger from './plugins/external/swagger';
import codec from './routes/codec';
import health from './routes/health';
import v1 from './routes/v1';
import { createValidatorCompiler } from './validation';

export interface AppOptions {
  config: Config;
  db: Database;
  temporal: Client;
  logger: Logger;
  /** The web console under /app (always served when built; dev tokens only when asked). */
  console?: ConsoleOptions;
}

function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/**
 * Turns any error into a problem: validation → 400 naming the fields; PostgreSQL or Temporal
 * down → 503 with Retry-After; a value PostgreSQL refuses → 400 (api/faults.ts); other 5xx
 * masked (and logged by the handler).
 */
function httpProblemFor(err: FastifyError | HttpProblem | Error, request: FastifyRequest): HttpProblem {
  if (err instanceof HttpProblem) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError.validation) {
    const errors = fieldErrorsFromAjv(fastifyError.validation, fastifyError.validationContext);
    return new HttpProblem(400, `Invalid ${fastifyError.validationContext ?? 'request'}: ${errors.map((e) => `${e.field} ${e.reason}`).join('; ')}`, {
      type: PROBLEM_TYPES.validation,
      title: 'Invalid request',
      errors,
    });
  }
  const fault = problemForFault(err, { query: request.query, params: request.params });
  if (fault) return fault;
  const status = fastifyError.statusCode;
  // A body the content parser could not read (malformed or empty JSON, too large, a media type
  // not taken) is wrong as a whole: the answer names `body`, as it names any bad field.
  if (status !== undefined && status >= 400 && status < 500 && fastifyError.code?.startsWith('FST_ERR_CTP_')) {
    const validation = status === 400 ? { type: PROBLEM_TYPES.validation, title: 'Invalid request' } : {};
    return new HttpProblem(status, err.message, { ...validation, errors: [{ field: 'body', reason: err.message }] });
  }
  if (status !== undefined && status >= 400 && status < 500) return new HttpProblem(status, err.message);
  return new HttpProblem(500, 'An internal error occurred; it has been logged');
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    genReqId: () => crypto.randomUUID(),
    routerOptions: { ignoreTrailingSlash: true },
    bodyLimit: options.config.BODY_LIMIT_BYTES, // larger bodies: 413 before they are read whole
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(createValidatorCompiler());

  // Before any plugin: child contexts take the handlers in force when they are registered.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const answer = httpProblemFor(err, request);
    const problem = answer.toProblem(request.url);
    const context = { method: request.method, url: request.url, params: request.params, query: request.query, caller: request.caller };
    if (problem.status === 503) request.log.warn({ err, request: context, status: 503 }, 'dependency unavailable');
    else if (problem.status >= 500) request.log.error({ err, request: context }, 'request failed');
    else request.log.info({ request: context, status: problem.status, detail: problem.detail }, 'request refused');
    return sendProblem(reply, problem, answer.headers);
  });

  // No text in a request may hold NUL (U+0000): PostgreSQL refuses it in text and jsonb, so the
  // write would fail on every retry. The schemas' Text() refuses it per field; this catches any
  // string a schema leaves open (after validation: a forbidden caller still learns nothing).
  app.addHook('preHandler', async (request) => {
    for (const [part, value] of [['body', request.body], ['query', request.query], ['params', request.params]] as const) {
      const path = containsNul(value);
      if (path !== null) throw badRequest([{ field: path === '$' ? part : path, reason: 'must not contain the NUL character (\\u0000)' }]);
    }
  });

  app.setNotFoundHandler((request, reply) => {
    request.log.info({ request: { method: request.method, url: request.url } }, 'no such route');
    return sendProblem(reply, new HttpProblem(404, `No route ${request.method} ${request.url.split('?')[0]}`).toProblem(request.url));
  });

  // External plugins
  // Before any route: their hooks must see every route.
  await app.register(helmet);
  await app.register(cors, { origins: corsOrigins(options.config.CORS_ORIGINS) });
  await app.register(rateLimit, { max: options.config.RATE_LIMIT_MAX, timeWindowMs: options.config.RATE_LIMIT_WINDOW_MS });
  await app.register(swagger);
  await app.register(jwt, { config: options.config });

  // App plugins
  await app.register(resources, { config: options.config, db: options.db, temporal: options.temporal });
  await app.register(authorization);
  await app.register(casesRepository);
  await app.register(caseReads); // who read which case (GET /v1/audit/reads)
  await app.register(metrics); // GET /metrics, unauthenticated like /healthz (METRICS_ENABLED)
  await app.register(tracing); // a server span per request (OpenTelemetry; tracing.ts)

  // Routes
  await app.register(consolePlugin, options.console ?? {}); // the web console under /app
  await app.register(health);
  await app.register(codec, { prefix: '/codec' }); // the Temporal UI's and CLI's codec server
  await app.register(v1, { prefix: '/v1' });

  await app.ready();
  return app;
}
