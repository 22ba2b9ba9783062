import type { IncomingMessage, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";

import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import { type Answer } from "./answer";
import type { TokenIdentity, TokenVerifier } from "./auth";
import type { EmitAuditEvent } from "./audit";
import { createCatalog } from "./catalog";
import { rpcEnding, type Call, type RequestContext } from "./exchange";
import { headerValue, sendJsonRpcError, type JsonRpcMessage } from "./http-util";
import { createListeners } from "./listeners";
import { describeError, log } from "./log";
import type { GatewayMetrics } from "./metrics";
import { isModernPost, MODERN_PROTOCOL_VERSIONS } from "./modern";
import type { GatewayState } from "./portal-index";
import { createInputRequired } from "./input-required";
import { createModernUpstreams } from "./modern-upstream";
import { createNonceLog, createRequestStateSeal } from "./request-state";
import { createRelay } from "./relay";
import { BATCHING_VERSIONS, createSessions, type Session } from "./sessions";
import { createAdmit } from "./stages/admit";
import { createAudit, type Response } from "./stages/audit";
import { createAuthenticate } from "./stages/authenticate";
import { createDecide } from "./stages/decide";
import { createElicitStepUp } from "./stages/elicit-step-up";
import { createGrants } from "./stages/grants";
import { createForward, type Notify } from "./stages/forward";
import { createInspectRequest } from "./stages/inspect-request";
import { createInspectResponse } from "./stages/inspect-response";
import { createParse } from "./stages/parse";
import { createResolve } from "./stages/resolve";
import { createStateless, type Refuse } from "./stateless";
import type { GatewayTracing } from "./tracing";
import type { UpstreamPool } from "./upstreams";
import { createVisibleTools } from "./visible-tools";

/**
 * The gateway's request path, top to bottom. For each HTTP request on `/mcp/<portal>`:
 *
 *   admit → authenticate → parse → (era framing: legacy session or stateless request)
 *
 * and for each JSON-RPC request in it, whichever era it came in:
 *
 *   resolve → grants → decide (→ elicit step-up) → inspect request (DLP) → forward → inspect response (DLP) → audit
 *
 * Each stage is its own module under stages/, with one interface and its own tests, and is timed
 * into `portico_gateway_stage_seconds{stage}`. A stage ends a request by returning an `Ending`
 * (exchange.ts); audit runs whichever stage ended it. Sessions, subscription streams, list fan-out
 * and the two eras' framing sit beside the path (sessions.ts, listeners.ts, catalog.ts,
 * stateless.ts), never inside a stage.
 */

export type PipelineOptions = {
  getState: () => GatewayState | null;
  upstreams: UpstreamPool;
  verifier: TokenVerifier;
  emit: EmitAuditEvent;
  /** Named in every audit event, so a fleet's events say which replica served them. */
  gatewayName: string;
  metrics: GatewayMetrics;
  gatewayUrl: string;
  /** Where the step-up request page is, for tool errors to link to. */
  controlPlaneUrl?: string;
  allowedOrigins: string[];
  maxBodyBytes: number;
  upstreamTimeoutMs?: number;
  sessionIdleMs?: number;
  /** Idle timeout of a legacy session with no stream open and nothing in flight (sessions.ts). */
  detachedIdleMs?: number;
  maxSessions?: number;
  sessionIdPrefix?: string;
  /** Seals input_required state so that any gateway of the fleet can open it (request-state.ts); absent: a key of this process. */
  requestStateKey?: Buffer;
  /** OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT is set (gateway/tracing.ts); otherwise absent. */
  tracing?: GatewayTracing | null;
};

export function createPipeline(options: PipelineOptions) {
  const { metrics } = options;
  const time = metrics.timeStage;
  const visibleTools = createVisibleTools((server, tool, hash) => options.upstreams.hasDrifted(server, tool, hash));
  const catalog = createCatalog({ upstreams: options.upstreams, visibleTools, metrics, upstreamTimeoutMs: options.upstreamTimeoutMs });

  const admit = createAdmit({ gatewayUrl: options.gatewayUrl, allowedOrigins: options.allowedOrigins });
  const authenticate = createAuthenticate({ verifier: options.verifier, gatewayUrl: options.gatewayUrl });
  const parse = createParse({ maxBodyBytes: options.maxBodyBytes });
  const resolve = createResolve({ getState: options.getState, hasDrifted: (s, t, h) => options.upstreams.hasDrifted(s, t, h) });
  const grants = createGrants();
  const decide = createDecide({ gatewayUrl: options.gatewayUrl, controlPlaneUrl: options.controlPlaneUrl });
  const elicitStepUp = createElicitStepUp();
  const forward = createForward({ upstreams: options.upstreams, visibleTools, catalog, metrics, upstreamTimeoutMs: options.upstreamTimeoutMs });
  const inspectRequest = createInspectRequest();
  const inspectResponse = createInspectResponse();
  const audit = createAudit({ emit: options.emit, metrics, gatewayName: options.gatewayName });

  /** resolve → decide → forward for one JSON-RPC request. Never throws: a failure is an answer. */
  async function runStages(call: Call, signal: AbortSignal, notify?: Notify): Promise<Answer> {
    let started = performance.now();
    const unresolved = resolve(call);
    let now = performance.now();
    time("resolve", now - started);
    if (unresolved) return { ending: unresolved };

    started = now;
    grants.check(call);
    const denied = decide(call);
    if (!denied) grants.settle(call);
    now = performance.now();
    time("decide", now - started);
    // A step-up for a client that can be asked becomes a URL elicitation; it waits on the client, so it is not decide's time.
    if (denied) return { ending: call.stepUp && call.channel?.ask ? await elicitStepUp(call, denied, signal) : denied };

    started = now;
    const blocked = inspectRequest(call);
    now = performance.now();
    time("inspect_request", now - started);
    if (blocked) return { ending: blocked };

    started = now;
    let answer: Answer;
    try {
      answer = await forward(call, signal, notify);
    } catch (error) {
      log("error", "mcp request failed", { requestId: call.ctx.requestId, ...describeError(error) });
      return { ending: rpcEnding(ErrorCode.InternalError, "The gateway could not complete the request.") };
    } finally {
      time("forward", performance.now() - started);
    }
    started = performance.now();
    answer = inspectResponse.inspect(call, answer);
    time("inspect_response", performance.now() - started);
    return answer;
  }

  function finishAudit(call: Call, response: Response | null) {
    const started = performance.now();
    inspectResponse.forAudit(call);
    audit.finish(call, response);
    time("audit", performance.now() - started);
  }

  // Tracing wraps both ends of a call once, here; without it the stages run as they are, with no
  // span, context or header made per request.
  const { run, finish } = options.tracing
    ? { run: options.tracing.wrapRun(runStages), finish: options.tracing.wrapFinish(finishAudit) }
    : { run: runStages, finish: finishAudit };

  const listeners = createListeners({ visibleTools, maxListeners: options.maxSessions });
  const relay = createRelay({ emit: options.emit, upstreams: options.upstreams, gatewayName: options.gatewayName, dlpOf: (slug) => options.getState()?.portals.get(slug)?.dlp });
  const sessions = createSessions({ metrics, run, finish, sessionIdleMs: options.sessionIdleMs, detachedIdleMs: options.detachedIdleMs, maxSessions: options.maxSessions, sessionIdPrefix: options.sessionIdPrefix, relay, setLogLevel: options.upstreams.setRelayLogLevel });
  if (!options.requestStateKey) log("warn", "no credential key (PORTICO_GATEWAY_CREDENTIAL_KEY or PORTICO_SECRET_KEY): input_required state is sealed with a key of this process, so retries must reach this gateway");
  const seal = createRequestStateSeal(options.requestStateKey ?? randomBytes(32));
  const modernUpstreams = createModernUpstreams({ headersFor: options.upstreams.headersFor, onListChanged: (spec, what) => options.upstreams.listChanged(spec, what) });
  const modern = { upstreams: modernUpstreams, seal, nonces: createNonceLog(), timeoutMs: options.upstreamTimeoutMs ?? 30_000 };
  const inputRequired = createInputRequired({ upstreams: options.upstreams, seal, gatewayName: options.gatewayName });
  const stateless = createStateless({ run, finish, listeners, inputRequired, modern, audit: { emit: options.emit, gatewayName: options.gatewayName } });

  /** One HTTP request on `/mcp/<slug>`: admit → authenticate → parse → its era's framing. */
  async function handle(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, slug: string, ctx: RequestContext): Promise<void> {
    let started = performance.now();
    const admission = admit({ method: req.method, origin: headerValue(req, "origin"), slug, state: options.getState() });
    let now = performance.now();
    time("admit", now - started);
    for (const name in admission.headers) res.setHeader(name, admission.headers[name]!);
    if (admission.kind === "preflight") return void res.writeHead(204).end();
    if (admission.kind === "refused") {
      if (admission.status === 403 || admission.status === 404) metrics.countRequest(admission.knownPortal ? slug : "unknown", "none", "refused");
      if (admission.status === 403) log("info", "mcp request refused: origin not allowed", { requestId: ctx.requestId, portal: slug });
      return void sendJsonRpcError(res, admission.status, -32000, admission.message);
    }
    const { portal, state } = admission;

    started = now;
    const auth = await authenticate(headerValue(req, "authorization"), portal);
    now = performance.now();
    time("authenticate", now - started);
    if (!auth.ok) {
      const bytes = sendJsonRpcError(res, auth.status, -32000, auth.message, { headers: auth.headers });
      log("info", "mcp request refused", { requestId: ctx.requestId, portal: slug, status: auth.status, reason: auth.reason });
      if (req.method === "POST") audit.refusal({ ctx, portal: slug, identity: null, method: "unauthenticated", reasons: [auth.reason], status: auth.status, responseBytes: bytes });
      return;
    }
    const { identity } = auth;
    const sessionId = headerValue(req, "mcp-session-id");
    if (options.tracing) {
      ctx.traceparent = headerValue(req, "traceparent");
      ctx.tracestate = headerValue(req, "tracestate");
    }

    if (req.method !== "POST") return toSession(req, res, { ctx, messages: [] }, { slug, identity, sessionId }, (status, code, message) => void sendJsonRpcError(res, status, code, message));

    started = now;
    const parsed = await parse(req);
    time("parse", performance.now() - started);
    if (!parsed.ok) {
      if (parsed.aborted) return;
      ctx.requestBytes = parsed.bytes ?? 0;
      const bytes = sendJsonRpcError(res, parsed.status, parsed.code, parsed.message, parsed.status === 413 ? { headers: { connection: "close" } } : {});
      audit.refusal({ ctx, portal: slug, identity, method: "invalid", reasons: [parsed.reason], status: parsed.status, sessionId: sessionId ?? null, responseBytes: bytes });
      return;
    }
    ctx.requestBytes = parsed.bytes;
    ctx.isBatch = parsed.isBatch;
    const { messages } = parsed;
    const firstMethod = messages.find((m) => typeof m.method === "string")?.method ?? "unknown";
    const refuse: Refuse = (status, code, message, reasons, headers, data) => {
      const id = messages.length === 1 && messages[0]?.id !== undefined ? messages[0].id : null;
      const bytes = sendJsonRpcError(res, status, code, message, { headers, data, id });
      audit.refusal({ ctx, portal: slug, identity, method: firstMethod, reasons, status, sessionId: sessionId ?? null, responseBytes: bytes });
    };

    const headerVersion = headerValue(req, "mcp-protocol-version");
    if (isModernPost(headerVersion, messages)) {
      const headers = { protocolVersion: headerVersion, method: headerValue(req, "mcp-method"), name: headerValue(req, "mcp-name") };
      return stateless(req, res, { portal, state, identity, ctx, messages, headers }, refuse);
    }

    if (messages.some((m) => m.method === "initialize")) {
      if (messages.length > 1) return refuse(400, ErrorCode.InvalidRequest, "Invalid Request: initialize must be sent alone, not in a batch.", ["initialize in a batch"]);
      if (sessionId) return refuse(400, ErrorCode.InvalidRequest, "Invalid Request: initialize must not carry an Mcp-Session-Id.", ["initialize with a session id"]);
      if (sessions.isFull()) return refuse(503, ErrorCode.InternalError, "Too many open sessions; try again later.", ["session limit reached"], { "retry-after": "5" });
      const session = await sessions.open(portal, identity);
      return sessions.handle(session, req, res, { ctx, body: parsed.body, messages });
    }
    return toSession(req, res, { ctx, body: parsed.body, messages }, { slug, identity, sessionId }, (status, code, message, reason) => refuse(status, code, message, [reason]));
  }

  /** A request in an open legacy session (POST, GET stream, DELETE), bound to its portal and principal. */
  function toSession(
    req: IncomingMessage & { auth?: AuthInfo },
    res: ServerResponse,
    input: { ctx: RequestContext; body?: unknown; messages: JsonRpcMessage[] },
    who: { slug: string; identity: TokenIdentity; sessionId: string | undefined },
    refuse: (status: number, code: number, message: string, reason: string) => void,
  ): Promise<void> | void {
    if (!who.sessionId) return refuse(400, -32000, `Bad Request: Mcp-Session-Id header is required. Send initialize first to open a session, or use protocol version ${MODERN_PROTOCOL_VERSIONS[0]}, which needs none.`, "no session id");
    const session = sessions.get(who.sessionId);
    // Another caller's session id is as good as unknown.
    if (!session || session.portalSlug !== who.slug || session.identity.subject !== who.identity.subject || session.identity.kind !== who.identity.kind) {
      return refuse(404, -32001, "Session not found.", "unknown session");
    }
    // Fresh claims (groups, MFA) from the token just verified; the subject cannot change.
    session.identity = who.identity;
    // An array is a batch however many messages it holds: a batch of one is refused as well.
    if (input.ctx.isBatch && !BATCHING_VERSIONS.has(session.protocolVersion ?? "")) {
      return refuse(400, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not supported in protocol version ${session.protocolVersion}.`, "batch not allowed");
    }
    return sessions.handle(session, req, res, input);
  }

  /** After a config swap: tell callers whose lists changed, end what belongs to removed portals or revoked callers. */
  function onConfigChange(next: GatewayState, previous: GatewayState | null) {
    const now = Date.now();
    // Every request checks revocations as it comes; a stream that is only listening must be ended.
    listeners.drop((caller) => !next.portals.has(caller.portalSlug) || next.revocations.check(caller.identity, now) !== null);
    modernUpstreams.retain([...next.portals.values()].flatMap((portal) => [...portal.servers.values()]));
    for (const slug of next.portals.keys()) {
      listeners.notify(slug, "tools", next);
      if (previous?.portals.get(slug)?.serversFingerprint !== next.portals.get(slug)?.serversFingerprint) {
        listeners.notify(slug, "prompts", next);
        listeners.notify(slug, "resources", next);
      }
    }
    for (const session of [...sessions.all()]) {
      const portal = next.portals.get(session.portalSlug);
      if (!portal || next.revocations.check(session.identity, now) !== null) {
        void sessions.close(session, portal ? "access revoked" : "portal removed");
        continue;
      }
      refreshToolList(session, next);
      if (previous?.portals.get(session.portalSlug)?.serversFingerprint !== portal.serversFingerprint) {
        session.resourceRoutes = null;
        void session.server.sendPromptListChanged().catch(() => undefined);
        void session.server.sendResourceListChanged().catch(() => undefined);
      }
    }
  }

  /** Tells a session its tools changed, if the names it last listed are no longer what it would see. */
  function refreshToolList(session: Session, state: GatewayState) {
    const portal = state.portals.get(session.portalSlug);
    if (session.listedTools === null || !portal) return;
    try {
      const { stamp } = visibleTools.of(state, portal, session.identity, null);
      if (stamp === session.listedTools) return;
      session.listedTools = stamp;
      void session.server.sendToolListChanged().catch(() => undefined);
    } catch (error) {
      log("warn", "could not compute tools for list_changed", { sessionId: session.id, ...describeError(error) });
    }
  }

  /** An upstream changed its tools (drift), prompts or resources: tell the callers that can see it. */
  options.upstreams.onChange(({ server, what }) => {
    const state = options.getState();
    if (!state) return;
    if (what === "tools") visibleTools.invalidate();
    for (const [slug, portal] of state.portals) if (portal.servers.has(server)) listeners.notify(slug, what, state);
    for (const session of sessions.all()) {
      if (!state.portals.get(session.portalSlug)?.servers.has(server)) continue;
      if (what === "tools") refreshToolList(session, state);
      else if (what === "prompts") void session.server.sendPromptListChanged().catch(() => undefined);
      else {
        session.resourceRoutes = null;
        void session.server.sendResourceListChanged().catch(() => undefined);
      }
    }
  });

  return {
    handle,
    onConfigChange,
    sessionCount: () => sessions.size(),
    async close() {
      listeners.endAll();
      modernUpstreams.close();
      await sessions.closeAll();
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;

