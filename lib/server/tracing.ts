import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Span } from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

/**
 * OpenTelemetry traces of the control plane, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span
 * per HTTP request (continuing a caller's `traceparent`), spans for publishing a config version
 * and pushing it to each gateway, W3C `traceparent` on each push (the gateway continues it, see
 * gateway/tracing.ts), and the trace id on the config-change audit events written meanwhile.
 *
 * The SDK is registered globally (tracer provider, AsyncLocalStorage context, W3C propagator), as
 * the OpenTelemetry API expects: the route handlers Next.js bundles hold their own copy of this
 * module and of the API, and both find the one provider through the API's global registry. Next.js
 * then adds its own spans (it instruments itself when a provider is registered) under ours.
 *
 * Off, every helper here checks one global flag and calls straight through: no span, context or
 * header is made, and the SDK is never loaded.
 */

const FLAG = Symbol.for("portico.control-plane.tracing");
const TRACER = "portico-control-plane";

type GlobalFlag = { [FLAG]?: boolean };

export const isTracingOn = (): boolean => (globalThis as GlobalFlag)[FLAG] === true;

export type ControlPlaneTracing = { shutdown(): Promise<void> };

/**
 * Starts the SDK when an endpoint is set (or, in tests, an exporter is given); null otherwise.
 * Exports over OTLP/HTTP to `<endpoint>/v1/traces`, batched off the request path.
 */
export async function startControlPlaneTracing(options: { endpoint: string | undefined; serviceName?: string; exporter?: SpanExporter }): Promise<ControlPlaneTracing | null> {
  if (!options.endpoint && !options.exporter) return null;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { W3CTraceContextPropagator }, { AsyncLocalStorageContextManager }] = await Promise.all([
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/core"),
    import("@opentelemetry/context-async-hooks"),
  ]);
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: `${options.endpoint!.replace(/\/+$/, "")}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName ?? "portico-control-plane" }),
    // A full queue drops spans rather than holding requests.
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500, maxQueueSize: 4096 })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  (globalThis as GlobalFlag)[FLAG] = true;
  return {
    async shutdown() {
      (globalThis as GlobalFlag)[FLAG] = false;
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

// Ids in paths (cuids, uuids, numbers, tokens) become `{id}`, so span names stay a small set.
const ID_SEGMENT = /^(\d+|c[a-z0-9]{20,}|[0-9a-f]{8}-[0-9a-f-]{27}|[A-Za-z0-9_-]{24,})$/;

export function routeOf(path: string): string {
  return path
    .split("/")
    .map((segment) => (ID_SEGMENT.test(segment) ? "{id}" : segment))
    .join("/");
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A SERVER span per HTTP request (server.ts), continuing the caller's `traceparent`, active while
 * the request is handled so publishes, pushes and Next.js's own spans nest under it. Static assets
 * are not traced. Off, the handler is returned as it is.
 */
export function traceHttpRequests(handler: Handler): Handler {
  if (!isTracingOn()) return handler;
  const tracer = trace.getTracer(TRACER);
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path.startsWith("/_next/")) return handler(req, res);
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const method = req.method ?? "GET";
    const span = tracer.startSpan(`${method} ${routeOf(path)}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": routeOf(path) } }, parent);
    res.once("close", () => {
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => handler(req, res));
  };
}

/** Runs `work` in a child span of the active one; an exception marks the span failed and is rethrown. */
export async function withSpan<T>(name: string, attributes: Attributes, work: (span: Span | null) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  if (!isTracingOn()) return work(null);
  return trace.getTracer(TRACER).startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds the active span's `traceparent` (and `tracestate`) to outgoing headers; as given when off. */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (isTracingOn()) propagation.inject(context.active(), headers);
  return headers;
}

/** The active trace's id, for the audit event written meanwhile; undefined when off or outside a trace. */
export function currentTraceId(): string | undefined {
  if (!isTracingOn()) return undefined;
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}
