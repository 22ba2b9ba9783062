import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { Readable } from "node:stream";

import { createParser } from "eventsource-parser";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  CallToolResultSchema,
  ErrorCode,
  McpError,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CompleteRequest,
  type CompleteResult,
  type CallToolResult,
  type GetPromptResult,
  type Progress,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
  type Tool,
  type ClientCapabilities,
  type LoggingLevel,
  LoggingMessageNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

import type { SnapshotCredential } from "@/lib/config/snapshot";
import { toolDefinitionHash } from "@/lib/config/tool-definition";

import { describeError, log } from "./log";
import { upstreamTrace } from "./trace-hook";

/** What the gateway needs to reach one upstream server, as the snapshot describes it. */
export type UpstreamSpec = {
  slug: string;
  url: string;
  transport: "streamable_http" | "sse";
  credential: UpstreamCredential;
  /** The admin's switches for requests this server may send to clients; absent means allowed. */
  serverRequests?: { sampling: boolean; elicitation: boolean };
  /** The portal's prompt and resource settings for this server (catalog.ts); absent means none. */
  catalog?: CatalogSettings;
};

export type CatalogSetting = { enabled: boolean; alias?: string; description?: string };
export type CatalogSettings = { prompts: Map<string, CatalogSetting>; resources: Map<string, CatalogSetting>; stamp: string };

/**
 * As the snapshot carries it: `header` values travel sealed and are opened only here, in memory;
 * `reference` (`env:NAME`, `file:/path`) is resolved on the gateway's machine.
 */
export type UpstreamCredential = SnapshotCredential;

export type UpstreamErrorKind = "unavailable" | "timeout" | "cancelled" | "rejected" | "failed" | "credential";

/**
 * A failure to show the MCP client: `publicMessage` names the server and what went wrong, never a
 * URL, a header, a stack or an upstream's own error text (which may quote its internals).
 */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    readonly server: string,
    readonly publicMessage: string,
    options?: { cause?: unknown },
  ) {
    super(publicMessage, options);
    this.name = "UpstreamError";
  }
}

export type UpstreamCallOptions = {
  signal?: AbortSignal;
  timeoutMs?: number;
  onprogress?: (progress: Progress) => void;
  /** Log messages the upstream sends about this call, for its caller. */
  onnotify?: ServerNotify;
  /** The caller can be asked things (sampling, elicitation, roots): see relay.ts. */
  relay?: ServerRequestRelay;
};

/**
 * Where requests and log messages an upstream sends during a call go: the client that made the
 * call. A pooled connection is shared by every caller and the SDK client does not say which call
 * a server request belongs to, so calls that may be relayed run on a connection leased to one
 * session, one call at a time: whatever arrives on it belongs to that call (or, between calls, to
 * that session).
 */
