import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type ClientCapabilities,
  type JSONRPCMessage,
  type LoggingLevel,
} from "@modelcontextprotocol/sdk/types.js";
import type { JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";

import { jsonRpcReply, type Answer } from "./answer";
import { acceptsEventStream, createCallStream, type CallStream } from "./call-stream";
import type { TokenIdentity } from "./auth";
import { GATEWAY_SERVER_INFO, newCall, newCaller, newRequestContext, RpcError, type Call, type CallChannel, type Caller, type RequestContext } from "./exchange";
import { isRequest, type JsonRpcMessage } from "./http-util";

const isResponse = (m: JsonRpcMessage) => m.method === undefined && m.id !== undefined && m.id !== null && ("result" in m || "error" in m);
import { describeError, log } from "./log";
import type { GatewayMetrics } from "./metrics";
import type { PortalView } from "./portal-index";
import type { Notify } from "./stages/forward";
import type { Response } from "./stages/audit";
import { canBeAsked, isLogLevelShown, type Relay, type RelaySession } from "./relay";

/**
 * The legacy-era framing (2025-11-25, 2025-06-18, 2025-03-26): one SDK `Server` and Streamable
 * HTTP transport per session, bound at `initialize` to one portal and one principal. A lone
 * tools/call or tools/list (the hot path) is answered without the SDK's transport and protocol layers (they turn
 * every POST into a web Request, validate the message again and route it through their own maps,
 * about as much CPU as everything else the gateway does per call); everything else (initialize,
 * batches, other methods, DELETE) goes through the SDK. Both run the same pipeline.
 *
 * The GET stream is served here too (openGetStream), not by the SDK transport: there it is a web
 * Request, a ReadableStream, a Response piped to the socket, a reader and a keep-alive timer, some
 * 25 KB of heap per session for as long as its client is connected (heap snapshots under
 * bench/gateway-memory.ts), where the socket's own response is all a stream of events needs.
 */

export type Session = Caller & RelaySession & {
  transport: StreamableHTTPServerTransport;
  server: Server;
  /** Sends a notification on the session's stream (progress while a call runs). */
  notify: Notify;
  lastActivity: number;
  /** Requests in flight, by JSON-RPC id: their calls, audited once their response leaves. */
  calls: Map<string | number, Call>;
  /** Requests answered without the SDK transport, by JSON-RPC id: their aborts. */
  direct: Map<string | number, AbortController>;
  /** Direct calls whose answer may turn into a stream (progress asked for, or a client that can be asked things). */
  streams: Map<string | number, CallStream>;
  /** GET streams open on the session (0 or 1; a second is refused, as the SDK does). */
  getStreams: number;
  /** The open GET stream: where messages that belong to no request go (notifications, relayed requests). */
  getStream: ServerResponse | null;
};

export type SessionDeps = {
  metrics: GatewayMetrics;
  /** resolve → decide → forward for one request. */
  run(call: Call, signal: AbortSignal, notify?: Notify): Promise<Answer>;
  /** The audit stage. */
  finish(call: Call, response: Response | null): void;
  /** Idle time after which a session with an open GET stream is closed (default 2 h). */
  sessionIdleMs?: number;
  /**
   * Idle time after which a session with no GET stream open and no call in flight is closed
   * (default DETACHED_IDLE_MS): its client may be gone without a DELETE (a closed laptop, a
   * crashed process), and holds nothing that would tell. A client that comes back gets 404, and
   * the protocol has it start a new session.
   */
  detachedIdleMs?: number;
  /** At most this many sessions: at the cap the longest-idle detached one makes room, else new ones get 503. */
  maxSessions?: number;
  /** Put in front of every session id, so a load balancer can route a session to its gateway. */
  sessionIdPrefix?: string;
  /** Requests from the server side (relay.ts); without it, upstreams' requests are refused. */
  relay?: Relay;
  /** Passes a session's logging/setLevel to the upstream connections it holds. */
  setLogLevel?(sessionId: string, level: LoggingLevel): void;
};

/**
 * The SDK transport's private maps (1.x): in JSON response mode it never deletes a POST's entry in
 * `_streamMapping` once answered (modelcontextprotocol/typescript-sdk#2559, fixed on its main
 * branch only), so every request a session sends through the SDK (initialize, ping, prompts,
 * resources, batches) kept some 3.6 KB, its answer included, until the session closed. A client
 * that pings every 30 s grew its session by about 1 MB an hour.
 */
type SdkStreamMaps = { _streamMapping?: Map<string, unknown>; _requestToStreamMapping?: Map<string | number, string> };
const sdkStreamMaps = (transport: StreamableHTTPServerTransport) => (transport as unknown as { _webStandardTransport?: SdkStreamMaps })._webStandardTransport;

/** Methods answered without the SDK transport when sent alone. */
const DIRECT_METHODS = new Set(["tools/call", "tools/list"]);

// Batching left JSON-RPC over MCP in 2025-06-18; 2025-03-26 still allows it.
export const BATCHING_VERSIONS = new Set(["2025-03-26", "2024-11-05"]);

// The gateway sends no requests to clients through the SDK, so its sessions need no JSON Schema
// validator; the default would compile an Ajv instance per session for nothing.
const noSchemaValidation: jsonSchemaValidator = {
  getValidator<T>(): JsonSchemaValidator<T> {
    return (input) => ({ valid: true, data: input as T, errorMessage: undefined });
  },
};

const SDK_METHODS = [
  ListToolsRequestSchema,
  CallToolRequestSchema,
  ListPromptsRequestSchema,
  GetPromptRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  CompleteRequestSchema,
];

export const SESSION_IDLE_MS = 2 * 60 * 60_000;
export const DETACHED_IDLE_MS = 5 * 60_000;
/** A comment on every open GET stream this often, as the SDK sends, so that proxies do not cut an idle one. */
const GET_KEEPALIVE_MS = 15_000;

const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" };

/** The refusals of a GET as the SDK transport words them (JSON-RPC error, id null). */
function refuseGet(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}

export function createSessions(deps: SessionDeps) {
  const sessions = new Map<string, Session>();
  const sessionIdleMs = deps.sessionIdleMs ?? SESSION_IDLE_MS;
  const detachedIdleMs = Math.min(deps.detachedIdleMs ?? DETACHED_IDLE_MS, sessionIdleMs);
  const maxSessions = deps.maxSessions ?? 10_000;
  const { metrics } = deps;

  /** Nothing open on it: no GET stream, no call in flight. */
  const isDetached = (session: Session) => session.getStreams === 0 && session.calls.size === 0 && session.direct.size === 0;

  const sweeper = setInterval(sweep, Math.min(60_000, Math.max(250, Math.floor(detachedIdleMs / 4))));
  sweeper.unref();
  // One timer for every session's GET stream, not one per stream.
  const keepAlive = setInterval(() => {
    for (const session of sessions.values()) if (session.getStream && !session.getStream.destroyed) session.getStream.write(": keepalive\n\n");
  }, GET_KEEPALIVE_MS);
  keepAlive.unref();

  function sweep() {
    const now = Date.now();
    for (const session of sessions.values()) {
      const idleMs = now - session.lastActivity;
      if (idleMs > sessionIdleMs || (idleMs > detachedIdleMs && isDetached(session))) void close(session, isDetached(session) ? "idle, detached" : "idle");
    }
  }

  /** At the cap: closes the detached session idle longest, if there is one. */
  function makeRoom(): boolean {
    let oldest: Session | undefined;
    for (const session of sessions.values()) if (isDetached(session) && (!oldest || session.lastActivity < oldest.lastActivity)) oldest = session;
    if (!oldest) return false;
    void close(oldest, "session limit reached: the longest idle detached session makes room");
    return true;
  }

  /**
   * A call's way back to its client: its notifications, and (for a client that can be asked) the
   * upstream's questions, on `notify`'s stream: the call's own, or the session's GET stream.
   */
  function channelOf(session: Session, callId: string | number, notify: Notify, mayBeAsked: boolean): CallChannel {
    return {
      notify: (method, params) => {
        if (method === "notifications/message" && !isLogLevelShown(params?.level, session.logLevel)) return;
        notify(method, params ?? {});
      },
      relay: (spec) => (mayBeAsked ? deps.relay!.forUpstream(session, callId, spec, (method, params) => notify(method, params ?? {})) : undefined),
      ask: mayBeAsked ? { capabilities: session.clientCapabilities, request: (method, params, signal) => deps.relay!.request({ session, callId, server: null, method, params, signal }) } : undefined,
    };
  }

  /** The SDK path's handlers: the same pipeline, its answer as the SDK expects it (thrown errors). */
  function installHandlers(session: Session) {
    for (const schema of SDK_METHODS) {
      session.server.setRequestHandler(schema, async (request, extra) => {
        const call = session.calls.get(extra.requestId) ?? newCall(session, newRequestContext(), extra.requestId, request.method, request.params);
        // A call with no stream of its own (one of a batch, say): the upstream's questions go on the
        // session's GET stream, and are refused at once when none is open (relay.ts).
        if (deps.relay && canBeAsked(session.clientCapabilities)) call.channel = channelOf(session, extra.requestId, session.notify, true);
        const reply = jsonRpcReply(await deps.run(call, extra.signal, session.notify));
        if ("error" in reply) throw new RpcError(reply.error.code, reply.error.message, reply.error.data);
        return reply.result as never;
      });
    }
    // Kept per session and passed to the upstreams this session has connections of its own to;
    // log messages of calls on shared connections are filtered here by the same level.
    session.server.setRequestHandler(SetLevelRequestSchema, (request) => {
      session.logLevel = request.params.level;
      if (session.id) deps.setLogLevel?.(session.id, request.params.level);
      return {};
    });
  }

  async function open(portal: PortalView, identity: TokenIdentity): Promise<Session> {
    const server = new Server(GATEWAY_SERVER_INFO, {
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true, subscribe: true }, logging: {}, completions: {} },
      instructions: `Portico portal "${portal.slug}": tools from several MCP servers, named <server>_<tool>.`,
      jsonSchemaValidator: noSchemaValidation,
    });
    const session: Session = Object.assign(newCaller({ portalSlug: portal.slug, identity }), {
      server,
      transport: undefined as unknown as StreamableHTTPServerTransport,
      notify: ((method, params) => void server.notification({ method, params }).catch(() => undefined)) as Notify,
      lastActivity: Date.now(),
      calls: new Map<string | number, Call>(),
      direct: new Map<string | number, AbortController>(),
      streams: new Map<string | number, CallStream>(),
      getStreams: 0,
      getStream: null,
      clientCapabilities: null,
      logLevel: null,
      subscriptions: new Map<string, () => void>(),
      deliver(message: Record<string, unknown>, callId: string | number | null): boolean {
        const stream = callId !== null ? session.streams.get(callId) : undefined;
        if (stream?.write(message)) return true;
        if (session.getStreams === 0) return false;
        void transport.send(message as JSONRPCMessage).catch(() => undefined);
        return true;
      },
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => `${deps.sessionIdPrefix ?? ""}${randomUUID()}`,
      // One JSON body per POST: an SSE response costs several socket writes and a web stream per
      // request. Progress goes on the session's GET stream.
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        session.id = id;
        sessions.set(id, session);
        metrics.sessions.set(sessions.size);
      },
      onsessionclosed: () => undefined,
    });
    session.transport = transport;
    session.notifyLater = session.notify;
    transport.onclose = () => {
      session.getStream?.end();
      deps.relay?.dropSession(session);
      for (const release of session.subscriptions?.values() ?? []) release();
      session.subscriptions?.clear();
      for (const controller of session.direct.values()) controller.abort(new Error("the session closed"));
      for (const call of [...session.calls.values()]) endCall(session, call, null);
      if (session.id && sessions.get(session.id) === session) {
        sessions.delete(session.id);
        metrics.sessions.set(sessions.size);
      }
    };
    installHandlers(session);
    server.onerror = (error) => log("debug", "mcp session error", { sessionId: session.id, ...describeError(error) });
    await server.connect(transport);
    hookAudit(session, transport);
    return session;
  }

  /** The SDK path's audit hook: one call per JSON-RPC request as it enters, audited as its response leaves. */
  function hookAudit(session: Session, transport: StreamableHTTPServerTransport) {
    const receive = transport.onmessage!;
    transport.onmessage = (message, extra) => {
      const m = message as JsonRpcMessage;
      const ctx = (extra?.authInfo?.extra?.ctx as RequestContext | undefined) ?? newRequestContext();
      if (isRequest(m)) {
        if (m.method === "initialize") {
          const info = (m.params as { clientInfo?: { name?: unknown; version?: unknown } } | undefined)?.clientInfo;
          session.clientName = typeof info?.name === "string" ? info.name.slice(0, 200) : null;
          session.clientVersion = typeof info?.version === "string" ? info.version.slice(0, 100) : null;
          const capabilities = (m.params as { capabilities?: unknown } | undefined)?.capabilities;
          session.clientCapabilities = capabilities && typeof capabilities === "object" && !Array.isArray(capabilities) ? (capabilities as ClientCapabilities) : null;
        }
        session.calls.set(m.id, newCall(session, ctx, m.id, m.method, m.params));
      } else if (m.method === "notifications/cancelled") {
        cancel(session, (m.params as { requestId?: string | number } | undefined)?.requestId);
      } else if (m.method === "notifications/roots/list_changed") {
        deps.relay?.rootsChanged(session);
      }
      receive(message, extra);
    };
    const send = transport.send.bind(transport);
    transport.send = (message: JSONRPCMessage, sendOptions) => {
      const m = message as JsonRpcMessage;
      // What belongs to no request goes on the GET stream, or nowhere when none is open (as in the SDK).
      if (sendOptions?.relatedRequestId === undefined && !isResponse(m)) {
        const stream = session.getStream;
        if (stream && !stream.destroyed) stream.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
        return Promise.resolve();
      }
      const call = m.id !== undefined && m.method === undefined ? session.calls.get(m.id) : undefined;
      if (call) {
        if (call.method === "initialize" && m.result && typeof m.result === "object") {
          const version = (m.result as { protocolVersion?: unknown }).protocolVersion;
          session.protocolVersion = typeof version === "string" ? version : null;
        }
        endCall(session, call, { error: m.error as { code: number; message: string } | undefined, bytes: Buffer.byteLength(JSON.stringify(message)) });
      }
      const maps = m.id !== undefined && m.id !== null ? sdkStreamMaps(transport) : undefined;
      const streamId = maps?._requestToStreamMapping?.get(m.id!);
      const sent = send(message, sendOptions);
      // Once the last answer of its POST has gone, the POST's entry is released (see sdkStreamMaps).
      if (streamId === undefined) return sent;
      return sent.then(() => {
        for (const other of maps!._requestToStreamMapping!.values()) if (other === streamId) return;
        maps!._streamMapping?.delete(streamId);
      });
    };
  }

  function cancel(session: Session, requestId: string | number | undefined) {
    const call = requestId !== undefined ? session.calls.get(requestId) : undefined;
    if (!call || requestId === undefined) return;
    call.upstreamOutcome = "cancelled";
    call.reasons.push("cancelled by the client");
    endCall(session, call, null);
    session.direct.get(requestId)?.abort(new Error("cancelled by the client"));
  }

  function endCall(session: Session, call: Call, response: Response | null) {
    if (session.calls.get(call.id) === call) session.calls.delete(call.id);
    deps.finish(call, response);
  }

  /** Whether a lone message can skip the SDK's layers (see the module comment). */
  function canAnswerDirectly(req: IncomingMessage, message: JsonRpcMessage): boolean {
    if (!isRequest(message) || !DIRECT_METHODS.has(message.method)) return false;
    const version = req.headers["mcp-protocol-version"];
    return version === undefined || (typeof version === "string" && SUPPORTED_PROTOCOL_VERSIONS.includes(version));
  }

  async function answerDirectly(session: Session, req: IncomingMessage, message: JsonRpcMessage & { id: string | number; method: string }, ctx: RequestContext, res: ServerResponse) {
    const call = newCall(session, ctx, message.id, message.method, message.params);
    session.calls.set(message.id, call);
    const controller = new AbortController();
    session.direct.set(message.id, controller);
    const stream = createCallStream(res, acceptsEventStream(req), { "mcp-session-id": session.id });
    // Only a client the upstream may ask things of pays for an upstream connection of its own (relay.ts).
    const mayBeAsked = deps.relay !== undefined && canBeAsked(session.clientCapabilities);
    if (mayBeAsked) session.streams.set(message.id, stream);
    // Progress and log messages go ahead of the answer on its own stream, in order; a client
    // that cannot take a stream gets them on the session's GET stream, as before.
    const notify: Notify = (method, params) => {
      if (!stream.write({ jsonrpc: "2.0", method, params })) session.notify(method, params);
    };
    call.channel = channelOf(session, message.id, notify, mayBeAsked);
    let answer: Answer;
    try {
      answer = await deps.run(call, controller.signal, notify);
    } finally {
      session.direct.delete(message.id);
      session.streams.delete(message.id);
    }
    // A cancelled call is answered too (a client ignores answers to ids it gave up on), so the
    // POST does not hang; its audit event went out when the cancellation came in.
    const response = stream.end(message.id, answer);
    endCall(session, call, response);
  }

  /** Hands a request to its session: directly for the hot path, else through the SDK transport. */
  async function handle(session: Session, req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, input: { ctx: RequestContext; body?: unknown; messages: JsonRpcMessage[] }) {
    session.lastActivity = Date.now();
    const lone = input.messages.length === 1 ? input.messages[0]! : undefined;
    if (req.method === "POST" && lone && canAnswerDirectly(req, lone)) return answerDirectly(session, req, lone as JsonRpcMessage & { id: string | number; method: string }, input.ctx, res);
    // The client's answers to what the relay asked it: they are the relay's, not the SDK's.
    if (req.method === "POST" && deps.relay && input.messages.length > 0 && input.messages.every(isResponse)) {
      for (const m of input.messages) deps.relay.accept(session, m);
      return void res.writeHead(202, { "mcp-session-id": session.id }).end();
    }
    if (req.method === "GET") return openGetStream(session, req, res);
    // The raw token stays out of the SDK's hands: nothing downstream of this point needs it.
    const { identity } = session;
    req.auth = { token: "", clientId: identity.clientId ?? identity.subject, scopes: identity.scopes, expiresAt: identity.expiresAt ?? undefined, extra: { ctx: input.ctx } };
    await session.transport.handleRequest(req, res, input.body);
  }

  /**
   * The session's stream for messages that belong to no request, checked as the SDK transport
   * checks it (the session itself was found by its id before this). No replay: the gateway keeps
   * no event store, so Last-Event-ID is ignored, as the SDK does without one.
   */
  function openGetStream(session: Session, req: IncomingMessage, res: ServerResponse) {
    if (!acceptsEventStream(req)) return refuseGet(res, 406, "Not Acceptable: Client must accept text/event-stream");
    const version = req.headers["mcp-protocol-version"];
    if (version !== undefined && (typeof version !== "string" || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))) {
      return refuseGet(res, 400, `Bad Request: Unsupported protocol version: ${String(version)} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`);
    }
    if (session.getStream) return refuseGet(res, 409, "Conflict: Only one SSE stream is allowed per session");
    res.writeHead(200, { ...SSE_HEADERS, "mcp-session-id": session.id });
    res.flushHeaders();
    session.getStream = res;
    session.getStreams += 1;
    res.once("close", () => {
      if (session.getStream === res) session.getStream = null;
      session.getStreams -= 1;
      // A dropped stream starts the detached clock: a client still there opens it again or calls.
      session.lastActivity = Date.now();
    });
  }

  async function close(session: Session, why: string) {
    log("debug", "closing mcp session", { sessionId: session.id, why });
    sessions.delete(session.id);
    metrics.sessions.set(sessions.size);
    await session.transport.close().catch(() => undefined);
    await session.server.close().catch(() => undefined);
  }

  return {
    open,
    handle,
    close,
    get: (id: string) => sessions.get(id),
    all: () => sessions.values(),
    size: () => sessions.size,
    /** True when no session can be opened now (at the cap, with no detached session to close). */
    isFull: () => sessions.size >= maxSessions && !makeRoom(),
    async closeAll() {
      clearInterval(sweeper);
      clearInterval(keepAlive);
      await Promise.all([...sessions.values()].map((s) => close(s, "shutdown")));
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
