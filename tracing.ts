/**
 * OpenTelemetry traces across API → Temporal → workflow → activities, exported over OTLP/HTTP
 * where `OTEL_EXPORTER_OTLP_ENDPOINT` is set (e.g. `http://otel-collector:4318`); off otherwise,
 * at no cost.
 *
 * One trace per request: the API's HTTP server span (api/plugins/app/tracing.ts, which also takes
 * a caller's `traceparent`), the Temporal client's span for the call it makes (start, update,
 * signal, query), carried in the Temporal headers to the workflow's spans (exported through a
 * sink, never on replay) and the activities' (projection, delivery). `@temporalio/interceptors-
 * opentelemetry`'s plugin does the Temporal part: give `tracing.plugin` to the Client and to the
 * Workers.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';

export interface Tracing {
  /** For `new Client({ plugins })` and `Worker.create({ plugins })`. */
  plugin: OpenTelemetryPlugin;
  provider: NodeTracerProvider;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Flushes and stops exporting (on shutdown). */
  shutdown(): Promise<void>;
}

export interface TracingSettings {
  /** `service.name` of every span (OTEL_SERVICE_NAME overrides it). */
  serviceName: string;
  /** OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`. */
  endpoint?: string;
  /** Instead of the OTLP exporter (tests). */
  exporter?: SpanExporter;
  /** A processor of your own (tests: a SimpleSpanProcessor); default, batches for `exporter`. */
  spanProcessor?: SpanProcessor;
}

/**
 * Registers the process's tracer provider (the global one, with AsyncLocalStorage context and
 * W3C trace-context propagation) and answers the Temporal plugin; `undefined` when there is
 * nowhere to export to. Once per process.
 */
export function startTracing(settings: TracingSettings): Tracing | undefined {
  const exporter =
    settings.exporter ?? (settings.endpoint ? new OTLPTraceExporter({ url: `${settings.endpoint.replace(/\/+$/, '')}/v1/traces` }) : undefined);
  if (!exporter && !settings.spanProcessor) return undefined;
  const resource = Resource.default().merge(
    new Resource({ 'service.name': process.env.OTEL_SERVICE_NAME || settings.serviceName, 'service.namespace': 'collection-cases' }),
  );
  const spanProcessor = settings.spanProcessor ?? new BatchSpanProcessor(exporter!);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  const plugin = new OpenTelemetryPlugin({ resource, spanProcessor, tracer: provider.getTracer('@temporalio/interceptors-opentelemetry') });
  return {
    plugin,
    provider,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