export type ServerRequestRelay = {
  /** The session the leased connections belong to; they close with `releaseRelay(key)`. */
  key: string;
  /** What the gateway declares to the upstream for this session, already narrowed by the server's switches. */
  capabilities: ClientCapabilities;
  /** The upstream's request, answered by the client (or refused by the relay, at once). */
  request(method: string, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<Record<string, unknown>>;
  /** A notification for the caller (notifications/message, resources/updated). */
  notify(method: string, params: Record<string, unknown> | undefined): void;
  /** The level set with logging/setLevel, passed to the upstream on connect. */
  logLevel: LoggingLevel | null;
  /** Where requests go between calls: the session rather than a call that has ended. */
  idle: ServerRequestRelay | null;
};

export type OpenSealed = (sealed: string) => string;

type CatalogEntry<T> = { at: number; items: T[] };

type Connection = {
  key: string;
  spec: UpstreamSpec;
  client: Client | null;
  connecting: Promise<Client> | null;
  /** After a failed connect, calls fail fast until then instead of each waiting on a dead host. */
  retryAt: number;
  failures: number;
  /** Hash of each tool's definition as the upstream describes it now; null until it was asked. */
  toolHashes: Map<string, string> | null;
  catalog: { prompts?: CatalogEntry<Prompt>; resources?: CatalogEntry<Resource>; templates?: CatalogEntry<ResourceTemplate> };
};

/** An upstream connection leased to one session (see ServerRequestRelay). */
type Lease = { client: Client; key: string; session: string; server: string; current: ServerRequestRelay };

const MAX_IDLE_LEASES = 4;

export type UpstreamChange = { server: string; what: "tools" | "prompts" | "resources" };

const CATALOG_TTL_MS = 60_000;
const MAX_PAGES = 20;

/** The same definition hash the control plane pins at sync (lib/server/sync.ts `toDefinition`). */
export function liveDefinitionHash(tool: Tool): string {
  return toolDefinitionHash({
    name: tool.name,
    title: tool.title ?? null,
    description: tool.description ?? "",
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema ?? null,
    annotations: tool.annotations ?? null,
  });
}

const CLIENT_INFO = { name: "portico-gateway", version: "0.1.0" };
const CONNECT_TIMEOUT_MS = 10_000;
const MAX_RETRY_DELAY_MS = 15_000;

/**
 * The SDK's client transports give every fetch one long-lived AbortSignal; undici hangs a listener
 * on it per request and drops it only when the request is garbage collected, so a busy upstream
 * piles up thousands (a MaxListeners warning with a stack trace per call, and O(n) adds). Each
 * request gets its own signal instead, linked to the long-lived one only while its body is open.
 */
export const scopedFetch: typeof fetch = async (input, init) => {
  const outer = init?.signal;
  if (!outer) return fetch(input, init);
  const inner = new AbortController();
  const abort = () => inner.abort(outer.reason);
  const release = () => outer.removeEventListener("abort", abort);
  if (outer.aborted) abort();
  else outer.addEventListener("abort", abort, { once: true });
  try {
    const res = await fetch(input, { ...init, signal: inner.signal });
    if (res.body && (res.headers.get("content-type") ?? "").includes("text/event-stream")) {
      const body = res.body.pipeThrough(new TransformStream({ flush: release }));
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    // JSON answers are small and read at once by the SDK: read here, and let go of the listener.
    const body = res.body ? await res.arrayBuffer() : null;
    release();
    return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
  } catch (error) {
    release();
    throw error;
  }
};

/** Default bound on the sockets open to one upstream origin (PORTICO_UPSTREAM_MAX_SOCKETS). */
export const DEFAULT_UPSTREAM_MAX_SOCKETS = 64;

// Keep-alive sockets to upstreams, shared by the whole pool, as undici's global dispatcher was for
// fetch. `timeout` matters for idle sockets only: with it set, Node closes an idle socket a second
// before the server's announced Keep-Alive timeout, so a POST is not written into a closing socket.
// `maxSockets` bounds the sockets per upstream origin: past it, requests wait in the agent's queue
// for a free socket. Unbounded, a burst opened a socket per call in flight; an overloaded upstream
// then refused or reset some, the failed calls dropped the shared upstream connection, and every
// caller got "unavailable" from the reconnect backoff. `lifo` reuses the warmest sockets and lets
// the rest idle out after a burst.
const upstreamAgents: Record<string, http.Agent> = {
  "http:": new http.Agent({ keepAlive: true, timeout: 60_000, maxSockets: DEFAULT_UPSTREAM_MAX_SOCKETS, scheduling: "lifo" }),
  "https:": new https.Agent({ keepAlive: true, timeout: 60_000, maxSockets: DEFAULT_UPSTREAM_MAX_SOCKETS, scheduling: "lifo" }),
};

/** Sets the bound on sockets per upstream origin (the agents are shared by the process). */
export function setUpstreamMaxSockets(maxSockets: number) {
  for (const agent of Object.values(upstreamAgents)) agent.maxSockets = maxSockets;
}

/**
 * A fetch Response whose body was read in full: the part of `Response` the SDK's client transports
 * use (status, ok, headers, text/json, `body?.cancel()`), without the web streams undici builds for
 * every body. The stream is made only if something asks for it.
 */
class BufferedResponse {
  readonly type = "basic";
  readonly redirected = false;
  bodyUsed = false;
  private stream: ReadableStream<Uint8Array> | null | undefined;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Headers,
    private readonly bytes: Buffer,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.stream === undefined) this.stream = this.bytes.length === 0 ? null : (new Blob([new Uint8Array(this.bytes)]).stream() as ReadableStream<Uint8Array>);
    return this.stream;
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.bytes.toString("utf8");
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return new Uint8Array(this.bytes).buffer;
  }

  clone(): BufferedResponse {
    return new BufferedResponse(this.url, this.status, this.statusText, new Headers(this.headers), this.bytes);
  }
}

// One abort listener per transport signal, however many requests are in flight on it: a listener
// per request is an add and a remove per call, and a MaxListeners warning past ten at once.
const inFlight = new WeakMap<AbortSignal, Set<() => void>>();

function onAbort(signal: AbortSignal, abort: () => void): () => void {
  const aborts = inFlight.get(signal) ?? new Set<() => void>();
  if (!inFlight.has(signal)) {
    inFlight.set(signal, aborts);
    const abortAll = () => {
      for (const f of [...aborts]) f();
      aborts.clear();
    };
    signal.addEventListener("abort", abortAll, { once: true });
  }
  aborts.add(abort);
  return () => aborts.delete(abort);
}

function headerRecord(headers: HeadersInit | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  if (headers) (headers instanceof Headers ? headers : new Headers(headers)).forEach((value, name) => (record[name] = value));
  return record;
}

/**
 * The POST of one JSON-RPC message to an upstream, on node:http. undici's fetch builds a Request, a
 * Response and web streams for both bodies on every call, and that was a fifth of the gateway's CPU
 * per forwarded call (bench/gateway-overhead.ts --profile); node:http costs a fraction of it. Same
 * contract as fetch where the SDK relies on it: redirects come back unfollowed (the SDK asks for
 * `manual` and follows same-origin ones itself), an abort rejects with the signal's reason, a
 * network failure with TypeError("fetch failed"), and an SSE answer stays a stream.
 */
function postUpstream(url: URL, init: RequestInit, body: string): Promise<Response> {
  return postRaw(url, headerRecord(init.headers), body, init.signal ?? undefined).then((answer) => {
    const headers = new Headers();
    const raw = answer.response.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
    if (answer.bytes === null) {
      // Server messages arrive on this body as they are sent: hand it over as a stream.
      return new Response(Readable.toWeb(answer.response) as ReadableStream<Uint8Array>, { status: answer.status, statusText: answer.statusText, headers });
    }
    return new BufferedResponse(url.href, answer.status, answer.statusText, headers, answer.bytes) as unknown as Response;
  });
}

