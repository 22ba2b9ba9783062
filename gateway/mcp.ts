import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";

import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type CallToolRequest,
  type GetPromptRequest,
  type ReadResourceRequest,
  type CallToolResult,
  type JSONRPCMessage,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import type { JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";

import { capPayload, mcpRequestEvent, type EmitAuditEvent } from "./audit";
import { bearerChallenge, type TokenIdentity } from "./auth";
import { describeError, log } from "./log";
import { methodLabel, type GatewayMetrics } from "./metrics";
import type { CallContext, ExposedTool, GatewayState, PortalView } from "./portal-index";
import { UpstreamError, type UpstreamPool, type UpstreamSpec } from "./upstreams";
import { isRequest, sendJsonRpcError, type JsonRpcMessage } from "./http-util";
import { checkModernMessage, checkStandardHeaders, discoverResult, isModernPost, modernResult, MODERN_PROTOCOL_VERSIONS, type StandardHeaders } from "./modern";

/**
 * The legacy-era MCP front door (2025-11-25, 2025-06-18, 2025-03-26): one SDK `Server` and one
 * Streamable HTTP transport per session, bound at `initialize` to one portal and one principal.
 * Every handler reads the *current* snapshot, so a tool turned off stops working on the very next
 * call, in every open session.
 */

export const GATEWAY_SERVER_INFO = { name: "portico-gateway", version: "0.1.0" };

/** Facts about one HTTP request, handed to the MCP handlers through `authInfo.extra`. */
export type RequestContext = {
  requestId: string;
  receivedAt: Date;
  startedAt: number;
  sourceIp: string | null;
  requestBytes: number;
  isBatch: boolean;
};

type Draft = {
  method: string;
  ctx: RequestContext;
  server?: string;
  tool?: string;
  exposedName?: string;
  outcome: "allow" | "deny";
  reasons: string[];
  upstreamOutcome?: string;
  upstreamMs?: number;
  arguments?: unknown;
  result?: unknown;
  finalized: boolean;
};

type Session = {
  id: string;
  portalSlug: string;
  identity: TokenIdentity;
  transport: StreamableHTTPServerTransport;
  server: Server;
  clientName: string | null;
  clientVersion: string | null;
  protocolVersion: string | null;
  lastActivity: number;
  drafts: Map<string | number, Draft>;
  /** What was last listed to this session (see toolListStamp), to tell it when that changes. */
  listedTools: string | null;
  /** Resource URI → server slug, from this session's last resources/list. */
  resourceRoutes: Map<string, string> | null;
  templateRoutes: { slug: string; template: UriTemplate }[] | null;
  /** Requests answered without the SDK transport (see answerDirectly), by JSON-RPC id: their aborts. */
  direct: Map<string | number, AbortController>;
};

export type McpServiceOptions = {
  getState: () => GatewayState | null;
  upstreams: UpstreamPool;
  emit: EmitAuditEvent;
  metrics: GatewayMetrics;
  gatewayUrl: string;
  upstreamTimeoutMs?: number;
  sessionIdleMs?: number;
  maxSessions?: number;
  /** Put before every session id (`g1.`), so a load balancer can route a session to this replica. */
  sessionIdPrefix?: string;
};

type CallToolParams = CallToolRequest["params"];

type ListenFilter = { toolsListChanged?: true; promptsListChanged?: true; resourcesListChanged?: true };

type Listener = { session: Session; id: string | number; filter: ListenFilter; res: ServerResponse; keepAlive: NodeJS.Timeout | undefined };

// Batching left JSON-RPC over MCP in 2025-06-18; 2025-03-26 still allows it.
const BATCHING_VERSIONS = new Set(["2025-03-26", "2024-11-05"]);

/** Methods answered without the SDK transport when sent alone (see answerDirectly). */
const DIRECT_METHODS = new Set(["tools/call", "tools/list"]);

// The gateway never elicits, so its sessions need no JSON Schema validator; the default would
// compile an Ajv instance per session for nothing.
const noSchemaValidation: jsonSchemaValidator = {
  getValidator<T>(): JsonSchemaValidator<T> {
    return (input) => ({ valid: true, data: input as T, errorMessage: undefined });
  },
};

/**
 * A JSON-RPC error for the client. Not McpError: the SDK would send its message prefixed with
 * "MCP error <code>:" and the client would prefix it again.
 */
class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "RpcError";
  }
}
const rpcError = (code: number, message: string) => new RpcError(code, message);

const toolUnavailable = (name: string, why?: string) =>
  rpcError(ErrorCode.InvalidParams, why ? `Tool "${name}" is not available in this portal: ${why}.` : `Tool "${name}" is not available in this portal.`);

function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

