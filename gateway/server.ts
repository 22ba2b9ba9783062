import { randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import { bearerChallenge, protectedResourceMetadata, type TokenVerifier } from "./auth";
import type { ApplyOutcome } from "./config-store";
import {
  clientIp,
  headerValue,
  isJsonContentType,
  isJsonRpcMessage,
  DEFAULT_MAX_BODY_BYTES,
  exceedsJsonDepth,
  MAX_CONFIG_BODY_BYTES,
  MAX_JSON_DEPTH,
  readBody,
  sendJson,
  sendJsonRpcError,
  type JsonRpcMessage,
} from "./http-util";
import { describeError, log } from "./log";
import type { McpService, RequestContext } from "./mcp";
import { methodLabel, type GatewayMetrics } from "./metrics";
import type { GatewayState } from "./portal-index";

export type GatewayHttpOptions = {
  gatewayUrl: string;
  controlPlaneUrl: string;
  gatewayToken: string | undefined;
  allowedOrigins: string[];
  getState: () => GatewayState | null;
  acceptConfig: (body: unknown) => Promise<ApplyOutcome>;
  verifier: TokenVerifier;
  mcp: McpService;
  metrics: GatewayMetrics;
  maxBodyBytes?: number;
};

const SLUG = "[A-Za-z0-9][A-Za-z0-9_-]{0,127}";
const MCP_PATH = new RegExp(`^/mcp/(${SLUG})/?$`);
const METADATA_PATHS = [new RegExp(`^/\\.well-known/oauth-protected-resource/mcp/(${SLUG})/?$`), new RegExp(`^/mcp/(${SLUG})/\\.well-known/oauth-protected-resource/?$`)];
const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const CORS_EXPOSE = "mcp-session-id, mcp-protocol-version, www-authenticate, x-request-id";
const CORS_ALLOW_HEADERS = "authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id, x-request-id";

/**
 * The gateway's HTTP surface on node:http: MCP at `/mcp/<slug>`, RFC 9728 metadata, the config
 * push endpoint, health and metrics. Everything a request can be refused for (origin, portal,
 * token, size, shape) is checked here, before an MCP session sees it, and answered with the
 * status and JSON-RPC error the spec prescribes.
 */
export function createGatewayHttpServer(options: GatewayHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const ownOrigin = new URL(options.gatewayUrl).origin;
  const extraOrigins = new Set(options.allowedOrigins.map((o) => o.replace(/\/+$/, "")));
  const { metrics } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  // Browsers send Origin; a page on another site must not drive a user's MCP session (DNS rebinding, CSRF).
  const isOriginAllowed = (origin: string) => origin === ownOrigin || extraOrigins.has(origin) || LOCAL_ORIGIN.test(origin);

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
    const outcome = await options.acceptConfig(parsed);
    if (outcome.status === 200) return sendJson(res, 200, { runningVersion: outcome.runningVersion });
    return sendJson(res, outcome.status, { error: outcome.reason, runningVersion: outcome.runningVersion });
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

  async function handleMcp(req: IncomingMessage, res: ServerResponse, slug: string, ctx: RequestContext) {
    const origin = headerValue(req, "origin");
    if (origin !== undefined) {
      if (!isOriginAllowed(origin)) {
        log("info", "mcp request refused: origin not allowed", { requestId: ctx.requestId, portal: slug });
        metrics.requests.inc({ portal: options.getState()?.portals.has(slug) ? slug : "unknown", method: "none", outcome: "refused" });
        return sendJsonRpcError(res, 403, -32000, "Forbidden: this Origin may not call the gateway.");
      }
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("access-control-expose-headers", CORS_EXPOSE);
      res.setHeader("vary", "Origin");
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "access-control-allow-methods": "GET, POST, DELETE", "access-control-allow-headers": CORS_ALLOW_HEADERS, "access-control-max-age": "600" });
      return res.end();
    }
    if (req.method !== "POST" && req.method !== "GET" && req.method !== "DELETE") {
      return sendJsonRpcError(res, 405, -32000, "Method not allowed.", { headers: { allow: "GET, POST, DELETE" } });
    }
    const state = options.getState();
    if (!state) return sendJsonRpcError(res, 503, -32000, "The gateway has no configuration yet; try again shortly.", { headers: { "retry-after": "5" } });
    const portal = state.portals.get(slug);
    if (!portal) {
      metrics.requests.inc({ portal: "unknown", method: "none", outcome: "refused" });
      return sendJsonRpcError(res, 404, -32000, `Unknown portal "${slug}".`);
    }

    const auth = await options.verifier.verify(headerValue(req, "authorization"), portal.url);
    if (!auth.ok) {
      const headers: Record<string, string> = {};
      if (auth.status === 401 || auth.status === 403) {
        headers["www-authenticate"] = bearerChallenge({
          gatewayUrl: options.gatewayUrl,
          slug,
          error: auth.hadToken || auth.status === 403 ? auth.error : undefined,
          description: auth.hadToken ? auth.reason : undefined,
        });
      } else {
        headers["retry-after"] = "5";
      }
      const message = auth.status === 503 ? "The authorization server's keys are unavailable; try again shortly." : auth.status === 403 ? "Forbidden: the token lacks the required scope." : "Unauthorized: a valid bearer token for this portal is required.";
      const bytes = sendJsonRpcError(res, auth.status, -32000, message, { headers });
      log("info", "mcp request refused", { requestId: ctx.requestId, portal: slug, status: auth.status, reason: auth.reason });
      if (req.method === "POST") {
        options.mcp.auditHttpRequest({ ctx, portal: slug, identity: null, method: "unauthenticated", outcome: "deny", reasons: [auth.reason], status: auth.status, responseBytes: bytes });
      }
      return;
    }
    const identity = auth.identity;

    if (req.method !== "POST") {
      return options.mcp.handle(req, res, { portal, identity, ctx });
    }

    const refuse = (status: number, code: number, message: string, reason: string, method = "invalid") => {
      const bytes = sendJsonRpcError(res, status, code, message, status === 413 ? { headers: { connection: "close" } } : {});
      options.mcp.auditHttpRequest({ ctx, portal: slug, identity, method, outcome: "deny", reasons: [reason], status, sessionId: headerValue(req, "mcp-session-id") ?? null, responseBytes: bytes });
    };

    if (!isJsonContentType(headerValue(req, "content-type"))) {
      return refuse(415, -32000, "Unsupported Media Type: Content-Type must be application/json.", "wrong content type");
    }
    const accept = headerValue(req, "accept") ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return refuse(406, -32000, "Not Acceptable: the client must accept both application/json and text/event-stream.", "wrong accept header");
    }
    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) {
      if (body.reason === "aborted") return;
      return refuse(413, -32000, `Payload Too Large: request bodies are limited to ${maxBodyBytes} bytes.`, "body too large");
    }
    ctx.requestBytes = body.bytes;
    if (exceedsJsonDepth(body.text)) return refuse(400, ErrorCode.ParseError, `Parse error: JSON nested deeper than ${MAX_JSON_DEPTH} levels.`, "JSON nested too deep");
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return refuse(400, ErrorCode.ParseError, "Parse error: the body is not valid JSON.", "malformed JSON");
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (list.length === 0 || list.length > 100 || !list.every(isJsonRpcMessage)) {
      return refuse(400, ErrorCode.InvalidRequest, "Invalid Request: the body is not a JSON-RPC 2.0 message.", "not JSON-RPC");
    }
    ctx.isBatch = Array.isArray(parsed);
    return options.mcp.handle(req, res, { portal, identity, ctx, body: parsed, messages: list as JsonRpcMessage[] });
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q === -1 ? url : url.slice(0, q);

    const mcpMatch = MCP_PATH.exec(pathname);
    if (mcpMatch) {
      const incoming = headerValue(req, "x-request-id");
      const ctx: RequestContext = {
        requestId: incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID(),
        receivedAt: new Date(),
        startedAt: performance.now(),
        sourceIp: clientIp(req),
        requestBytes: 0,
        isBatch: false,
      };
      res.setHeader("x-request-id", ctx.requestId);
      const slug = mcpMatch[1]!;
      res.once("finish", () => {
        if (res.statusCode >= 400) metrics.latency.observe({ portal: slug, method: methodLabel(undefined) }, (performance.now() - ctx.startedAt) / 1000);
      });
      return handleMcp(req, res, slug, ctx);
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