/** An upstream's answer to a POST: read in full (`bytes`), or for an SSE body, the open stream. */
type RawAnswer = { status: number; statusText: string; contentType: string; response: http.IncomingMessage; bytes: Buffer | null };

/** See postUpstream; the node:http part both it and callToolDirect stand on. */
function postRaw(url: URL, requestHeaders: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<RawAnswer> {
  // Null unless tracing is on (gateway/trace-hook.ts): then a child span, and `traceparent` added
  // to this request's own header record.
  const endSpan = upstreamTrace ? upstreamTrace(url, requestHeaders) : null;
  const answer = postUntraced(url, requestHeaders, body, signal);
  if (endSpan) answer.then((a) => endSpan(a.status), (error: Error) => endSpan(error));
  return answer;
}

function postUntraced(url: URL, requestHeaders: Record<string, string>, body: string, signal: AbortSignal | undefined): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const headers = { ...requestHeaders, "content-length": String(Buffer.byteLength(body)) };
    const transport = url.protocol === "https:" ? https : http;
    const req = transport.request(url, { method: "POST", headers, agent: upstreamAgents[url.protocol] });
    let isAborted = false;
    // Linked to the transport's long-lived signal only while this request is open (see scopedFetch).
    const release = signal
      ? onAbort(signal, () => {
          isAborted = true;
          req.destroy();
        })
      : () => undefined;
    const fail = (error: Error) => {
      release();
      reject(isAborted ? signal!.reason : new TypeError("fetch failed", { cause: error }));
    };
    req.on("error", fail);
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      const statusText = res.statusMessage ?? "";
      const contentType = res.headers["content-type"] ?? "";
      if (contentType.includes("text/event-stream")) {
        res.once("close", release);
        resolve({ status, statusText, contentType, response: res, bytes: null });
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", fail);
      // A connection cut mid-body: fail like fetch would rather than wait forever.
      res.on("close", () => {
        if (!res.complete) fail(new Error("the upstream closed the connection mid-response"));
      });
      res.on("end", () => {
        release();
        resolve({ status, statusText, contentType, response: res, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
      });
    });
    req.end(body);
  });
}

/**
 * What upstream clients fetch with: message POSTs on node:http (`postUpstream`), anything else
 * (the GET stream, DELETE, the legacy SSE transport's EventSource) through `scopedFetch`.
 */
export const upstreamFetch: typeof fetch = (input, init) => {
  const url = input instanceof URL ? input : typeof input === "string" ? new URL(input) : null;
  if (url && (url.protocol === "http:" || url.protocol === "https:") && init?.method === "POST" && typeof init.body === "string" && init.redirect === "manual") {
    return postUpstream(url, init, init.body);
  }
  return scopedFetch(input, init);
};

/** A Streamable HTTP upstream as its SDK client connected to it: where, with what, in which session. */
type DirectTarget = { url: URL; headers: Record<string, string>; transport: StreamableHTTPClientTransport };

let directIds = 0;

/**
 * tools/call on an upstream session the SDK client opened, without the client's protocol layer:
 * one POST on node:http, the answer read as JSON (or from an SSE body) and checked against the
 * SDK's own CallToolResult schema. The SDK path cost the gateway about as much CPU per call as the
 * rest of its work (bench/gateway-overhead.ts). What the caller sees is the same: a timeout is
 * McpError(RequestTimeout) and sends notifications/cancelled upstream, as a caller's abort does;
 * an expired session is StreamableHTTPError(404), which `run` answers by reconnecting once;
 * a JSON-RPC error is an McpError with the upstream's code.
 */
