import net from "node:net";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";

import path from "node:path";

import { openSealedCredential } from "@/lib/config/sealed-credential";

import { createTokenVerifier, type TokenVerifier } from "./auth";
import type { EmitAuditEvent } from "./audit";
import type { DeadLetterStatus } from "./audit-spool";
import { createConfigStore, type ConfigStore, type VerifySignedSnapshot } from "./config-store";
import type { GatewayEnv } from "./env";
import { describeError, log } from "./log";
import { createPipeline, type Pipeline } from "./pipeline";
import { createMetrics, type GatewayMetrics } from "./metrics";
import type { GatewayState } from "./portal-index";
import { DEFAULT_MAX_BODY_BYTES } from "./http-util";
import { deriveRequestStateKey } from "./request-state";
import { createGatewayHttpServer, configureHttpServer, listen } from "./server";
import { createUpstreamPool, type OpenSealed, type UpstreamPool } from "./upstreams";
import type { GatewayTracing } from "./tracing";

export type GatewayDeps<S> = {
  /** Signature + schema check of a signed snapshot. */
  verifySnapshot: VerifySignedSnapshot<S>;
  versionOf: (snapshot: S) => number;
  /** Indexes a verified snapshot for the request path. */
  buildState: (snapshot: S, gatewayUrl: string, previous: GatewayState | null) => GatewayState;
  emit: EmitAuditEvent;
  openSealed?: OpenSealed;
  spoolDepth?: () => number;
  /** The audit spool's dead letters, reported with each heartbeat (the Gateways page shows them). */
  deadLetters?: () => DeadLetterStatus;
  /** Re-queues the dead letters, when an admin asks through the control plane. */
  replayDeadLetters?: () => Promise<number>;
  defaultMetrics?: boolean;
  /** Tests listen on port 0: take the public URL from the bound port instead of the environment. */
  urlFromBoundPort?: boolean;
  /** OpenTelemetry traces (gateway/tracing.ts), when an OTLP endpoint is configured. */
  tracing?: GatewayTracing | null;
};

export type Gateway<S> = {
  url: string;
  /** The public base URL portals are named under (`${publicUrl}/mcp/<slug>`). */
  publicUrl: string;
  port: number;
  http: HttpServer;
  store: ConfigStore<S>;
  pipeline: Pipeline;
  metrics: GatewayMetrics;
  upstreams: UpstreamPool;
  verifier: TokenVerifier;
  state(): GatewayState | null;
  close(): Promise<void>;
};

/** How long a stopping gateway waits for the requests in flight. */
const DRAIN_MS = 3_000;
/** How long a stopping gateway keeps its idle keep-alive connections for a balancer to use up. */
const LINGER_MS = 1_000;

/**
 * Requests in flight, for a graceful stop: once draining, every answer closes its connection, so
 * a balancer's pooled connections end one by one instead of being cut mid-request. Streams (GET,
 * `subscriptions/listen`) are not waited for: they end when the sessions close.
 */
function createDrain() {
  const posts = new Set<ServerResponse>();
  let isDraining = false;
  let check: (() => void) | null = null;
  const isStream = (res: ServerResponse) => String(res.getHeader("content-type") ?? "").startsWith("text/event-stream");
  return {
    track(req: IncomingMessage, res: ServerResponse, next: (req: IncomingMessage, res: ServerResponse) => void) {
      if (isDraining) res.setHeader("connection", "close");
      if (req.method === "POST") {
        posts.add(res);
        res.once("close", () => {
          posts.delete(res);
          check?.();
        });
      }
      next(req, res);
    },
    /** Resolves once no answer but streams is pending, or after `timeoutMs`. */
    settled(timeoutMs: number): Promise<void> {
      isDraining = true;
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        check = () => {
          if ([...posts].some((res) => !isStream(res))) return;
          clearTimeout(timer);
          resolve();
        };
        check();
      });
    },
  };
}

/**
 * Wires the gateway: config store → indexed state → HTTP + MCP. Listening starts only after the
 * last good snapshot on disk was loaded, so a restart serves at once; pulling the latest from the
 * control plane continues in the background.
 */
