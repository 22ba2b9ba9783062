import { randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import { protectedResourceMetadata } from "./auth";
import type { ApplyOutcome } from "./config-store";
import { newRequestContext } from "./exchange";
import type { TrustedProxies } from "@/lib/client-address";
import { clientIp, headerValue, isJsonContentType, MAX_CONFIG_BODY_BYTES, readBody, sendJson, sendJsonRpcError } from "./http-util";
import { describeError, log } from "./log";
import { methodLabel, type GatewayMetrics } from "./metrics";
import type { Pipeline } from "./pipeline";
import type { GatewayState } from "./portal-index";

export type GatewayHttpOptions = {
  gatewayUrl: string;
  controlPlaneUrl: string;
  gatewayToken: string | undefined;
  allowedOrigins: string[];
  /** Proxies whose X-Forwarded-For entry names the client; none trusted when absent. */
  trustedProxies?: TrustedProxies;
  getState: () => GatewayState | null;
  /** `headers`: the push's, for a tracer to continue the control plane's trace. */
  acceptConfig: (body: unknown, headers: IncomingMessage["headers"]) => Promise<ApplyOutcome>;
  /** Re-queues the audit spool's dead letters; absent when this gateway has no spool. */
  replayDeadLetters?: () => Promise<number>;
  pipeline: Pipeline;
  metrics: GatewayMetrics;
};

const SLUG = "[A-Za-z0-9][A-Za-z0-9_-]{0,127}";
const MCP_PATH = new RegExp(`^/mcp/(${SLUG})/?$`);
const METADATA_PATHS = [new RegExp(`^/\\.well-known/oauth-protected-resource/mcp/(${SLUG})/?$`), new RegExp(`^/mcp/(${SLUG})/\\.well-known/oauth-protected-resource/?$`)];
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The gateway's HTTP surface on node:http: MCP at `/mcp/<slug>` (the request path: pipeline.ts),
 * RFC 9728 metadata, the config push endpoint, health and metrics.
 */
export function createGatewayHttpServer(options: GatewayHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { metrics } = options;

  const tokenBuffer = options.gatewayToken ? Buffer.from(options.gatewayToken) : null;
  function isGatewayToken(req: IncomingMessage): boolean {
    if (!tokenBuffer) return false;
    const match = /^Bearer (.+)$/i.exec(headerValue(req, "authorization") ?? "");
    const given = Buffer.from(match?.[1] ?? "");
    return given.length === tokenBuffer.length && timingSafeEqual(given, tokenBuffer);
  }

  async function handleConfigPush(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== "POST") return sendJson(res, 405, { error: "method not allowed" }, { allow: "POST" });
    if (!tokenBuffer) return sendJson(res, 503, { error: "the gateway token is not configured" });
    if (!isGatewayToken(req)) return sendJson(res, 401, { error: "a valid gateway token is required" }, { "www-authenticate": "Bearer" });
    if (!isJsonContentType(headerValue(req, "content-type"))) return sendJson(res, 415, { error: "content-type must be application/json" });
    const body = await readBody(req, MAX_CONFIG_BODY_BYTES);
    if (!body.ok) return sendJson(res, body.reason === "too_large" ? 413 : 400, { error: body.reason === "too_large" ? "body too large" : "request aborted" });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return sendJson(res, 422, { error: "body is not JSON", runningVersion: options.getState()?.version ?? null });
    }
    const outcome = await options.acceptConfig(parsed, req.headers);
    if (outcome.status === 200) return sendJson(res, 200, { runningVersion: outcome.runningVersion });
    return sendJson(res, outcome.status, { error: outcome.reason, runningVersion: outcome.runningVersion });
  }

  /** The control plane relays an admin's "replay" here, with the shared gateway token. */
  async function handleReplayDeadLetters(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== "POST") return sendJson(res, 405, { error: "method not allowed" }, { allow: "POST" });
    if (!tokenBuffer) return sendJson(res, 503, { error: "the gateway token is not configured" });
    if (!isGatewayToken(req)) return sendJson(res, 401, { error: "a valid gateway token is required" }, { "www-authenticate": "Bearer" });
    if (!options.replayDeadLetters) return sendJson(res, 404, { error: "this gateway has no audit spool" });
    req.resume();
    try {
      return sendJson(res, 200, { replayed: await options.replayDeadLetters() });
    } catch (error) {
      log("error", "replaying dead letters failed", describeError(error));
      return sendJson(res, 500, { error: "replaying the dead letters failed; see the gateway's log" });
    }
  }

  function handleMetadata(req: IncomingMessage, res: ServerResponse, slug: string) {
    const headers = { "access-control-allow-origin": "*", "cache-control": "public, max-age=300" };
    if (req.method === "OPTIONS") {
      res.writeHead(204, { ...headers, "access-control-allow-methods": "GET", "access-control-allow-headers": "mcp-protocol-version" });
      return res.end();
    }
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: "method not allowed" }, { allow: "GET" });
    const state = options.getState();
    if (!state?.portals.has(slug)) return sendJson(res, 404, { error: "unknown portal" }, { "access-control-allow-origin": "*" });
    return sendJson(res, 200, protectedResourceMetadata({ gatewayUrl: options.gatewayUrl, controlPlaneUrl: options.controlPlaneUrl, slug }), headers);
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q === -1 ? url : url.slice(0, q);

    const mcpMatch = MCP_PATH.exec(pathname);
    if (mcpMatch) {
      const incoming = headerValue(req, "x-request-id");
      const ctx = newRequestContext(incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID(), clientIp(req, options.trustedProxies));
      res.setHeader("x-request-id", ctx.requestId);
      const slug = mcpMatch[1]!;
      res.once("finish", () => {
        // Unknown slugs share one label value: the path is the client's to choose.
        if (res.statusCode >= 400) metrics.observeLatency(options.getState()?.portals.has(slug) ? slug : "unknown", methodLabel(undefined), (performance.now() - ctx.startedAt) / 1000);
      });
      return options.pipeline.handle(req, res, slug, ctx);
    }
    for (const pattern of METADATA_PATHS) {
      const match = pattern.exec(pathname);
      if (match) return handleMetadata(req, res, match[1]!);
    }
    switch (pathname) {
      case "/healthz":
        return sendJson(res, 200, { status: "ok" });
      case "/readyz": {
        const state = options.getState();
        return state ? sendJson(res, 200, { status: "ready", configVersion: state.version }) : sendJson(res, 503, { status: "no configuration yet" });
      }
      case "/metrics": {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        return res.end(text);
      }
      case "/internal/config":
        return handleConfigPush(req, res);
      case "/internal/audit/replay-dead-letters":
        return handleReplayDeadLetters(req, res);
      default:
        return sendJson(res, 404, { error: "not found" });
    }
  }

  return (req, res) => {
    route(req, res).catch((error: unknown) => {
      log("error", "request failed", { path: (req.url ?? "").split("?")[0], ...describeError(error) });
      if (!res.headersSent) sendJsonRpcError(res, 500, ErrorCode.InternalError, "Internal error.");
      else res.end();
    });
  };
}

export function configureHttpServer(server: HttpServer): HttpServer {
  // Long-lived GET streams are normal for MCP; Node's default request timeout would cut them.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

export async function listen(server: HttpServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