async function callToolDirect(
  target: DirectTarget,
  name: string,
  args: Record<string, unknown> | undefined,
  options: { signal?: AbortSignal; timeoutMs: number; onprogress?: (progress: Progress) => void; onnotify?: ServerNotify },
): Promise<CallToolResult> {
  const id = `portico-${++directIds}`;
  const { sessionId, protocolVersion } = target.transport;
  const headers: Record<string, string> = {
    ...target.headers,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(sessionId ? { "mcp-session-id": sessionId } : {}),
    ...(protocolVersion ? { "mcp-protocol-version": protocolVersion } : {}),
  };
  const controller = new AbortController();
  let isTimedOut = false;
  const cancelUpstream = (reason: string) => {
    const notice = JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason } });
    postRaw(target.url, headers, notice, AbortSignal.timeout(5_000)).then((answer) => answer.response.resume(), () => undefined);
  };
  const timer = setTimeout(() => {
    isTimedOut = true;
    controller.abort(new McpError(ErrorCode.RequestTimeout, "Request timed out"));
    cancelUpstream("timed out");
  }, options.timeoutMs);
  const onAbort = () => {
    controller.abort(options.signal!.reason);
    cancelUpstream(String(options.signal!.reason ?? "cancelled"));
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // The upstream's progress names this call's own id as its token; the caller's token is put back by onprogress.
    const meta = options.onprogress ? { _meta: { progressToken: id } } : {};
    const body = JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: args === undefined ? { name, ...meta } : { name, arguments: args, ...meta } });
    const answer = await postRaw(target.url, headers, body, controller.signal);
    if (answer.status < 200 || answer.status > 299) {
      answer.response.destroy();
      throw new StreamableHTTPError(answer.status, `Error POSTing to endpoint: HTTP ${answer.status}`);
    }
    const refuse = (request: { id: unknown }) => {
      // This call runs on a shared connection for a caller that cannot be asked anything: the
      // upstream hears so at once (the protocol's answer to a capability not declared), not
      // after its own timeout.
      const body = JSON.stringify({ jsonrpc: "2.0", id: request.id, error: { code: ErrorCode.MethodNotFound, message: "Method not found" } });
      postRaw(target.url, headers, body, AbortSignal.timeout(5_000)).then((a) => a.response.resume(), () => undefined);
    };
    const message = answer.bytes === null ? await responseFromStream(answer.response, id, { refuse, onprogress: options.onprogress, onnotify: options.onnotify }) : (JSON.parse(answer.bytes.toString("utf8")) as unknown);
    return callToolResultOf(message, id);
  } catch (error) {
    if (isTimedOut) throw new McpError(ErrorCode.RequestTimeout, "Request timed out");
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** A notification an upstream sent about a call (notifications/message), for its caller. */
export type ServerNotify = (method: string, params: Record<string, unknown> | undefined) => void;

type StreamHandlers = { refuse: (request: { id: unknown }) => void; onprogress?: (progress: Progress) => void; onnotify?: ServerNotify };

/**
 * Reads an SSE answer until the response to `id` arrives. What the upstream sends about the call
 * before it (progress on this call's token, log messages) goes to the caller in order; a request
 * is refused at once (see callToolDirect); anything else is not ours to route.
 */
function responseFromStream(stream: http.IncomingMessage, id: string, handlers: StreamHandlers): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let found = false;
    const parser = createParser({
      onEvent(event) {
        if (found || (event.event && event.event !== "message")) return;
        try {
          const message = JSON.parse(event.data) as { id?: unknown; method?: unknown; params?: Record<string, unknown> };
          if (!message || typeof message !== "object") return;
          if (typeof message.method === "string") {
            if (message.id !== undefined && message.id !== null) return handlers.refuse({ id: message.id });
            if (message.method === "notifications/progress" && message.params?.progressToken === id && handlers.onprogress) {
              const progress = { ...message.params };
              delete progress.progressToken;
              return handlers.onprogress(progress as Progress);
            }
            if (message.method === "notifications/message") handlers.onnotify?.(message.method, message.params);
            return;
          }
          if (message.id !== id) return;
          found = true;
          stream.destroy();
          resolve(message);
        } catch {
          // not JSON: not the answer
        }
      },
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => parser.feed(chunk));
    stream.on("error", (error) => {
      if (!found) reject(new TypeError("fetch failed", { cause: error }));
    });
    stream.on("close", () => {
      if (!found) reject(new TypeError("the upstream closed the event stream without answering"));
    });
  });
}

function callToolResultOf(message: unknown, id: string): CallToolResult {
  const m = message as { jsonrpc?: unknown; id?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } } | null;
  if (!m || typeof m !== "object" || m.jsonrpc !== "2.0" || m.id !== id) throw new McpError(ErrorCode.InternalError, "the upstream answered with something other than this call's response");
  if (m.error && typeof m.error === "object") {
    const code = typeof m.error.code === "number" ? m.error.code : ErrorCode.InternalError;
    throw new McpError(code, typeof m.error.message === "string" ? m.error.message : "upstream error", m.error.data);
  }
  if (isPlainCallToolResult(m.result)) return m.result;
  const parsed = CallToolResultSchema.safeParse(m.result);
  if (!parsed.success) throw new McpError(ErrorCode.InternalError, "the upstream's tools/call result does not match the MCP schema");
  return parsed.data;
}

/**
 * The common result (text blocks, maybe structured content and isError), checked
 * by hand: the SDK's zod schema costs more per call than the rest of the forward stage. Anything
 * else (other block types, annotations, _meta) is left to that schema, so what is accepted is
 * never more than the schema accepts.
 */
export function isPlainCallToolResult(result: unknown): result is CallToolResult {
  if (typeof result !== "object" || result === null || Array.isArray(result)) return false;
  const r = result as Record<string, unknown>;
  for (const key in r) if (key !== "content" && key !== "isError" && key !== "structuredContent") return false;
  if (r.isError !== undefined && typeof r.isError !== "boolean") return false;
  const structured = r.structuredContent;
  if (structured !== undefined && (typeof structured !== "object" || structured === null || Array.isArray(structured))) return false;
  if (!Array.isArray(r.content)) return false;
  for (const block of r.content as unknown[]) {
    if (typeof block !== "object" || block === null) return false;
    const b = block as Record<string, unknown>;
    for (const key in b) if (key !== "type" && key !== "text") return false;
    if (b.type !== "text" || typeof b.text !== "string") return false;
  }
  return true;
}

function connectionKey(spec: UpstreamSpec): string {
  const c = spec.credential;
  const cred = c.kind === "none" ? "none" : c.kind === "header" ? `sealed:${c.headerName}:${c.sealed}` : `ref:${c.headerName}:${c.ref}`;
  return `${spec.slug}\n${spec.transport}\n${spec.url}\n${cred}`;
}

