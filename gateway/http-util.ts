import type { IncomingMessage, ServerResponse } from "node:http";

import { clientAddress, type TrustedProxies } from "@/lib/client-address";

/** MCP request bodies, unless PORTICO_GATEWAY_MAX_BODY_BYTES says otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Signed config pushes: a snapshot of many portals, far above any MCP message. */
export const MAX_CONFIG_BODY_BYTES = 20 * 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  if (res.headersSent) {
    res.end();
    return 0;
  }
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
  return Buffer.byteLength(text);
}

/** A JSON-RPC error answered at the HTTP layer, before any MCP session sees the request. */
export function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  options: { id?: string | number | null; headers?: Record<string, string>; data?: unknown } = {},
): number {
  const error: Record<string, unknown> = { code, message };
  if (options.data !== undefined) error.data = options.data;
  return sendJson(res, status, { jsonrpc: "2.0", error, id: options.id ?? null }, options.headers);
}

export type BodyResult = { ok: true; text: string; bytes: number } | { ok: false; reason: "too_large" | "aborted" };

/** Reads a request body, refusing it past `limit` bytes without buffering the excess. */
export function readBody(req: IncomingMessage, limit = DEFAULT_MAX_BODY_BYTES): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ ok: false, reason: "too_large" });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      bytes += chunk.length;
      if (bytes > limit) {
        done = true;
        chunks.length = 0;
        req.resume();
        resolve({ ok: false, reason: "too_large" });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve({ ok: true, text: buffer.toString("utf8"), bytes });
    });
    req.on("error", () => {
      if (done) return;
      done = true;
      resolve({ ok: false, reason: "aborted" });
    });
    req.on("aborted", () => {
      if (done) return;
      done = true;
      resolve({ ok: false, reason: "aborted" });
    });
  });
}

/**
 * Deepest JSON nesting the gateway parses. An MCP message needs a handful of levels around its
 * arguments; a body nested 100k levels deep holds JSON.parse for some 70 ms on one core, and what
 * parses may still overflow the stack of every recursive walk after it (JSON.stringify for the
 * upstream and the audit event).
 */
export const MAX_JSON_DEPTH = 64;

/** Whether `text` nests arrays and objects deeper than `limit`: one pass over the characters, strings skipped, no parsing. */
export function exceedsJsonDepth(text: string, limit = MAX_JSON_DEPTH): boolean {
  if (text.length <= limit) return false;
  let depth = 0;
  let isInString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isInString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) isInString = false;
    } else if (c === 0x22) {
      isInString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** `application/json`, optionally with parameters (`; charset=utf-8`). */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const type = value.split(";", 1)[0]!.trim().toLowerCase();
  return type === "application/json";
}

export type JsonRpcMessage = {
  jsonrpc: "2.0";
  id?: string | number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
};

const isId = (v: unknown) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v));

/**
 * JSON-RPC 2.0 shape check for one message: a request, a notification or a response (clients
 * answer server requests with responses). MCP forbids null ids.
 */
export function isJsonRpcMessage(value: unknown): value is JsonRpcMessage {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== "2.0") return false;
  if (typeof m.method === "string") {
    if (m.method.length === 0 || m.method.length > 256) return false;
    if ("id" in m && !isId(m.id)) return false;
    if (m.params !== undefined && (m.params === null || typeof m.params !== "object")) return false;
    return true;
  }
  if (!isId(m.id)) return false;
  return ("result" in m) !== ("error" in m);
}

export const isRequest = (m: JsonRpcMessage): m is JsonRpcMessage & { id: string | number; method: string } =>
  typeof m.method === "string" && m.id !== undefined;

/** The caller's address: the socket's, or what the trusted proxies in front say (lib/client-address.ts). */
export function clientIp(req: IncomingMessage, trusted?: TrustedProxies): string | null {
  const address = req.socket.remoteAddress;
  if (!trusted) return address?.startsWith("::ffff:") ? address.slice(7) : (address ?? null);
  const forwarded = req.headers["x-forwarded-for"];
  return clientAddress(address, Array.isArray(forwarded) ? forwarded.join(",") : forwarded, trusted);
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
