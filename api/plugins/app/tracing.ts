/**
 * An OpenTelemetry server span per request, named by method and route pattern
 * (`POST /v1/cases/:caseId/payments`), child of the caller's `traceparent` when it sends one.
 * Each route's handler runs inside the span's context, so the Temporal client's spans (and,
 * through Temporal's headers, the workflow's and the activities') join the request's trace.
 *
 * Without a tracer provider registered before the app is built (tracing.ts: no
 * OTEL_EXPORTER_OTLP_ENDPOINT) every span would be a no-op: the hooks are left out, which the
 * ledger's reads measured at about 3% of the API's CPU (bench:reads).
 */
import { context, propagation, ProxyTracerProvider, ROOT_CONTEXT, type Context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyPluginAsync, FastifyRequest, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';

const tracer = trace.getTracer('collection-cases-api');

interface RequestTrace {
  span: Span;
  context: Context;
}
const traces = new WeakMap<FastifyRequest, RequestTrace>();

/** The request's span context, for code that starts work outside the handler's own context. */
export function requestTraceContext(request: FastifyRequest): Context | undefined {
  return traces.get(request)?.context;
}

/** The provider the API answers with while none is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

function tracerRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return (provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider) !== NOOP_PROVIDER;
}

const tracing: FastifyPluginAsync = async (fastify) => {
  if (!tracerRegistered()) return;
  // Before any route is added (the plugin is registered ahead of the routes).
  fastify.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function traced(this: unknown, request, reply) {
      const ctx = traces.get(request)?.context;
      return ctx ? context.with(ctx, () => handler.call(this as never, request, reply)) : handler.call(this as never, request, reply);
    } as RouteHandlerMethod;
  });

  fastify.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      `${request.method} ${route ?? 'unmatched'}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0],
          ...(route ? { 'http.route': route } : {}),
          'http.request.id': request.id,
        },
      },
      parent,
    );
    traces.set(request, { span, context: trace.setSpan(parent, span) });
  });

  fastify.addHook('onError', async (request, _reply, error) => {
    traces.get(request)?.span.recordException(error);
  });

  fastify.addHook('onRequestAbort', async (request) => {
    const found = traces.get(request);
    if (!found) return;
    found.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away' });
    found.span.end();
    traces.delete(request);
  });

  fastify.addHook('onResponse', async (request, reply) => {
    const found = traces.get(request);
    if (!found) return;
    found.span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) found.span.setStatus({ code: SpanStatusCode.ERROR });
    found.span.end();
    traces.delete(request);
  });
};

export default fp(tracing, { name: 'tracing' });