export function createMcpService(options: McpServiceOptions) {
  const sessions = new Map<string, Session>();
  /** Open 2026-07-28 `subscriptions/listen` streams: the stateless era's way to hear of changes. */
  const listeners = new Set<Listener>();
  const sessionIdleMs = options.sessionIdleMs ?? 2 * 60 * 60_000;
  const maxSessions = options.maxSessions ?? 10_000;
  const { metrics } = options;

  const sweeper = setInterval(() => {
    const cutoff = Date.now() - sessionIdleMs;
    for (const session of sessions.values()) {
      if (session.lastActivity < cutoff) void closeSession(session, "idle");
    }
  }, 60_000);
  sweeper.unref();

  /** What tools/list shows: the policy's view, minus tools whose upstream drifted from the pinned definition. */
  function visibleToolsOf(session: Session, state: GatewayState, portal: PortalView, context: CallContext): ExposedTool[] {
    return state.visibleTools(portal, session.identity, context).filter((t) => !options.upstreams.hasDrifted(t.serverSlug, t.upstreamName, t.definitionHash));
  }

  function portalOf(session: Session): { state: GatewayState; portal: PortalView } {
    const state = options.getState();
    const portal = state?.portals.get(session.portalSlug);
    if (!state || !portal) throw rpcError(ErrorCode.InvalidRequest, "This portal is no longer available.");
    return { state, portal };
  }

  function callContext(ctx: RequestContext | undefined, args?: Record<string, unknown>): CallContext {
    return { now: new Date(), sourceIp: ctx?.sourceIp ?? null, arguments: args };
  }

  function finalize(session: Session, id: string | number, response: { error?: { code: number; message: string }; bytes: number } | null) {
    const draft = session.drafts.get(id);
    if (!draft || draft.finalized) return;
    draft.finalized = true;
    session.drafts.delete(id);
    const latencyMs = performance.now() - draft.ctx.startedAt;
    const upstreamOutcome = draft.upstreamOutcome ?? (response?.error ? "error" : response ? "none" : "cancelled");
    const args = capPayload(draft.arguments);
    const result = capPayload(draft.result);
    if (response?.error && draft.outcome === "allow" && draft.reasons.length === 0) draft.reasons.push(response.error.message);
    const method = methodLabel(draft.method);
    metrics.requests.inc({ portal: session.portalSlug, method, outcome: draft.outcome === "deny" ? "deny" : response?.error ? "error" : "allow" });
    metrics.latency.observe({ portal: session.portalSlug, method }, latencyMs / 1000);
    try {
      options.emit(
        mcpRequestEvent({
          time: draft.ctx.receivedAt,
          identity: session.identity,
          portal: session.portalSlug,
          server: draft.server,
          tool: draft.tool,
          action: draft.method,
          outcome: draft.outcome,
          reasons: draft.reasons,
          sourceIp: draft.ctx.sourceIp,
          requestId: draft.ctx.requestId,
          data: {
            clientName: session.clientName,
            clientVersion: session.clientVersion,
            sessionId: session.id || null,
            protocolVersion: session.protocolVersion,
            exposedName: draft.exposedName,
            latencyMs: Math.round(latencyMs * 1000) / 1000,
            requestBytes: draft.ctx.requestBytes,
            responseBytes: response?.bytes ?? 0,
            upstreamOutcome,
            ...(draft.upstreamMs !== undefined ? { upstreamLatencyMs: Math.round(draft.upstreamMs * 1000) / 1000 } : {}),
            ...(args.value !== undefined ? { arguments: args.value, argumentsTruncated: args.truncated || undefined } : {}),
            ...(result.value !== undefined ? { result: result.value, resultTruncated: result.truncated || undefined } : {}),
          },
        }),
      );
    } catch (error) {
      log("error", "audit emit failed", { requestId: draft.ctx.requestId, ...describeError(error) });
    }
  }

  function draftFor(session: Session, requestId: string | number): Draft {
    // Always present for requests that came through the transport; a fallback keeps handlers total.
    return session.drafts.get(requestId) ?? { method: "unknown", ctx: emptyContext(), outcome: "allow", reasons: [], finalized: true };
  }

  function listTools(session: Session, draft: Draft) {
    const { state, portal } = portalOf(session);
    const tools = visibleToolsOf(session, state, portal, callContext(draft.ctx));
    session.listedTools = toolListStamp(tools);
    draft.result = { toolCount: tools.length };
    return { tools: tools.map((t) => t.definition) };
  }

  async function callTool(session: Session, draft: Draft, params: CallToolParams, signal: AbortSignal): Promise<CallToolResult> {
    const { name, arguments: args } = params;
    draft.exposedName = name;
    draft.arguments = args;
    const { state, portal } = portalOf(session);
    const tool = portal.tools.get(name);
    if (!tool) {
      const why = portal.unavailableTools.get(name);
      draft.outcome = "deny";
      draft.reasons.push(why ? `tool not available: ${why}` : "tool not available in this portal");
      throw toolUnavailable(name, why);
    }
    draft.server = tool.serverSlug;
    draft.tool = tool.upstreamName;
    if (options.upstreams.hasDrifted(tool.serverSlug, tool.upstreamName, tool.definitionHash)) {
      draft.outcome = "deny";
      draft.reasons.push("tool definition drifted upstream");
      throw toolUnavailable(name, "the upstream server now describes it differently than the definition an admin accepted");
    }
    const decision = state.decide(portal, tool, session.identity, callContext(draft.ctx, args));
    draft.reasons.push(...decision.reasons);
    if (decision.effect === "deny") {
      draft.outcome = "deny";
      draft.upstreamOutcome = "not_called";
      return errorResult(`Access denied by rule "${decision.rule}": ${decision.reasons.join("; ") || "no role allows this tool"}.`);
    }
    if (decision.effect === "step_up") {
      // Reached only inside a batch; single requests get the HTTP 403 challenge before dispatch.
      draft.outcome = "deny";
      draft.upstreamOutcome = "not_called";
      return errorResult(`This tool needs elevated access (scope "${decision.requiredScope}"). Request step-up in Portico, then retry.`);
    }
    return forwardToolCall(session, portal, tool, args, draft, signal, params._meta?.progressToken);
  }

  async function listPrompts(session: Session, draft: Draft) {
    const lists = await fanOut(session, draft, (spec) => options.upstreams.listPrompts(spec));
    const prompts = lists.flatMap(([slug, items]) => items.map((p) => ({ ...p, name: `${slug}_${p.name}` })));
    draft.result = { promptCount: prompts.length };
    return { prompts };
  }

  async function getPrompt(session: Session, draft: Draft, params: GetPromptRequest["params"], signal: AbortSignal) {
    draft.arguments = params.arguments;
    const { name } = params;
    // Server slugs have no underscore, so the first one ends the prefix.
    const cut = name.indexOf("_");
    const spec = cut > 0 ? visibleServers(session).get(name.slice(0, cut)) : undefined;
    if (!spec) {
      draft.outcome = "deny";
      draft.reasons.push("prompt not available in this portal");
      throw rpcError(ErrorCode.InvalidParams, `Prompt "${name}" is not available in this portal.`);
    }
    draft.server = spec.slug;
    draft.tool = `prompt:${name.slice(cut + 1)}`;
    try {
      const result = await options.upstreams.getPrompt(spec, name.slice(cut + 1), params.arguments, { signal, timeoutMs: options.upstreamTimeoutMs });
      draft.upstreamOutcome = "success";
      return result;
    } catch (error) {
      throw upstreamFailure(draft, error);
    }
  }

  async function listResources(session: Session, draft: Draft) {
    const lists = await fanOut(session, draft, (spec) => options.upstreams.listResources(spec));
    const routes = new Map<string, string>();
    const resources = [];
    for (const [slug, items] of lists) {
      for (const resource of items) {
        // URIs stay as the upstream gave them; the first server (by slug) to claim one wins.
        if (routes.has(resource.uri)) continue;
        routes.set(resource.uri, slug);
        resources.push(resource);
      }
    }
    session.resourceRoutes = routes;
    draft.result = { resourceCount: resources.length };
    return { resources };
  }

  async function listResourceTemplates(session: Session, draft: Draft) {
    const lists = await fanOut(session, draft, (spec) => options.upstreams.listResourceTemplates(spec));
    session.templateRoutes = lists.flatMap(([slug, items]) => items.map((t) => ({ slug, template: new UriTemplate(t.uriTemplate) })));
    return { resourceTemplates: lists.flatMap(([, items]) => items) };
  }

  async function readResource(session: Session, draft: Draft, params: ReadResourceRequest["params"], signal: AbortSignal) {
    const { uri } = params;
    draft.arguments = { uri };
    const servers = visibleServers(session);
    let slug = session.resourceRoutes?.get(uri);
    if (!slug) {
      // Not listed in this session yet: list now (cached upstream-side), then try templates.
      const lists = await fanOut(session, draft, (spec) => options.upstreams.listResources(spec));
      slug = lists.find(([, items]) => items.some((r) => r.uri === uri))?.[0];
      slug ??= session.templateRoutes?.find((t) => t.template.match(uri) !== null)?.slug;
    }
    const spec = slug ? servers.get(slug) : undefined;
    if (!spec) {
      draft.outcome = "deny";
      draft.reasons.push("resource not available in this portal");
      throw rpcError(ErrorCode.InvalidParams, "Resource not available in this portal.");
    }
    draft.server = spec.slug;
    try {
      const result = await options.upstreams.readResource(spec, uri, { signal, timeoutMs: options.upstreamTimeoutMs });
      draft.upstreamOutcome = "success";
      return result;
    } catch (error) {
      throw upstreamFailure(draft, error);
    }
  }

  /**
   * One request, checked as the SDK would check it, to the handler the SDK path runs too: the
   * direct path (answerDirectly) and the 2026-07-28 era (modern.ts) come through here, so every era
   * gets the same policy, audit and upstream handling.
   */
  async function dispatch(session: Session, draft: Draft, message: JsonRpcMessage, signal: AbortSignal): Promise<Record<string, unknown>> {
    const invalid = () => rpcError(ErrorCode.InvalidParams, `Invalid params for ${message.method}.`);
    switch (message.method) {
      case "tools/list":
        if (!ListToolsRequestSchema.safeParse(message).success) throw invalid();
        return listTools(session, draft);
      case "tools/call": {
        const parsed = CallToolRequestSchema.safeParse(message);
        if (!parsed.success) throw rpcError(ErrorCode.InvalidParams, "Invalid params for tools/call: a tool name is required, and arguments must be an object.");
        return callTool(session, draft, parsed.data.params, signal);
      }
      case "prompts/list":
        if (!ListPromptsRequestSchema.safeParse(message).success) throw invalid();
        return listPrompts(session, draft);
      case "prompts/get": {
        const parsed = GetPromptRequestSchema.safeParse(message);
        if (!parsed.success) throw invalid();
        return getPrompt(session, draft, parsed.data.params, signal);
      }
      case "resources/list":
        if (!ListResourcesRequestSchema.safeParse(message).success) throw invalid();
        return listResources(session, draft);
      case "resources/templates/list":
        if (!ListResourceTemplatesRequestSchema.safeParse(message).success) throw invalid();
        return listResourceTemplates(session, draft);
      case "resources/read": {
        const parsed = ReadResourceRequestSchema.safeParse(message);
        if (!parsed.success) throw invalid();
        return readResource(session, draft, parsed.data.params, signal);
      }
      default:
        throw rpcError(ErrorCode.MethodNotFound, `Method not found: ${String(message.method).slice(0, 100)}`);
    }
  }

  function installHandlers(session: Session) {
    const { server } = session;
    server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => listTools(session, draftFor(session, extra.requestId)));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => callTool(session, draftFor(session, extra.requestId), request.params, extra.signal));
    server.setRequestHandler(ListPromptsRequestSchema, async (_request, extra) => listPrompts(session, draftFor(session, extra.requestId)));
    server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => getPrompt(session, draftFor(session, extra.requestId), request.params, extra.signal));
    server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => listResources(session, draftFor(session, extra.requestId)));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async (_request, extra) => listResourceTemplates(session, draftFor(session, extra.requestId)));
    server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => readResource(session, draftFor(session, extra.requestId), request.params, extra.signal));
  }

  /**
   * Servers whose prompts and resources this caller sees: those where a role lets it see at least
   * one tool. Roles grant tools, not prompts; a server a caller has nothing on stays dark.
   */
  function visibleServers(session: Session): Map<string, UpstreamSpec> {
    const { state, portal } = portalOf(session);
    const servers = new Map<string, UpstreamSpec>();
    for (const tool of state.visibleTools(portal, session.identity, callContext(undefined))) {
      const spec = portal.servers.get(tool.serverSlug);
      if (spec) servers.set(spec.slug, spec);
    }
    return servers;
  }

  /** Asks every visible server at once; one that is down or slow is left out, not fatal. */
  async function fanOut<T>(session: Session, draft: Draft, list: (spec: UpstreamSpec) => Promise<T[]>): Promise<Array<[string, T[]]>> {
    const servers = [...visibleServers(session).values()].sort((a, b) => (a.slug < b.slug ? -1 : 1));
    const results = await Promise.allSettled(servers.map((spec) => list(spec)));
    const failed: string[] = [];
    const lists: Array<[string, T[]]> = [];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") lists.push([servers[i]!.slug, r.value]);
      else failed.push(servers[i]!.slug);
    });
    if (failed.length) {
      draft.upstreamOutcome = "partial";
      draft.reasons.push(`left out unavailable servers: ${failed.join(", ")}`);
    } else {
      draft.upstreamOutcome = "success";
    }
    return lists;
  }

  function upstreamFailure(draft: Draft, error: unknown): RpcError {
    if (error instanceof UpstreamError) {
      draft.upstreamOutcome = error.kind;
      metrics.upstreamErrors.inc({ server: error.server, kind: error.kind });
      return rpcError(error.kind === "rejected" ? ErrorCode.InvalidParams : ErrorCode.InternalError, error.publicMessage);
    }
    draft.upstreamOutcome = "failed";
    log("error", "unexpected upstream failure", { requestId: draft.ctx.requestId, ...describeError(error) });
    return rpcError(ErrorCode.InternalError, "The gateway could not complete the request.");
  }

  async function forwardToolCall(
    session: Session,
    portal: PortalView,
    tool: ExposedTool,
    args: Record<string, unknown> | undefined,
    draft: Draft,
    signal: AbortSignal,
    progressToken: string | number | undefined,
  ): Promise<CallToolResult> {
    const spec = portal.servers.get(tool.serverSlug);
    if (!spec) throw toolUnavailable(tool.exposedName);
    const onprogress =
      progressToken === undefined
        ? undefined
        : (progress: Progress) => {
            // JSON responses cannot carry notifications: send it unrelated, on the GET stream if open.
            void session.server.notification({ method: "notifications/progress", params: { progressToken, ...progress } }).catch(() => undefined);
          };
    const upstreamStart = performance.now();
    try {
      const result = await options.upstreams.callTool(spec, tool.upstreamName, args, { signal, timeoutMs: options.upstreamTimeoutMs, onprogress });
      draft.upstreamMs = performance.now() - upstreamStart;
      draft.upstreamOutcome = result.isError ? "tool_error" : "success";
      draft.result = result;
      return result;
    } catch (error) {
      const failure = upstreamFailure(draft, error);
      if (draft.upstreamOutcome === "cancelled") throw failure;
      // A tool that cannot run is a tool result, so the model sees why and can tell the user.
      return errorResult(failure.message);
    }
  }

  async function openSession(portal: PortalView, identity: TokenIdentity): Promise<Session> {
    const server = new Server(GATEWAY_SERVER_INFO, {
      capabilities: { tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
      instructions: `Portico portal "${portal.slug}": tools from several MCP servers, named <server>_<tool>.`,
      jsonSchemaValidator: noSchemaValidation,
    });
    const session: Session = {
      id: "",
      portalSlug: portal.slug,
      identity,
      server,
      transport: undefined as unknown as StreamableHTTPServerTransport,
      clientName: null,
      clientVersion: null,
      protocolVersion: null,
      lastActivity: Date.now(),
      drafts: new Map(),
      listedTools: null,
      resourceRoutes: null,
      templateRoutes: null,
      direct: new Map(),
    };
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => `${options.sessionIdPrefix ?? ""}${randomUUID()}`,
      // One JSON body per POST: an SSE response costs several socket writes and a web stream per
      // request, which is most of the gateway's overhead. Progress goes on the session's GET stream.
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        session.id = id;
        sessions.set(id, session);
        metrics.sessions.set(sessions.size);
      },
      onsessionclosed: () => undefined,
    });
    session.transport = transport;
    transport.onclose = () => {
      for (const controller of session.direct.values()) controller.abort(new Error("the session closed"));
      for (const id of [...session.drafts.keys()]) finalize(session, id, null);
      if (session.id && sessions.get(session.id) === session) {
        sessions.delete(session.id);
        metrics.sessions.set(sessions.size);
      }
    };
    installHandlers(session);
    server.onerror = (error) => log("debug", "mcp session error", { sessionId: session.id, ...describeError(error) });
    await server.connect(transport);

    // The audit hook: one draft per JSON-RPC request as it enters, one event as its response leaves.
    const receive = transport.onmessage!;
    transport.onmessage = (message, extra) => {
      const m = message as JsonRpcMessage;
      const ctx = (extra?.authInfo?.extra?.ctx as RequestContext | undefined) ?? emptyContext();
      if (isRequest(m)) {
        if (m.method === "initialize") {
          const info = (m.params as { clientInfo?: { name?: unknown; version?: unknown } } | undefined)?.clientInfo;
          session.clientName = typeof info?.name === "string" ? info.name.slice(0, 200) : null;
          session.clientVersion = typeof info?.version === "string" ? info.version.slice(0, 100) : null;
        }
        session.drafts.set(m.id, { method: m.method, ctx, outcome: "allow", reasons: [], finalized: false });
      } else if (m.method === "notifications/cancelled") {
        const requestId = (m.params as { requestId?: string | number } | undefined)?.requestId;
        const draft = requestId !== undefined ? session.drafts.get(requestId) : undefined;
        if (draft && requestId !== undefined) {
          draft.upstreamOutcome = "cancelled";
          draft.reasons.push("cancelled by the client");
          finalize(session, requestId, null);
          session.direct.get(requestId)?.abort(new Error("cancelled by the client"));
        }
      }
      receive(message, extra);
    };
    const send = transport.send.bind(transport);
    transport.send = (message: JSONRPCMessage, sendOptions) => {
      const m = message as JsonRpcMessage;
      if (m.id !== undefined && m.method === undefined && session.drafts.has(m.id)) {
        const draft = session.drafts.get(m.id)!;
        if (draft.method === "initialize" && m.result && typeof m.result === "object") {
          const version = (m.result as { protocolVersion?: unknown }).protocolVersion;
          session.protocolVersion = typeof version === "string" ? version : null;
        }
        finalize(session, m.id, { error: m.error as { code: number; message: string } | undefined, bytes: Buffer.byteLength(JSON.stringify(message)) });
      }
      return send(message, sendOptions);
    };
    return session;
  }

  async function closeSession(session: Session, why: string) {
    log("debug", "closing mcp session", { sessionId: session.id, why });
    sessions.delete(session.id);
    metrics.sessions.set(sessions.size);
    await session.transport.close().catch(() => undefined);
    await session.server.close().catch(() => undefined);
  }

  /** A request the HTTP layer answers itself, still recorded: denials are what auditors look for. */
  function auditHttpRequest(fields: {
    ctx: RequestContext;
    portal: string;
    identity: TokenIdentity | null;
    method: string;
    outcome: "allow" | "deny";
    reasons: string[];
    status: number;
    sessionId?: string | null;
    server?: string;
    tool?: string;
    responseBytes: number;
  }) {
    metrics.requests.inc({ portal: fields.portal, method: methodLabel(fields.method), outcome: fields.outcome === "deny" ? "deny" : "error" });
    try {
      options.emit(
        mcpRequestEvent({
          time: fields.ctx.receivedAt,
          identity: fields.identity,
          portal: fields.portal,
          server: fields.server,
          tool: fields.tool,
          action: fields.method,
          outcome: fields.outcome,
          reasons: fields.reasons,
          sourceIp: fields.ctx.sourceIp,
          requestId: fields.ctx.requestId,
          data: {
            sessionId: fields.sessionId ?? null,
            httpStatus: fields.status,
            latencyMs: Math.round((performance.now() - fields.ctx.startedAt) * 1000) / 1000,
            requestBytes: fields.ctx.requestBytes,
            responseBytes: fields.responseBytes,
            upstreamOutcome: "not_called",
          },
        }),
      );
    } catch (error) {
      log("error", "audit emit failed", { requestId: fields.ctx.requestId, ...describeError(error) });
    }
  }

  function authInfo(identity: TokenIdentity, ctx: RequestContext): AuthInfo {
    // The raw token stays out of the SDK's hands: nothing downstream of this point needs it.
    return { token: "", clientId: identity.clientId ?? identity.subject, scopes: identity.scopes, expiresAt: identity.expiresAt ?? undefined, extra: { ctx } };
  }

  /**
   * Handles GET, POST and DELETE on `/mcp/<slug>` after Origin, portal and token checks passed.
   * For POST, `messages` is the already parsed and shape-checked body.
   */
  async function handle(
    req: IncomingMessage & { auth?: AuthInfo },
    res: ServerResponse,
    input: { portal: PortalView; identity: TokenIdentity; ctx: RequestContext; body?: unknown; messages?: JsonRpcMessage[] },
  ): Promise<void> {
    const { portal, identity, ctx } = input;
    const sessionHeader = req.headers["mcp-session-id"];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    const messages = input.messages ?? [];
    const firstMethod = messages.find((m) => typeof m.method === "string")?.method ?? req.method ?? "unknown";

    const refuse = (status: number, code: number, message: string, reasons: string[], headers?: Record<string, string>, data?: unknown) => {
      const bytes = sendJsonRpcError(res, status, code, message, { headers, data, id: messages.length === 1 && messages[0]?.id !== undefined ? messages[0].id : null });
      if (req.method === "POST") {
        auditHttpRequest({ ctx, portal: portal.slug, identity, method: firstMethod, outcome: "deny", reasons, status, sessionId, responseBytes: bytes });
      }
    };

    const headerVersion = req.headers["mcp-protocol-version"];
    if (req.method === "POST" && isModernPost(typeof headerVersion === "string" ? headerVersion : undefined, messages)) {
      const header = (name: string) => {
        const value = req.headers[name];
        return typeof value === "string" ? value : undefined;
      };
      const headers = { protocolVersion: header("mcp-protocol-version"), method: header("mcp-method"), name: header("mcp-name") };
      return handleModern(res, { ...input, messages, headerVersion: headers.protocolVersion, headers }, refuse);
    }

    const isInitialize = messages.some((m) => m.method === "initialize");
    let session: Session | undefined;
    if (req.method === "POST" && isInitialize) {
      if (messages.length > 1) return refuse(400, ErrorCode.InvalidRequest, "Invalid Request: initialize must be sent alone, not in a batch.", ["initialize in a batch"]);
      if (sessionId) return refuse(400, ErrorCode.InvalidRequest, "Invalid Request: initialize must not carry an Mcp-Session-Id.", ["initialize with a session id"]);
      if (sessions.size >= maxSessions) return refuse(503, ErrorCode.InternalError, "Too many open sessions; try again later.", ["session limit reached"], { "retry-after": "5" });
      session = await openSession(portal, identity);
    } else {
      if (!sessionId) return refuse(400, -32000, "Bad Request: Mcp-Session-Id header is required.", ["no session id"]);
      session = sessions.get(sessionId);
      // A session is bound to its portal and principal: another caller's id is as good as unknown.
      if (!session || session.portalSlug !== portal.slug || session.identity.subject !== identity.subject || session.identity.kind !== identity.kind) {
        return refuse(404, -32001, "Session not found.", ["unknown session"]);
      }
      // Fresh claims (groups, MFA) from the token just verified; the subject cannot change.
      session.identity = identity;
      if (messages.length > 1 && !BATCHING_VERSIONS.has(session.protocolVersion ?? "")) {
        return refuse(400, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not supported in protocol version ${session.protocolVersion}.`, ["batch not allowed"]);
      }
      if (messages.length === 1 && messages[0]!.method === "tools/call") {
        const challenged = stepUpChallenge(session, portal, messages[0]!, ctx, res);
        if (challenged) return;
      }
    }
    session.lastActivity = Date.now();
    if (req.method === "POST" && messages.length === 1 && canAnswerDirectly(req, messages[0]!)) return answerDirectly(session, messages[0]!, ctx, res);
    req.auth = authInfo(identity, ctx);
    await session.transport.handleRequest(req, res, input.body);
  }

  /**
   * One stateless (2026-07-28) request: checked envelope, then the same handlers, policy and audit
   * as a legacy session's, on a session that lives for this request only. Cancelling is closing
   * the connection: the upstream call is cancelled with it.
   */
  async function handleModern(
    res: ServerResponse,
    input: { portal: PortalView; identity: TokenIdentity; ctx: RequestContext; messages: JsonRpcMessage[]; headerVersion: string | undefined; headers: StandardHeaders },
    refuse: (status: number, code: number, message: string, reasons: string[], headers?: Record<string, string>, data?: unknown) => void,
  ): Promise<void> {
    const { portal, identity, ctx, messages } = input;
    if (messages.length !== 1) {
      return refuse(400, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not supported in protocol version ${MODERN_PROTOCOL_VERSIONS[0]}.`, ["batch not allowed"]);
    }
    const message = messages[0]!;
    const check = checkModernMessage(input.headerVersion, message);
    if (!check.ok) return refuse(check.status, check.code, check.message, [check.reason], undefined, check.data);
    const headerRefusal = checkStandardHeaders(input.headers, message);
    if (headerRefusal) return refuse(headerRefusal.status, headerRefusal.code, headerRefusal.message, [headerRefusal.reason]);
    // Notifications have nothing to answer in a stateless exchange.
    if (!isRequest(message)) return void res.writeHead(202).end();

    const session: Session = {
      id: "",
      portalSlug: portal.slug,
      identity,
      server: null as unknown as Server,
      transport: null as unknown as StreamableHTTPServerTransport,
      clientName: check.client.name,
      clientVersion: check.client.version,
      protocolVersion: check.version,
      lastActivity: Date.now(),
      drafts: new Map(),
      listedTools: null,
      resourceRoutes: null,
      templateRoutes: null,
      direct: new Map(),
    };
    if (message.method === "tools/call" && stepUpChallenge(session, portal, message, ctx, res)) return;
    if (message.method === "subscriptions/listen") return listen(session, message, ctx, res, refuse);

    const draft: Draft = { method: message.method, ctx, outcome: "allow", reasons: [], finalized: false };
    session.drafts.set(message.id, draft);
    const controller = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) {
        draft.upstreamOutcome ??= "cancelled";
        controller.abort(new Error("the client closed the connection"));
      }
    });
    let reply: { result: unknown } | { error: { code: number; message: string; data?: unknown } };
    try {
      const result =
        message.method === "server/discover"
          ? discoverResult(`Portico portal "${portal.slug}": tools from several MCP servers, named <server>_<tool>.`)
          : // Progress needs a stream back to the client; a stateless call gets its one answer.
            await dispatch(session, draft, withoutProgressToken(message), controller.signal);
      reply = { result: modernResult(message.method, result, GATEWAY_SERVER_INFO) };
    } catch (error) {
      reply = { error: toJsonRpcError(error, draft) };
    }
    if (controller.signal.aborted) return finalize(session, message.id, null);
    const body = JSON.stringify({ jsonrpc: "2.0", id: message.id, ...reply });
    const bytes = Buffer.byteLength(body);
    res.writeHead(200, { "content-type": "application/json", "content-length": bytes });
    res.end(body);
    finalize(session, message.id, { error: "error" in reply ? reply.error : undefined, bytes });
  }

  /**
   * `subscriptions/listen`: an SSE stream that acknowledges the change notifications the gateway
   * will send (tools, prompts, resources lists; not single-resource subscriptions), then carries
   * them, each stamped with the subscription id, until the client goes away or the gateway stops.
   */
  function listen(
    session: Session,
    message: JsonRpcMessage & { id: string | number },
    ctx: RequestContext,
    res: ServerResponse,
    refuse: (status: number, code: number, message: string, reasons: string[], headers?: Record<string, string>) => void,
  ): void {
    const requested = (message.params as { notifications?: unknown } | undefined)?.notifications;
    if (!requested || typeof requested !== "object" || Array.isArray(requested)) {
      return refuse(400, ErrorCode.InvalidParams, "Invalid params: subscriptions/listen needs a notifications filter object.", ["invalid listen filter"]);
    }
    if (listeners.size >= maxSessions) return refuse(503, ErrorCode.InternalError, "Too many open subscriptions; try again later.", ["subscription limit reached"], { "retry-after": "5" });
    const wants = requested as Record<string, unknown>;
    const honored: ListenFilter = {};
    for (const key of ["toolsListChanged", "promptsListChanged", "resourcesListChanged"] as const) if (wants[key] === true) honored[key] = true;

    const listener: Listener = { session, id: message.id, filter: honored, res, keepAlive: undefined };
    const draft: Draft = { method: "subscriptions/listen", ctx, outcome: "allow", reasons: [], finalized: false, arguments: { notifications: honored } };
    session.drafts.set(message.id, draft);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive" });
    const bytes = sendEvent(listener, "notifications/subscriptions/acknowledged", { notifications: honored });
    finalize(session, message.id, { bytes });
    if (honored.toolsListChanged) {
      const { state, portal } = portalOf(session);
      session.listedTools = toolListStamp(visibleToolsOf(session, state, portal, callContext(undefined)));
    }
    listeners.add(listener);
    // A comment line now and then keeps idle proxies from cutting the stream.
    listener.keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 25_000);
    listener.keepAlive.unref();
    res.once("close", () => {
      clearInterval(listener.keepAlive);
      listeners.delete(listener);
    });
  }

  function sendEvent(listener: Listener, method: string, params: Record<string, unknown> = {}): number {
    const meta = { "io.modelcontextprotocol/subscriptionId": listener.id };
    const data = JSON.stringify({ jsonrpc: "2.0", method, params: { ...params, _meta: meta } });
    const chunk = `event: message\ndata: ${data}\n\n`;
    listener.res.write(chunk);
    return Buffer.byteLength(chunk);
  }

  /** Tells listeners of a portal what changed, each only what it asked for and can see. */
  function notifyListeners(portalSlug: string, what: "tools" | "prompts" | "resources", state: GatewayState) {
    for (const listener of listeners) {
      if (listener.session.portalSlug !== portalSlug) continue;
      if (what === "tools" && listener.filter.toolsListChanged) {
        const portal = state.portals.get(portalSlug);
        if (!portal) continue;
        const stamp = toolListStamp(visibleToolsOf(listener.session, state, portal, callContext(undefined)));
        if (stamp === listener.session.listedTools) continue;
        listener.session.listedTools = stamp;
        sendEvent(listener, "notifications/tools/list_changed");
      } else if (what === "prompts" && listener.filter.promptsListChanged) {
        sendEvent(listener, "notifications/prompts/list_changed");
      } else if (what === "resources" && listener.filter.resourcesListChanged) {
        sendEvent(listener, "notifications/resources/list_changed");
      }
    }
  }

  /** On shutdown: the empty listen result is the spec's graceful end of a subscription. */
  function endListeners() {
    for (const listener of [...listeners]) {
      clearInterval(listener.keepAlive);
      listeners.delete(listener);
      const result = modernResult("subscriptions/listen", { _meta: { "io.modelcontextprotocol/subscriptionId": listener.id } }, GATEWAY_SERVER_INFO);
      listener.res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: listener.id, result })}\n\n`);
    }
  }

  /**
   * The hot path: a lone tools/call or tools/list in an open session, answered here instead of
   * through the SDK's transport and protocol layers. Those turn every POST into a web Request and
   * Response, validate the message again and route it through their own maps, which cost about as
   * much CPU as everything else the gateway does per call (bench/gateway-overhead.ts --profile).
   * Same handlers, same drafts and audit events, same JSON answer as the SDK path gives with JSON
   * responses on. Anything else (initialize, batches, progress tokens, other methods, a protocol
   * version header the SDK would refuse) takes the SDK path.
   */
  function canAnswerDirectly(req: IncomingMessage, message: JsonRpcMessage): boolean {
    if (!isRequest(message) || !DIRECT_METHODS.has(message.method)) return false;
    const version = req.headers["mcp-protocol-version"];
    if (version !== undefined && (typeof version !== "string" || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return false;
    const meta = (message.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
    return meta?.progressToken === undefined;
  }

  async function answerDirectly(session: Session, message: JsonRpcMessage, ctx: RequestContext, res: ServerResponse): Promise<void> {
    const id = message.id as string | number;
    const draft: Draft = { method: message.method!, ctx, outcome: "allow", reasons: [], finalized: false };
    session.drafts.set(id, draft);
    const controller = new AbortController();
    session.direct.set(id, controller);
    let reply: { result: unknown } | { error: { code: number; message: string; data?: unknown } };
    try {
      reply = { result: await dispatch(session, draft, message, controller.signal) };
    } catch (error) {
      reply = { error: toJsonRpcError(error, draft) };
    } finally {
      session.direct.delete(id);
    }
    // A cancelled call is answered too (a client ignores answers to ids it gave up on), so the
    // POST does not hang; its audit event went out when the cancellation came in.
    const body = JSON.stringify({ jsonrpc: "2.0", id, ...reply });
    const bytes = Buffer.byteLength(body);
    res.writeHead(200, { "content-type": "application/json", "content-length": bytes, "mcp-session-id": session.id });
    res.end(body);
    finalize(session, id, { error: "error" in reply ? reply.error : undefined, bytes });
  }

  /** As the SDK's protocol layer answers a handler's error, without passing on unexpected messages. */
  function toJsonRpcError(error: unknown, draft: Draft): { code: number; message: string; data?: unknown } {
    if (error instanceof RpcError) return { code: error.code, message: error.message };
    log("error", "mcp handler failed", { requestId: draft.ctx.requestId, ...describeError(error) });
    return { code: ErrorCode.InternalError, message: "The gateway could not complete the request." };
  }

  /** The spec's step-up: 403 insufficient_scope at the HTTP layer, so the client can re-authorize. */
  function stepUpChallenge(session: Session, portal: PortalView, message: JsonRpcMessage, ctx: RequestContext, res: ServerResponse): boolean {
    const state = options.getState();
    const name = (message.params as { name?: unknown } | undefined)?.name;
    if (!state || typeof name !== "string") return false;
    const tool = portal.tools.get(name);
    if (!tool) return false;
    const args = (message.params as { arguments?: Record<string, unknown> }).arguments;
    const decision = state.decide(portal, tool, session.identity, callContext(ctx, args));
    if (decision.effect !== "step_up") return false;
    const challenge = bearerChallenge({
      gatewayUrl: options.gatewayUrl,
      slug: portal.slug,
      error: "insufficient_scope",
      scope: decision.requiredScope,
      description: "This tool needs elevated access",
    });
    const bytes = sendJsonRpcError(res, 403, -32000, `Tool "${name}" needs elevated access (scope "${decision.requiredScope}").`, {
      id: message.id ?? null,
      headers: { "www-authenticate": challenge },
    });
    auditHttpRequest({
      ctx,
      portal: portal.slug,
      identity: session.identity,
      method: "tools/call",
      outcome: "deny",
      reasons: decision.reasons.length ? decision.reasons : ["step-up required"],
      status: 403,
      sessionId: session.id,
      server: tool.serverSlug,
      tool: tool.upstreamName,
      responseBytes: bytes,
    });
    return true;
  }

  /** Tells a session its tools changed, if the names it last listed are no longer what it would see. */
  function refreshToolList(session: Session, state: GatewayState, portal: PortalView) {
    if (session.listedTools === null) return;
    try {
      const stamp = toolListStamp(visibleToolsOf(session, state, portal, callContext(undefined)));
      if (stamp !== session.listedTools) {
        session.listedTools = stamp;
        void session.server.sendToolListChanged().catch(() => undefined);
      }
    } catch (error) {
      log("warn", "could not compute tools for list_changed", { sessionId: session.id, ...describeError(error) });
    }
  }

  /** After a config swap: tell sessions whose lists changed, and end those of removed portals. */
  function onConfigChange(next: GatewayState, previous: GatewayState | null) {
    for (const listener of [...listeners]) {
      if (!next.portals.has(listener.session.portalSlug)) listener.res.end();
    }
    for (const slug of next.portals.keys()) {
      notifyListeners(slug, "tools", next);
      if (previous?.portals.get(slug)?.serversFingerprint !== next.portals.get(slug)?.serversFingerprint) {
        notifyListeners(slug, "prompts", next);
        notifyListeners(slug, "resources", next);
      }
    }
    for (const session of [...sessions.values()]) {
      const portal = next.portals.get(session.portalSlug);
      if (!portal) {
        void closeSession(session, "portal removed");
        continue;
      }
      refreshToolList(session, next, portal);
      if (previous?.portals.get(session.portalSlug)?.serversFingerprint !== portal.serversFingerprint) {
        session.resourceRoutes = null;
        void session.server.sendPromptListChanged().catch(() => undefined);
        void session.server.sendResourceListChanged().catch(() => undefined);
      }
    }
  }

  /** An upstream changed its tools (drift), prompts or resources: tell the sessions that can see it. */
  options.upstreams.onChange(({ server, what }) => {
    const state = options.getState();
    if (!state) return;
    for (const [slug, portal] of state.portals) if (portal.servers.has(server)) notifyListeners(slug, what, state);
    for (const session of sessions.values()) {
      const portal = state.portals.get(session.portalSlug);
      if (!portal?.servers.has(server)) continue;
      if (what === "tools") refreshToolList(session, state, portal);
      else if (what === "prompts") void session.server.sendPromptListChanged().catch(() => undefined);
      else {
        session.resourceRoutes = null;
        void session.server.sendResourceListChanged().catch(() => undefined);
      }
    }
  });

  return {
    handle,
    auditHttpRequest,
    onConfigChange,
    sessionCount: () => sessions.size,
    async close() {
      clearInterval(sweeper);
      endListeners();
      await Promise.all([...sessions.values()].map((s) => closeSession(s, "shutdown")));
    },
  };
}

/** What a client would notice in tools/list: names, accepted definitions and shown descriptions. */
function toolListStamp(tools: ExposedTool[]): string {
  return tools.map((t) => `${t.exposedName}\t${t.definitionHash}\t${t.definition.description ?? ""}`).join("\n");
}

function withoutProgressToken(message: JsonRpcMessage): JsonRpcMessage {
  const params = message.params as { _meta?: Record<string, unknown> } | undefined;
  if (params?._meta?.progressToken === undefined) return message;
  const meta = { ...params._meta };
  delete meta.progressToken;
  return { ...message, params: { ...params, _meta: meta } };
}

function emptyContext(): RequestContext {
  return { requestId: randomUUID(), receivedAt: new Date(), startedAt: performance.now(), sourceIp: null, requestBytes: 0, isBatch: false };
}

export type McpService = ReturnType<typeof createMcpService>;
