import { AsyncLocalStorage } from "node:async_hooks";

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";

import type { Answer } from "./answer";
import type { Call } from "./exchange";
import type { Response } from "./stages/audit";
import type { Notify } from "./stages/forward";
import { setUpstreamTrace } from "./trace-hook";

/**
 * OpenTelemetry traces of the gateway, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span per
 * MCP request (portal, tool, decision), a child span per upstream POST, W3C `traceparent` sent
 * upstream, and the trace id on the audit event. A client's `traceparent` is continued: its trace
 * goes on through the gateway to the upstream. A config push from the control plane is a span in
 * the control plane's trace (`traceparent` on the push). Off, the pipeline uses its functions unwrapped
 * (see pipeline.ts): not one span object, context lookup or header is made.
 */

type Run = (call: Call, signal: AbortSignal, notify?: Notify) => Promise<Answer>;
type Finish = (call: Call, response: Response | null) => void;

export type GatewayTracing = {
  /** Runs a call's stages inside its span (the span ends in `finish`). */
  wrapRun(run: Run): Run;
  /** Ends the call's span with what the audit records, then audits (with `data.traceId`). */
  wrapFinish(finish: Finish): Finish;
  /** Applies a pushed config version inside a span continuing the control plane's trace. */
  traceConfigPush<T extends { status: number }>(headers: Record<string, string | string[] | undefined>, apply: () => Promise<T>): Promise<T>;
  shutdown(): Promise<void>;
};

/** Null when no endpoint is set: the gateway then runs with no tracing code on its path at all. */
export function createTracing(options: { endpoint: string | undefined; serviceName?: string; exporter?: SpanExporter }): GatewayTracing | null {
  if (!options.endpoint && !options.exporter) return null;
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: `${options.endpoint!.replace(/\/+$/, "")}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName ?? "portico-gateway" }),
    // Batched off the request path; a full queue drops spans rather than holding requests.
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500, maxQueueSize: 4096 })],
  });
  const tracer: Tracer = provider.getTracer("portico-gateway");
  const propagator = new W3CTraceContextPropagator();
  const spans = new WeakMap<Call, Span>();
  const active = new AsyncLocalStorage<Span>();

  setUpstreamTrace((url, headers) => {
    const parent = active.getStore();
    if (!parent) return null;
    const span = tracer.startSpan(`POST ${url.host}`, { kind: SpanKind.CLIENT, attributes: { "http.request.method": "POST", "url.full": `${url.origin}${url.pathname}` } }, trace.setSpan(ROOT_CONTEXT, parent));
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    return (outcome) => {
      if (outcome instanceof Error) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
      else {
        span.setAttribute("http.response.status_code", outcome);
        if (outcome >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
  });

  /** The client's trace, when it sent a valid `traceparent`; a malformed one starts a new trace. */
  function clientContext(ctx: Call["ctx"]): Context {
    if (!ctx.traceparent) return ROOT_CONTEXT;
    return propagator.extract(ROOT_CONTEXT, ctx.tracestate ? { traceparent: ctx.traceparent, tracestate: ctx.tracestate } : { traceparent: ctx.traceparent }, defaultTextMapGetter);
  }

  return {
    wrapRun: (run) => (call, signal, notify) => {
      const span = tracer.startSpan(`mcp ${call.method}`, { kind: SpanKind.SERVER, attributes: { "mcp.method.name": call.method, "portico.portal": call.caller.portalSlug } }, clientContext(call.ctx));
      spans.set(call, span);
      call.traceId = span.spanContext().traceId;
      return active.run(span, () => run(call, signal, notify));
    },
    wrapFinish: (finish) => (call, response) => {
      const span = spans.get(call);
      if (span) {
        spans.delete(call);
        span.setAttributes({
          "portico.decision": call.outcome,
          ...(call.exposedName ? { "portico.tool": call.exposedName } : {}),
          ...(call.server ? { "portico.server": call.server } : {}),
          ...(call.upstreamOutcome ? { "portico.upstream_outcome": call.upstreamOutcome } : {}),
        });
        if (call.outcome === "deny") span.setAttribute("portico.reasons", call.reasons.join("; "));
        if (response?.error) span.setStatus({ code: SpanStatusCode.ERROR, message: response.error.message });
        span.end();
      }
      finish(call, response);
    },
    traceConfigPush: async (headers, apply) => {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = tracer.startSpan("config.apply", { kind: SpanKind.SERVER, attributes: { "http.request.method": "POST", "url.path": "/internal/config" } }, parent);
      try {
        const outcome = await apply();
        span.setAttribute("http.response.status_code", outcome.status);
        if ("runningVersion" in outcome && typeof outcome.runningVersion === "number") span.setAttribute("portico.config_version", outcome.runningVersion);
        if (outcome.status >= 400 && outcome.status !== 409) span.setStatus({ code: SpanStatusCode.ERROR });
        return outcome;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
    async shutdown() {
      setUpstreamTrace(null);
      await provider.shutdown();
    },
  };
}