export async function startGateway<S>(baseEnv: GatewayEnv, deps: GatewayDeps<S>): Promise<Gateway<S>> {
  // Bound first so port 0 works; until wired, it answers 503 (a few milliseconds at most).
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
    res.end(JSON.stringify({ error: "starting" }));
  };
  const drain = createDrain();
  const http = configureHttpServer(createServer((req, res) => drain.track(req, res, handler)));
  const port = await listen(http, baseEnv.port, baseEnv.host);
  const url = `http://${baseEnv.host.includes(":") ? `[${baseEnv.host}]` : baseEnv.host}:${port}`;
  const env: GatewayEnv = deps.urlFromBoundPort ? { ...baseEnv, gatewayUrl: url } : baseEnv;

  const metrics = createMetrics({ defaultMetrics: deps.defaultMetrics });
  if (deps.spoolDepth) metrics.setSpoolDepthSource(deps.spoolDepth);
  let state: GatewayState | null = null;

  const store = createConfigStore<S>({
    controlPlaneUrl: env.controlPlaneUrl,
    gatewayToken: env.gatewayToken,
    gatewayName: env.gatewayName,
    gatewayUrl: env.advertiseUrl ?? env.gatewayUrl,
    dataDir: env.dataDir,
    verify: deps.verifySnapshot,
    versionOf: deps.versionOf,
    report: deps.deadLetters ? () => ({ deadLetters: deps.deadLetters!() }) : undefined,
  });
  const key = env.credentialKey;
  const openSealed = deps.openSealed ?? (key ? (sealed: string) => openSealedCredential(sealed, key) : undefined);
  const upstreams = createUpstreamPool({ openSealed, defaultTimeoutMs: env.upstreamTimeoutMs, maxSockets: env.upstreamMaxSockets });
  const verifier = createTokenVerifier({
    controlPlaneUrl: env.controlPlaneUrl,
    cacheFile: path.join(env.dataDir, "oauth-jwks.json"),
    // The running config's revocations: a new version replaces the index with the state, at once.
    isRevoked: (identity, now) => state?.revocations.check(identity, now) ?? null,
  });
  const pipeline = createPipeline({
    getState: () => state,
    upstreams,
    verifier,
    emit: deps.emit,
    gatewayName: env.gatewayName,
    metrics,
    gatewayUrl: env.gatewayUrl,
    controlPlaneUrl: env.controlPlaneUrl,
    allowedOrigins: env.allowedOrigins,
    maxBodyBytes: env.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    upstreamTimeoutMs: env.upstreamTimeoutMs,
    sessionIdPrefix: env.sessionRoute ? `${env.sessionRoute}.` : undefined,
    sessionIdleMs: env.sessionIdleMs,
    detachedIdleMs: env.detachedIdleMs,
    maxSessions: env.maxSessions,
    tracing: deps.tracing,
    requestStateKey: key ? deriveRequestStateKey(key) : undefined,
  });

  store.onChange((next) => {
    const previous = state;
    try {
      // Built completely before the one assignment that publishes it: requests see old or new, never half.
      state = deps.buildState(next.snapshot, env.gatewayUrl, previous);
    } catch (error) {
      log("error", "could not index the config snapshot; keeping the previous one", { version: next.version, ...describeError(error) });
      return;
    }
    metrics.configVersion.set(state.version);
    upstreams.retain(state.allUpstreams());
    pipeline.onConfigChange(state, previous);
  });

  const app = createGatewayHttpServer({
    gatewayUrl: env.gatewayUrl,
    controlPlaneUrl: env.controlPlaneUrl,
    gatewayToken: env.gatewayToken,
    allowedOrigins: env.allowedOrigins,
    trustedProxies: env.trustedProxies,
    getState: () => state,
    acceptConfig: deps.tracing ? (body, headers) => deps.tracing!.traceConfigPush(headers, () => store.accept(body)) : (body) => store.accept(body),
    replayDeadLetters: deps.replayDeadLetters,
    pipeline,
    metrics,
  });

  await store.start();
  handler = app;
  log("info", "gateway listening", { url, publicUrl: env.gatewayUrl, configVersion: store.current()?.version ?? null, name: env.gatewayName });

  let closing: Promise<void> | undefined;
  return {
    url,
    publicUrl: env.gatewayUrl,
    port,
    http,
    store,
    pipeline,
    metrics,
    upstreams,
    verifier,
    state: () => state,
    close() {
      closing ??= (async () => {
        store.close();
        verifier.close();
        // Behind a load balancer: take no new connections (the balancer sends those elsewhere),
        // and let the calls in flight finish before the sessions and connections are cut. Not
        // http.close(): it also drops idle keep-alive connections at once, and a balancer that
        // had just written a POST on one answers its client 502 (it cannot retry a POST it sent).
        // Kept, they serve what comes on them with `Connection: close`, and so close themselves.
        const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(http, () => resolve()));
        await drain.settled(DRAIN_MS);
        const open = await new Promise<number>((resolve) => http.getConnections((error, count) => resolve(error ? 0 : count)));
        if (open > 0) await new Promise((resolve) => setTimeout(resolve, LINGER_MS).unref());
        await drain.settled(DRAIN_MS);
        await pipeline.close();
        http.closeAllConnections();
        await closed;
        await upstreams.close();
        // Spans of the last requests are exported before the process goes.
        await deps.tracing?.shutdown().catch((error: unknown) => log("warn", "flushing traces failed", describeError(error)));
      })();
      return closing;
    },
  };
}
