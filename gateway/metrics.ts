import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type GatewayMetrics = ReturnType<typeof createMetrics>;

/** The request path's stages, in order (gateway/pipeline.ts). */
export const STAGES = ["admit", "authenticate", "parse", "resolve", "decide", "inspect_request", "forward", "inspect_response", "audit"] as const;
export type StageName = (typeof STAGES)[number];

/** Records how long one stage took, in milliseconds from performance.now(). */
export type StageTimer = (stage: StageName, ms: number) => void;

/**
 * One registry per gateway instance (tests run several in one process). Label values are bounded:
 * portal slugs come from the snapshot, methods are mapped to a fixed set, outcomes are an enum.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "portico_gateway_" });

  let spoolDepth: () => number = () => 0;

  const metrics = {
    registry,
    requests: new Counter({
      name: "portico_gateway_requests_total",
      help: "MCP requests by portal, JSON-RPC method and outcome",
      labelNames: ["portal", "method", "outcome"] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: "portico_gateway_request_duration_seconds",
      help: "Time from receiving an MCP request to answering it",
      labelNames: ["portal", "method"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: "portico_gateway_upstream_errors_total",
      help: "Failed calls to upstream MCP servers by server and kind",
      labelNames: ["server", "kind"] as const,
      registers: [registry],
    }),
    configVersion: new Gauge({
      name: "portico_gateway_config_version",
      help: "Version of the config snapshot being served (-1 before the first one)",
      registers: [registry],
    }),
    sessions: new Gauge({
      name: "portico_gateway_sessions",
      help: "Open legacy-era MCP sessions",
      registers: [registry],
    }),
    spoolDepthGauge: new Gauge({
      name: "portico_gateway_audit_spool_depth",
      help: "Audit events written to the disk spool and not yet delivered",
      registers: [registry],
      collect() {
        try {
          this.set(spoolDepth());
        } catch {
          this.set(-1);
        }
      },
    }),
    stageSeconds: new Histogram({
      name: "portico_gateway_stage_seconds",
      help: "Time spent in each stage of the gateway's request path (forward includes the upstream's answer)",
      labelNames: ["stage"] as const,
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
      registers: [registry],
    }),
    /** Wire the audit spool's depth into the gauge; read on every scrape. */
    setSpoolDepthSource(fn: () => number) {
      spoolDepth = fn;
    },
  };
  metrics.configVersion.set(-1);
  // Children bound once: observing through a label object costs a hash per call on the hot path.
  const stageChildren = new Map(STAGES.map((stage) => [stage, metrics.stageSeconds.labels({ stage })]));
  const timeStage: StageTimer = (stage, ms) => stageChildren.get(stage)!.observe(ms / 1000);
  // Likewise for the per-request counters: prom-client sorts and joins the label names on every
  // call given an object. Labels are bounded (portal slugs, a fixed method set, an enum).
  const requestChildren = new Map<string, ReturnType<typeof metrics.requests.labels>>();
  const latencyChildren = new Map<string, ReturnType<typeof metrics.latency.labels>>();
  function countRequest(portal: string, method: string, outcome: string) {
    const key = `${portal}\n${method}\n${outcome}`;
    let child = requestChildren.get(key);
    if (!child) requestChildren.set(key, (child = metrics.requests.labels({ portal, method, outcome })));
    child.inc();
  }
  function observeLatency(portal: string, method: string, seconds: number) {
    const key = `${portal}\n${method}`;
    let child = latencyChildren.get(key);
    if (!child) latencyChildren.set(key, (child = metrics.latency.labels({ portal, method })));
    child.observe(seconds);
  }
  return { ...metrics, timeStage, countRequest, observeLatency };
}

const KNOWN_METHODS = new Set([
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "resources/subscribe",
  "resources/unsubscribe",
  "completion/complete",
  "logging/setLevel",
]);

/** Keeps metric label cardinality bounded whatever method names clients send. */
export function methodLabel(method: string | undefined): string {
  if (!method) return "none";
  if (KNOWN_METHODS.has(method)) return method;
  return method.startsWith("notifications/") ? "notification" : "other";
}