export async function resolveCredentialReference(ref: string): Promise<string> {
  if (ref.startsWith("env:")) {
    const value = process.env[ref.slice(4)];
    if (value === undefined || value === "") throw new Error(`environment variable ${ref.slice(4)} is not set`);
    return value;
  }
  if (ref.startsWith("file:")) {
    const file = ref.slice(5);
    if (!path.isAbsolute(file)) throw new Error("file references must be absolute paths");
    return (await readFile(file, "utf8")).trim();
  }
  throw new Error("unsupported secret reference (use env:NAME or file:/absolute/path)");
}

/**
 * One MCP client per upstream, connected on first use and reused by every session of every
 * portal. The MCP client's own token never goes upstream: only the credential the registry holds.
 */
export function createUpstreamPool(options: { openSealed?: OpenSealed; defaultTimeoutMs?: number; maxSockets?: number } = {}) {
  if (options.maxSockets !== undefined) setUpstreamMaxSockets(options.maxSockets);
  const connections = new Map<string, Connection>();
  /**
   * Resource subscriptions, one upstream subscription per server and URI however many sessions
   * hold it: server slug → URI → the sessions' listeners for notifications/resources/updated.
   */
  const subscribers = new Map<string, Map<string, Set<(params: Record<string, unknown>) => void>>>();
  const directTargets = new WeakMap<Client, DirectTarget>();
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  const changeListeners = new Set<(change: UpstreamChange) => void>();
  const announce = (change: UpstreamChange) => {
    for (const listener of changeListeners) {
      try {
        listener(change);
      } catch (error) {
        log("error", "upstream change listener failed", describeError(error));
      }
    }
  };

  async function listAll<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string }>): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let n = 0; n < MAX_PAGES; n++) {
      const result = await page(cursor);
      items.push(...result.items);
      if (!result.nextCursor) break;
      cursor = result.nextCursor;
    }
    return items;
  }

  /**
   * Rug-pull defence at the edge: what the upstream says its tools are now, hashed as the control
   * plane hashed what an admin accepted. Asked on connect and whenever the upstream says its
   * tools changed; a tool whose hash moved is refused until a new snapshot accepts it.
   */
  async function refreshToolHashes(conn: Connection, client: Client) {
    if (!client.getServerCapabilities()?.tools) {
      conn.toolHashes = new Map();
      return;
    }
    try {
      const tools = await listAll(async (cursor) => {
        const r = await client.listTools(cursor ? { cursor } : undefined, { timeout: CONNECT_TIMEOUT_MS });
        return { items: r.tools, nextCursor: r.nextCursor };
      });
      const next = new Map(tools.map((t) => [t.name, liveDefinitionHash(t)]));
      const before = conn.toolHashes;
      conn.toolHashes = next;
      if (before && (before.size !== next.size || [...next].some(([name, hash]) => before.get(name) !== hash))) {
        log("warn", "upstream tool definitions changed", { server: conn.spec.slug });
        announce({ server: conn.spec.slug, what: "tools" });
      }
    } catch (error) {
      log("warn", "could not list upstream tools to check for drift", { server: conn.spec.slug, ...describeError(error) });
    }
  }

  /** An upstream's prompts or resources changed: what is cached of them goes, and callers hear of it. */
  function catalogChanged(conn: Connection | undefined, what: "prompts" | "resources") {
    if (conn && what === "prompts") conn.catalog.prompts = undefined;
    if (conn && what === "resources") conn.catalog.resources = conn.catalog.templates = undefined;
    if (conn) announce({ server: conn.spec.slug, what });
  }

  async function credentialHeaders(spec: UpstreamSpec): Promise<Record<string, string>> {
    const c = spec.credential;
    try {
      if (c.kind === "none") return {};
      if (c.kind === "header") {
        if (!options.openSealed) throw new Error("no key to open sealed credentials (PORTICO_SECRET_KEY)");
        return { [c.headerName]: options.openSealed(c.sealed) };
      }
      return { [c.headerName]: await resolveCredentialReference(c.ref) };
    } catch (error) {
      log("error", "upstream credential unavailable", { server: spec.slug, ...describeError(error) });
      throw new UpstreamError("credential", spec.slug, `The credentials for server "${spec.slug}" are not available on this gateway.`, { cause: error });
    }
  }

  function transportFor(spec: UpstreamSpec, headers: Record<string, string>) {
    const url = new URL(spec.url);
    return spec.transport === "sse"
      ? new SSEClientTransport(url, { requestInit: { headers }, fetch: upstreamFetch })
      : new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: upstreamFetch, reconnectionOptions: { maxRetries: 2, initialReconnectionDelay: 1000, maxReconnectionDelay: 10_000, reconnectionDelayGrowFactor: 2 } });
  }

  async function connect(conn: Connection): Promise<Client> {
    const { spec } = conn;
    const headers = await credentialHeaders(spec);
    const url = new URL(spec.url);
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    const transport = transportFor(spec, headers);
    if (transport instanceof StreamableHTTPClientTransport) directTargets.set(client, { url, headers, transport });
    client.onclose = () => {
      if (conn.client === client) conn.client = null;
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      void refreshToolHashes(conn, client);
    });
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => catalogChanged(conn, "prompts"));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => catalogChanged(conn, "resources"));
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      for (const listener of subscribers.get(spec.slug)?.get(n.params.uri) ?? []) listener(n.params);
    });
    client.onerror = (error) => log("debug", "upstream transport error", { server: spec.slug, ...describeError(error) });
    try {
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      void client.close().catch(() => undefined);
      throw error;
    }
    // Before the first call goes through: a drifted tool must not get one call in.
    await refreshToolHashes(conn, client);
    // A new connection (the old one dropped) holds none of the subscriptions: make them again.
    for (const uri of subscribers.get(spec.slug)?.keys() ?? []) void client.subscribeResource({ uri }, { timeout: CONNECT_TIMEOUT_MS }).catch(() => undefined);
    return client;
  }

  function getClient(spec: UpstreamSpec): Promise<Client> {
    const key = connectionKey(spec);
    let conn = connections.get(`${spec.slug}`);
    if (conn && conn.key !== key) {
      // The registry changed this server's URL, transport or credential: start over.
      void conn.client?.close().catch(() => undefined);
      conn = undefined;
    }
    if (!conn) {
      conn = { key, spec, client: null, connecting: null, retryAt: 0, failures: 0, toolHashes: null, catalog: {} };
      connections.set(spec.slug, conn);
    }
    if (conn.client) return Promise.resolve(conn.client);
    if (conn.connecting) return conn.connecting;
    if (Date.now() < conn.retryAt) {
      return Promise.reject(new UpstreamError("unavailable", spec.slug, `Server "${spec.slug}" is unavailable right now; try again shortly.`));
    }
    const target = conn;
    target.connecting = connect(target)
      .then((client) => {
        target.client = client;
        target.failures = 0;
        target.retryAt = 0;
        return client;
      })
      .catch((error: unknown) => {
        target.failures += 1;
        target.retryAt = Date.now() + Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** Math.min(target.failures, 10));
        if (error instanceof UpstreamError) throw error;
        log("warn", "upstream connect failed", { server: spec.slug, failures: target.failures, ...describeError(error) });
        throw new UpstreamError("unavailable", spec.slug, `Server "${spec.slug}" is unavailable right now; try again shortly.`, { cause: error });
      })
      .finally(() => {
        target.connecting = null;
      });
    return target.connecting;
  }

  /** Drops a connection that failed below MCP (network, expired session) so the next call reconnects. */
  function discard(spec: UpstreamSpec, client: Client) {
    const conn = connections.get(spec.slug);
    if (conn?.client === client) conn.client = null;
    void client.close().catch(() => undefined);
  }

  function translate(spec: UpstreamSpec, error: unknown, signal?: AbortSignal): UpstreamError {
    if (error instanceof UpstreamError) return error;
    if (signal?.aborted) return new UpstreamError("cancelled", spec.slug, "The request was cancelled.", { cause: error });
    if (error instanceof McpError) {
      if (error.code === ErrorCode.RequestTimeout) {
        return new UpstreamError("timeout", spec.slug, `Server "${spec.slug}" did not answer in time.`, { cause: error });
      }
      if (error.code === ErrorCode.InvalidParams || error.code === ErrorCode.MethodNotFound) {
        return new UpstreamError("rejected", spec.slug, `Server "${spec.slug}" rejected the request as invalid.`, { cause: error });
      }
      if (error.code === ErrorCode.ConnectionClosed) {
        return new UpstreamError("unavailable", spec.slug, `Server "${spec.slug}" closed the connection.`, { cause: error });
      }
      return new UpstreamError("failed", spec.slug, `Server "${spec.slug}" failed to handle the request.`, { cause: error });
    }
    return new UpstreamError("unavailable", spec.slug, `Server "${spec.slug}" is unavailable right now; try again shortly.`, { cause: error });
  }

  const isSessionExpired = (error: unknown) => error instanceof StreamableHTTPError && error.code === 404;
  const isBelowMcp = (error: unknown) => !(error instanceof McpError) || error.code === ErrorCode.ConnectionClosed;

  async function run<T>(spec: UpstreamSpec, call: (client: Client, requestOptions: RequestOptions) => Promise<T>, callOptions: UpstreamCallOptions = {}): Promise<T> {
    const requestOptions: RequestOptions = {
      signal: callOptions.signal,
      timeout: callOptions.timeoutMs ?? defaultTimeoutMs,
      onprogress: callOptions.onprogress,
      resetTimeoutOnProgress: false,
    };
    for (let attempt = 0; ; attempt++) {
      let client: Client | undefined;
      try {
        client = await getClient(spec);
        return await call(client, requestOptions);
      } catch (error) {
        if (client && isBelowMcp(error) && !callOptions.signal?.aborted) discard(spec, client);
        // An expired upstream session means the request was never processed: safe to retry once.
        if (attempt === 0 && client && isSessionExpired(error)) continue;
        const translated = translate(spec, error, callOptions.signal);
        if (translated.kind !== "cancelled") {
          log("warn", "upstream request failed", { server: spec.slug, kind: translated.kind, ...describeError(error) });
        }
        throw translated;
      }
    }
  }

  /** Idle leased connections by session, server and declared capabilities; and every lease of a session. */
  const idleLeases = new Map<string, Lease[]>();
  const leasesBySession = new Map<string, Set<Lease>>();

  const leaseKey = (spec: UpstreamSpec, relay: ServerRequestRelay) => `${relay.key}\n${connectionKey(spec)}\n${JSON.stringify(relay.capabilities)}`;

  /** A connection of one session's own, declaring what its client declared (see ServerRequestRelay). */
  async function connectLeased(spec: UpstreamSpec, relay: ServerRequestRelay): Promise<Lease> {
    const headers = await credentialHeaders(spec);
    const client = new Client(CLIENT_INFO, { capabilities: relay.capabilities });
    const lease: Lease = { client, key: leaseKey(spec, relay), session: relay.key, server: spec.slug, current: relay };
    // Every request the upstream sends goes to the relay, which answers or refuses it (and audits).
    client.fallbackRequestHandler = (request, extra) => lease.current.request(request.method, request.params as Record<string, unknown> | undefined, extra.signal) as never;
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => lease.current.notify(n.method, n.params));
    client.onerror = (error) => log("debug", "upstream transport error", { server: spec.slug, ...describeError(error) });
    try {
      await client.connect(transportFor(spec, headers), { timeout: CONNECT_TIMEOUT_MS });
      if (relay.logLevel && client.getServerCapabilities()?.logging) await client.setLoggingLevel(relay.logLevel, { timeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      void client.close().catch(() => undefined);
      throw error;
    }
    let all = leasesBySession.get(relay.key);
    if (!all) leasesBySession.set(relay.key, (all = new Set()));
    all.add(lease);
    client.onclose = () => {
      leasesBySession.get(lease.session)?.delete(lease);
      const idle = idleLeases.get(lease.key);
      if (idle?.includes(lease)) idle.splice(idle.indexOf(lease), 1);
    };
    return lease;
  }

  /** A call that may be relayed runs alone on a leased connection; others of the session wait for none (a new one is made). */
  async function runLeased<T>(spec: UpstreamSpec, relay: ServerRequestRelay, call: (client: Client, requestOptions: RequestOptions) => Promise<T>, callOptions: UpstreamCallOptions): Promise<T> {
    const requestOptions: RequestOptions = { signal: callOptions.signal, timeout: callOptions.timeoutMs ?? defaultTimeoutMs, onprogress: callOptions.onprogress, resetTimeoutOnProgress: false };
    let lease: Lease | undefined;
    try {
      lease = idleLeases.get(leaseKey(spec, relay))?.pop() ?? (await connectLeased(spec, relay));
      lease.current = relay;
      const result = await call(lease.client, requestOptions);
      lease.current = relay.idle ?? relay;
      const idle = idleLeases.get(lease.key) ?? [];
      idleLeases.set(lease.key, idle);
      if (idle.length < MAX_IDLE_LEASES && leasesBySession.get(lease.session)?.has(lease)) idle.push(lease);
      else void lease.client.close().catch(() => undefined);
      return result;
    } catch (error) {
      // A leased connection that failed is not worth keeping: the next call makes a fresh one.
      if (lease) void lease.client.close().catch(() => undefined);
      const translated = translate(spec, error, callOptions.signal);
      if (translated.kind !== "cancelled") log("warn", "upstream request failed", { server: spec.slug, kind: translated.kind, ...describeError(error) });
      throw translated;
    }
  }

  async function cached<T>(spec: UpstreamSpec, kind: keyof Connection["catalog"], capability: "prompts" | "resources", load: (client: Client) => Promise<T[]>): Promise<T[]> {
    const client = await getClient(spec);
    const conn = connections.get(spec.slug);
    const entry = conn?.catalog[kind] as CatalogEntry<T> | undefined;
    if (entry && Date.now() - entry.at < CATALOG_TTL_MS) return entry.items;
    if (!client.getServerCapabilities()?.[capability]) return [];
    const items = await run(spec, (c) => load(c), { timeoutMs: CONNECT_TIMEOUT_MS });
    if (conn) (conn.catalog as Record<string, CatalogEntry<T>>)[kind] = { at: Date.now(), items };
    return items;
  }

  return {
    onChange(listener: (change: UpstreamChange) => void) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    /**
     * True when the upstream is known to describe this tool otherwise than the accepted
     * definition (or no longer lists it). Unknown (never connected, listing failed) is not drift.
     */
    /**
     * A list change heard other than on the upstream's session (a 2026-07-28 upstream's
     * subscriptions/listen stream, modern-upstream.ts), handled as that notification is: tools are
     * checked for drift (asked over a connection made now if there is none), the cached catalog goes.
     */
    listChanged(spec: UpstreamSpec, what: UpstreamChange["what"]) {
      const conn = connections.get(spec.slug);
      if (what !== "tools") {
        if (conn) catalogChanged(conn, what);
        else announce({ server: spec.slug, what });
        return;
      }
      if (conn?.client) return void refreshToolHashes(conn, conn.client);
      // Connecting asks for the tools; nothing to compare them with, so callers are told to look.
      void getClient(spec).then(
        () => announce({ server: spec.slug, what }),
        () => undefined,
      );
    },
    hasDrifted(serverSlug: string, toolName: string, acceptedHash: string): boolean {
      const hashes = connections.get(serverSlug)?.toolHashes;
      return hashes ? hashes.get(toolName) !== acceptedHash : false;
    },
    listPrompts: (spec: UpstreamSpec) =>
      cached<Prompt>(spec, "prompts", "prompts", (c) => listAll(async (cursor) => {
        const r = await c.listPrompts(cursor ? { cursor } : undefined);
        return { items: r.prompts, nextCursor: r.nextCursor };
      })),
    listResources: (spec: UpstreamSpec) =>
      cached<Resource>(spec, "resources", "resources", (c) => listAll(async (cursor) => {
        const r = await c.listResources(cursor ? { cursor } : undefined);
        return { items: r.resources, nextCursor: r.nextCursor };
      })),
    listResourceTemplates: (spec: UpstreamSpec) =>
      cached<ResourceTemplate>(spec, "templates", "resources", (c) => listAll(async (cursor) => {
        const r = await c.listResourceTemplates(cursor ? { cursor } : undefined);
        return { items: r.resourceTemplates, nextCursor: r.nextCursor };
      })),
    callTool(spec: UpstreamSpec, name: string, args: Record<string, unknown> | undefined, callOptions?: UpstreamCallOptions): Promise<CallToolResult> {
      if (callOptions?.relay) return runLeased(spec, callOptions.relay, (client, o) => client.callTool({ name, arguments: args }, CallToolResultSchema, o) as Promise<CallToolResult>, callOptions);
      return run(
        spec,
        (client, o) => {
          const target = directTargets.get(client);
          if (target) return callToolDirect(target, name, args, { signal: o.signal, timeoutMs: o.timeout ?? defaultTimeoutMs, onprogress: o.onprogress, onnotify: callOptions?.onnotify });
          return client.callTool({ name, arguments: args }, CallToolResultSchema, o) as Promise<CallToolResult>;
        },
        callOptions,
      );
    },
    getPrompt(spec: UpstreamSpec, name: string, args: Record<string, string> | undefined, callOptions?: UpstreamCallOptions): Promise<GetPromptResult> {
      return run(spec, (client, o) => client.getPrompt({ name, arguments: args }, o), callOptions);
    },
    readResource(spec: UpstreamSpec, uri: string, callOptions?: UpstreamCallOptions): Promise<ReadResourceResult> {
      return run(spec, (client, o) => client.readResource({ uri }, o), callOptions);
    },
    complete(spec: UpstreamSpec, params: CompleteRequest["params"], callOptions?: UpstreamCallOptions): Promise<CompleteResult> {
      return run(spec, (client, o) => client.complete(params, o), callOptions);
    },
    /**
     * Holds a subscription to `uri` for one listener; the upstream is asked once per URI. Returns
     * how to let go of it (the upstream is told when the last listener goes).
     */
    async subscribe(spec: UpstreamSpec, uri: string, listener: (params: Record<string, unknown>) => void, callOptions?: UpstreamCallOptions): Promise<() => void> {
      let byUri = subscribers.get(spec.slug);
      if (!byUri) subscribers.set(spec.slug, (byUri = new Map()));
      let listeners = byUri.get(uri);
      if (!listeners) {
        await run(spec, (client, o) => client.subscribeResource({ uri }, o), callOptions);
        listeners = byUri.get(uri) ?? new Set();
        byUri.set(uri, listeners);
      }
      listeners.add(listener);
      const held = listeners;
      return () => {
        held.delete(listener);
        if (held.size > 0 || byUri.get(uri) !== held) return;
        byUri.delete(uri);
        void run(spec, (client, o) => client.unsubscribeResource({ uri }, o), { timeoutMs: CONNECT_TIMEOUT_MS }).catch(() => undefined);
      };
    },
    /** The credential headers for this upstream (2026-07-28 requests go without the SDK client: modern-upstream.ts). */
    headersFor: (spec: UpstreamSpec) => credentialHeaders(spec),
    /** Closes the connections leased to a session (it ended). */
    releaseRelay(key: string) {
      const all = leasesBySession.get(key);
      leasesBySession.delete(key);
      for (const lease of all ?? []) void lease.client.close().catch(() => undefined);
    },
    /** The client's roots changed: tell the given upstreams, on the connections leased to its session. */
    sendRootsListChanged(key: string, servers: ReadonlySet<string>) {
      for (const lease of leasesBySession.get(key) ?? []) {
        if (servers.has(lease.server)) void lease.client.sendRootsListChanged().catch(() => undefined);
      }
    },
    /** A session's logging/setLevel, passed to the upstreams it holds connections to. */
    setRelayLogLevel(key: string, level: LoggingLevel) {
      for (const lease of leasesBySession.get(key) ?? []) {
        if (lease.client.getServerCapabilities()?.logging) void lease.client.setLoggingLevel(level).catch(() => undefined);
      }
    },
    /** Closes connections to servers no longer in the running snapshot. */
    retain(specs: UpstreamSpec[]) {
      const keep = new Map(specs.map((s) => [s.slug, connectionKey(s)]));
      for (const [slug, conn] of connections) {
        if (keep.get(slug) !== conn.key) {
          connections.delete(slug);
          void conn.client?.close().catch(() => undefined);
        }
      }
    },
    async close() {
      const all = [...connections.values()];
      connections.clear();
      await Promise.all(all.map((c) => c.client?.close().catch(() => undefined)));
    },
  };
}

export type UpstreamPool = ReturnType<typeof createUpstreamPool>;
