import { ErrorCode, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";

import type { JsonRpcMessage } from "./http-util";

/**
 * The wire rules of MCP 2026-07-28, the stateless revision: no `initialize`, no session; every
 * request names its protocol version and the client's capabilities in `params._meta`, the HTTP
 * `MCP-Protocol-Version` header agrees with it, and results say `resultType`. Pure functions:
 * mcp.ts runs the requests through the same handlers as the legacy era.
 */

export const MODERN_PROTOCOL_VERSIONS = ["2026-07-28"] as const;

/** Legacy revisions the gateway still serves through `initialize` and sessions. */
export const LEGACY_PROTOCOL_VERSIONS = SUPPORTED_PROTOCOL_VERSIONS.filter((v) => v >= "2025-03-26");

export const META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion";
export const META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";
export const META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo";
export const META_SERVER_INFO = "io.modelcontextprotocol/serverInfo";

/** JSON-RPC error for a protocol version the server does not speak (2026-07-28). */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** JSON-RPC error for standard headers that are missing, malformed or disagree with the body (2026-07-28). */
export const HEADER_MISMATCH = -32020;

/**
 * Methods 2026-07-28 removed (sessions, ping, per-session log level and subscriptions): a
 * stateless request for one is answered 404, as for a method the server never had.
 */
export const REMOVED_METHODS = new Set(["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"]);

/** What a portal answers in 2026-07-28; any other method is 404, as the revision requires. */
export const MODERN_METHODS = new Set([
  "server/discover",
  "subscriptions/listen",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
]);

/** Results a client may cache; the gateway's depend on the caller and on live config, so: never. */
const CACHEABLE_METHODS = new Set(["server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);

/** Whether a revision identifier belongs to the stateless era (dates sort as strings). */
export const isModernVersion = (version: string) => /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= MODERN_PROTOCOL_VERSIONS[0];

function metaOf(message: JsonRpcMessage): Record<string, unknown> | undefined {
  const params = message.params;
  if (!params || typeof params !== "object" || Array.isArray(params)) return undefined;
  const meta = (params as { _meta?: unknown })._meta;
  return meta && typeof meta === "object" && !Array.isArray(meta) ? (meta as Record<string, unknown>) : undefined;
}

/**
 * Which era a POST is in. Stateless when the header names a 2026-07-28+ revision, or when a
 * message names in `_meta` a version that is not one of the legacy ones (an unknown version is
 * answered by the stateless rules, with the list of versions the gateway speaks). Anything else,
 * `initialize` first of all, is the legacy era.
 */
export function isModernPost(headerVersion: string | undefined, messages: JsonRpcMessage[]): boolean {
  if (headerVersion !== undefined && isModernVersion(headerVersion)) return true;
  return messages.some((m) => {
    if (m.method === "initialize") return false;
    const version = metaOf(m)?.[META_PROTOCOL_VERSION];
    return version !== undefined && !(typeof version === "string" && (LEGACY_PROTOCOL_VERSIONS as string[]).includes(version));
  });
}

export type ClientInfo = { name: string | null; version: string | null };

export type ModernCheck =
  | { ok: true; version: string; client: ClientInfo }
  | { ok: false; status: number; code: number; message: string; reason: string; data?: unknown };

/** The per-request envelope of a stateless message: its version, the header's, the client's capabilities. */
export function checkModernMessage(headerVersion: string | undefined, message: JsonRpcMessage): ModernCheck {
  const meta = metaOf(message);
  const version = meta?.[META_PROTOCOL_VERSION];
  if (typeof version !== "string" || version === "") {
    return { ok: false, status: 400, code: ErrorCode.InvalidParams, message: `Invalid params: _meta["${META_PROTOCOL_VERSION}"] is required in protocol version ${MODERN_PROTOCOL_VERSIONS[0]}.`, reason: "no protocol version in _meta" };
  }
  // A header that disagrees with _meta is a mismatch whatever either names (the suite's
  // sep-2575-http-server-header-mismatch-400 sends an unknown _meta version under a good header).
  if (headerVersion !== undefined && headerVersion !== version) {
    return { ok: false, status: 400, code: HEADER_MISMATCH, message: `Header mismatch: the MCP-Protocol-Version header (${headerVersion.slice(0, 64)}) does not match _meta (${version.slice(0, 64)}).`, reason: "protocol version header mismatch" };
  }
  if (!(MODERN_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
    return {
      ok: false,
      status: 400,
      code: UNSUPPORTED_PROTOCOL_VERSION,
      message: "Unsupported protocol version.",
      reason: "unsupported protocol version",
      data: { supported: [...MODERN_PROTOCOL_VERSIONS, ...LEGACY_PROTOCOL_VERSIONS], requested: version.slice(0, 64) },
    };
  }
  const isRequestMessage = message.id !== undefined;
  const capabilities = meta?.[META_CLIENT_CAPABILITIES];
  if (isRequestMessage && (!capabilities || typeof capabilities !== "object" || Array.isArray(capabilities))) {
    return { ok: false, status: 400, code: ErrorCode.InvalidParams, message: `Invalid params: _meta["${META_CLIENT_CAPABILITIES}"] must be an object.`, reason: "no client capabilities in _meta" };
  }
  const info = meta?.[META_CLIENT_INFO] as { name?: unknown; version?: unknown } | undefined;
  return {
    ok: true,
    version,
    client: {
      name: typeof info?.name === "string" ? info.name.slice(0, 200) : null,
      version: typeof info?.version === "string" ? info.version.slice(0, 100) : null,
    },
  };
}

/** A handler's result as the 2026-07-28 wire wants it: complete, not cacheable, signed by the server. */
export function modernResult(method: string, result: Record<string, unknown>, serverInfo: { name: string; version: string }): Record<string, unknown> {
  const meta = result._meta && typeof result._meta === "object" ? (result._meta as Record<string, unknown>) : {};
  return {
    ...result,
    resultType: "complete",
    ...(CACHEABLE_METHODS.has(method) ? { ttlMs: 0, cacheScope: "private" } : {}),
    _meta: { ...meta, [META_SERVER_INFO]: serverInfo },
  };
}

/** `server/discover`: what a stateless client learns before (or instead of) anything else. */
export function discoverResult(instructions: string) {
  return {
    // Every version it speaks, as its -32022 error lists them: legacy ones through initialize.
    supportedVersions: [...MODERN_PROTOCOL_VERSIONS, ...LEGACY_PROTOCOL_VERSIONS],
    // listChanged: delivered on subscriptions/listen streams.
    capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
    instructions,
  };
}

/**
 * The standard headers of a 2026-07-28 request (SEP-2243): `MCP-Protocol-Version` and `Mcp-Method`
 * on every request, `Mcp-Name` for the methods that name a tool, prompt, resource or task. They
 * exist so that proxies and load balancers can route and rate-limit without reading the body, so a
 * gateway that let them disagree with the body would be a confused deputy: 400 / -32020.
 */
export type StandardHeaders = { protocolVersion?: string; method?: string; name?: string };

/** Which `params` field `Mcp-Name` mirrors, per method. */
const MCP_NAME_SOURCE: Record<string, string> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
  "tasks/get": "taskId",
  "tasks/update": "taskId",
  "tasks/cancel": "taskId",
};

const BASE64_SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;
const PLAIN_HEADER_VALUE = /^[\x20-\x7e]*$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A header value as the body would hold it: plain visible ASCII, or `=?base64?…?=` around UTF-8; undefined when neither. */
export function decodeHeaderValue(raw: string): string | undefined {
  const sentinel = BASE64_SENTINEL.exec(raw);
  if (sentinel) {
    if (sentinel[1]!.length % 4 !== 0) return undefined;
    try {
      return utf8.decode(Buffer.from(sentinel[1]!, "base64"));
    } catch {
      return undefined;
    }
  }
  if (raw.startsWith("=?base64?")) return undefined;
  return PLAIN_HEADER_VALUE.test(raw) ? raw : undefined;
}

type HeaderRefusal = Extract<ModernCheck, { ok: false }>;

const mismatch = (message: string, reason: string): HeaderRefusal => ({ ok: false, status: 400, code: HEADER_MISMATCH, message: `Header mismatch: ${message}`, reason });

/** Why a stateless request's standard headers are refused, or undefined when they match its body. Notifications are exempt. */
export function checkStandardHeaders(headers: StandardHeaders, message: JsonRpcMessage): HeaderRefusal | undefined {
  if (message.id === undefined || typeof message.method !== "string") return undefined;
  if (headers.protocolVersion === undefined) return mismatch("the MCP-Protocol-Version header is required.", "protocol version header missing");
  if (headers.method === undefined) return mismatch("the Mcp-Method header is required.", "method header missing");
  if (headers.method !== message.method) return mismatch(`the Mcp-Method header does not match the request's method (${message.method.slice(0, 64)}).`, "method header mismatch");
  const field = MCP_NAME_SOURCE[message.method];
  const params = message.params && typeof message.params === "object" && !Array.isArray(message.params) ? (message.params as Record<string, unknown>) : {};
  const value = field ? params[field] : undefined;
  if (typeof value !== "string") return undefined;
  if (headers.name === undefined) return mismatch(`the Mcp-Name header is required for ${message.method}.`, "name header missing");
  const decoded = decodeHeaderValue(headers.name);
  if (decoded === undefined) return mismatch("the Mcp-Name header is not a valid header value.", "name header malformed");
  if (decoded !== value) return mismatch(`the Mcp-Name header does not match params.${field}.`, "name header mismatch");
  return undefined;
}
