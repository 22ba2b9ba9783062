import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

import { ErrorCode, McpError, type ClientCapabilities, type LoggingLevel } from "@modelcontextprotocol/sdk/types.js";

import { sanitizeAuditEvent } from "@/lib/audit/event";

import type { EmitAuditEvent } from "./audit";
import type { Caller } from "./exchange";
import { describeError, log } from "./log";
import { inspectRelayed, type PortalDlpView, type RelayedInspection } from "./relay-dlp";
import type { ServerRequestRelay, UpstreamPool, UpstreamSpec } from "./upstreams";

/**
 * One channel for what comes from the server side of a legacy session: an upstream's requests to
 * the client (sampling/createMessage, elicitation/create, roots/list) and, later, the gateway's
 * own (issue 10's URL elicitation), sent to the client that made the call (on that call's stream,
 * else the session's GET stream) under an id of the gateway's, and the client's answer handed
 * back. A request goes out only if the client declared the capability at initialize and the
 * admin has not turned it off for the server; otherwise it is refused at once, as the protocol
 * refuses a method a client does not offer. Each is audited as `mcp.server_request`.
 */

/** The session side the relay needs: who, what they declared, and a way to reach them. */
export type RelaySession = Caller & {
  clientCapabilities: ClientCapabilities | null;
  logLevel: LoggingLevel | null;
  /**
   * Sends a message to the client: on the stream of the call `callId` when that call has one,
   * else on the session's GET stream. False when neither is open (nothing was sent).
   */
  deliver(message: Record<string, unknown>, callId: string | number | null): boolean;
};

/** Which capability each relayed method needs, and which admin switch governs it. */
const RELAYED: Record<string, { capability: "sampling" | "elicitation" | "roots"; switch?: "sampling" | "elicitation" }> = {
  "sampling/createMessage": { capability: "sampling", switch: "sampling" },
  "elicitation/create": { capability: "elicitation", switch: "elicitation" },
  "roots/list": { capability: "roots" },
};

/** RFC 5424 order, as logging/setLevel uses it: a message at or above the session's level goes out. */
const LOG_LEVELS: LoggingLevel[] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

export function isLogLevelShown(level: unknown, threshold: LoggingLevel | null): boolean {
  if (threshold === null) return true;
  const at = LOG_LEVELS.indexOf(level as LoggingLevel);
  return at === -1 || at >= LOG_LEVELS.indexOf(threshold);
}

/** What the client must have declared for this request; null when it did. */
export function missingCapability(capabilities: ClientCapabilities | null, method: string, params: Record<string, unknown> | undefined): string | null {
  const rule = RELAYED[method];
  if (!rule) return `${method} is not a request Portico relays`;
  const declared = capabilities?.[rule.capability];
  if (!declared) return `the client did not declare ${rule.capability}`;
  if (method === "elicitation/create") {
    const modes = declared as { form?: unknown; url?: unknown };
    // An empty elicitation object is form mode (the spec's backwards compatibility).
    const mode = params?.mode === "url" ? "url" : "form";
    const hasForm = modes.form !== undefined || modes.url === undefined;
    if (mode === "url" ? modes.url === undefined : !hasForm) return `the client did not declare ${mode}-mode elicitation`;
  }
  return null;
}

/**
 * Why a server's request may not go to the client: the admin turned it off for that server, or
 * the client did not declare what it needs (`capability` names what it would need; null for a
 * method Portico does not relay). Null when it may go. Both eras ask this before asking the client.
 */
export function serverRequestRefusal(
  capabilities: ClientCapabilities | null,
  /** The server asking; null when the gateway asks (no switch applies). */
  spec: Pick<UpstreamSpec, "slug" | "serverRequests"> | null,
  method: string,
  params: Record<string, unknown> | undefined,
): { reason: string; capability: "sampling" | "elicitation" | "roots" | null; switchedOff: boolean } | null {
  const rule = RELAYED[method];
  if (spec && rule?.switch && spec.serverRequests?.[rule.switch] === false) return { reason: `${rule.switch} is turned off for server ${spec.slug}`, capability: rule.capability, switchedOff: true };
  const missing = missingCapability(capabilities, method, params);
  return missing ? { reason: missing, capability: rule?.capability ?? null, switchedOff: false } : null;
}

/** What the gateway declares upstream for a session: the client's own, less what the server's switches turn off. */
export function upstreamCapabilities(capabilities: ClientCapabilities | null, spec: Pick<UpstreamSpec, "serverRequests">): ClientCapabilities {
  const out: ClientCapabilities = {};
  if (!capabilities) return out;
  const switches = spec.serverRequests;
  if (capabilities.sampling && switches?.sampling !== false) out.sampling = capabilities.sampling;
  if (capabilities.elicitation && switches?.elicitation !== false) out.elicitation = capabilities.elicitation;
  if (capabilities.roots) out.roots = capabilities.roots;
  return out;
}

/** Whether calls of this session need a connection of their own upstream (anything to relay). */
export function canBeAsked(capabilities: ClientCapabilities | null): boolean {
  return Boolean(capabilities && (capabilities.sampling || capabilities.elicitation || capabilities.roots));
}

/** One server-initiated request as an audit event: both eras (this relay, and 2026-07-28's input_required rounds) write it so. */
export type ServerRequestRecord = {
  identity: Caller["identity"];
  portalSlug: string;
  /** The legacy session; null for a 2026-07-28 request (it has none). */
  sessionId: string | null;
  clientName: string | null;
  /** The client's request the question belongs to. */
  callId: string | number | null;
  /** The server that asked; null when the gateway asks (issue 10). */
  server: string | null;
  method: string;
  outcome: "success" | "failure" | "deny";
  /** result ("answered", "refused", "blocked", "timed out", ...), action, dlp, request, answer, and era-specific fields. */
  detail: Record<string, unknown>;
  reason: string | null;
  latencyMs: number;
};

export function emitServerRequest(emit: EmitAuditEvent, gatewayName: string | undefined, record: ServerRequestRecord) {
  const { identity } = record;
  try {
    emit(
      sanitizeAuditEvent({
        id: randomUUID(),
        time: new Date(),
        kind: "mcp.server_request",
        actorType: identity.kind,
        actorId: identity.subject,
        actorLabel: identity.email ?? identity.clientId ?? identity.subject,
        action: record.method,
        outcome: record.outcome,
        targetType: record.server ? "server" : "portal",
        targetId: record.server ?? record.portalSlug,
        portal: record.portalSlug,
        server: record.server,
        tool: null,
        reasons: record.reason ? [record.reason] : null,
        data: {
          ...(gatewayName ? { gateway: gatewayName } : {}),
          sessionId: record.sessionId,
          clientName: record.clientName,
          callRequestId: record.callId,
          latencyMs: Math.round(record.latencyMs * 1000) / 1000,
          ...record.detail,
        },
        requestId: null,
      }),
    );
  } catch (error) {
    log("error", "audit emit failed", { sessionId: record.sessionId, ...describeError(error) });
  }
}

/**
 * What the audit keeps of an answer to a relayed request (DLP-redacted as the portal captures),
 * with the elicitation action: the same for a legacy client's response and a 2026-07-28 client's
 * inputResponses entry.
 */
export function answerDetail(method: string, result: unknown, answered: RelayedInspection, dlp: PortalDlpView | undefined, asked?: RelayedInspection): Record<string, unknown> {
  const action = method === "elicitation/create" && result && typeof result === "object" ? (result as { action?: unknown }).action : undefined;
  const findings = [...(asked?.findings ?? []), ...answered.findings];
  return {
    ...(typeof action === "string" ? { action } : {}),
    ...(findings.length && dlp?.capture !== "off" ? { dlp: findings } : {}),
    ...(asked?.forAudit !== undefined ? { request: asked.forAudit } : {}),
    ...(answered.forAudit !== undefined ? { answer: answered.forAudit } : {}),
  };
}

type Pending = {
  session: RelaySession;
  resolve(result: Record<string, unknown>): void;
  reject(error: McpError): void;
};

export type RelayDeps = {
  emit: EmitAuditEvent;
  upstreams: Pick<UpstreamPool, "releaseRelay" | "sendRootsListChanged">;
  gatewayName?: string;
  /** How long a client has to answer (a person may be filling a form). */
  timeoutMs?: number;
  /** The portal's DLP (relay-dlp.ts): what is relayed goes through its detectors both ways. */
  dlpOf?: (portalSlug: string) => PortalDlpView | undefined;
};

export type RelayRequest = {
  session: RelaySession;
  /** The client's request this one belongs to; null for the session at large. */
  callId: string | number | null;
  /** The upstream that asked; null when the gateway itself asks (issue 10). */
  server: UpstreamSpec | null;
  method: string;
  params: Record<string, unknown> | undefined;
  signal?: AbortSignal;
};

export function createRelay(deps: RelayDeps) {
  const pending = new Map<string, Pending>();
  /** Per session, the servers that asked its client for roots: they hear when the roots change. */
  const rootsAskedBy = new Map<string, Set<string>>();
  const timeoutMs = deps.timeoutMs ?? 10 * 60_000;

  function audit(input: RelayRequest, outcome: "success" | "failure" | "deny", detail: Record<string, unknown>, reason: string | null, startedAt: number) {
    const { session } = input;
    emitServerRequest(deps.emit, deps.gatewayName, {
      identity: session.identity,
      portalSlug: session.portalSlug,
      sessionId: session.id || null,
      clientName: session.clientName,
      callId: input.callId,
      server: input.server?.slug ?? null,
      method: input.method,
      outcome,
      detail,
      reason,
      latencyMs: performance.now() - startedAt,
    });
  }

  /**
   * Asks the client. Resolves with its result; rejects with an McpError carrying the code to
   * answer the asker with (the client's own error, a refusal, a timeout, a cancellation).
   */
  function request(input: RelayRequest): Promise<Record<string, unknown>> {
    const startedAt = performance.now();
    const { session, method, params } = input;
    const refusal = serverRequestRefusal(session.clientCapabilities, input.server, method, params);
    if (refusal) {
      audit(input, "deny", { result: "refused" }, refusal.reason, startedAt);
      return Promise.reject(new McpError(ErrorCode.MethodNotFound, refusal.switchedOff ? `Method not found: ${refusal.capability} is turned off for this server in Portico.` : "Method not found"));
    }
    if (method === "roots/list" && input.server && session.id) {
      let askers = rootsAskedBy.get(session.id);
      if (!askers) rootsAskedBy.set(session.id, (askers = new Set()));
      askers.add(input.server.slug);
    }
    const dlp = deps.dlpOf?.(session.portalSlug);
    const asked = inspectRelayed(dlp, params, "request");
    const seen = (extra: RelayedInspection | null) => {
      const findings = [...asked.findings, ...(extra?.findings ?? [])];
      return {
        ...(findings.length && dlp?.capture !== "off" ? { dlp: findings } : {}),
        ...(asked.forAudit !== undefined ? { request: asked.forAudit } : {}),
        ...(extra?.forAudit !== undefined ? { answer: extra.forAudit } : {}),
      };
    };
    if (asked.refusal) {
      audit(input, "deny", { result: "blocked", ...seen(null) }, `blocked by DLP: ${asked.blockedBy} in the server's request`, startedAt);
      return Promise.reject(new McpError(ErrorCode.InvalidRequest, asked.refusal));
    }
    const id = `portico-${randomUUID()}`;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timers: { timer?: NodeJS.Timeout } = {};
      const settle = () => {
        pending.delete(id);
        clearTimeout(timers.timer);
        input.signal?.removeEventListener("abort", onAbort);
      };
      const giveUp = (error: McpError, result: string) => {
        if (!pending.has(id)) return;
        settle();
        // The client may still be showing a form: tell it the question is withdrawn.
        session.deliver({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: result } }, input.callId);
        audit(input, "failure", { result }, error.message, startedAt);
        reject(error);
      };
      const onAbort = () => giveUp(new McpError(ErrorCode.RequestTimeout, "Request cancelled by the server"), "cancelled");
      pending.set(id, {
        session,
        resolve(result) {
          settle();
          const answered = inspectRelayed(dlp, result, "answer");
          if (answered.refusal) {
            audit(input, "deny", { result: "blocked", ...seen(answered) }, `blocked by DLP: ${answered.blockedBy} in the client's answer`, startedAt);
            return reject(new McpError(ErrorCode.InvalidRequest, answered.refusal));
          }
          const action = method === "elicitation/create" ? (result as { action?: unknown }).action : undefined;
          audit(input, "success", { result: "answered", ...(typeof action === "string" ? { action } : {}), ...seen(answered) }, null, startedAt);
          resolve(result);
        },
        reject(error) {
          settle();
          audit(input, "failure", { result: "client error", errorCode: error.code, ...seen(null) }, error.message, startedAt);
          reject(error);
        },
      });
      if (input.signal?.aborted) return onAbort();
      input.signal?.addEventListener("abort", onAbort, { once: true });
      timers.timer = setTimeout(() => giveUp(new McpError(ErrorCode.RequestTimeout, "The client did not answer in time"), "timed out"), timeoutMs);
      timers.timer.unref();
      if (!session.deliver({ jsonrpc: "2.0", id, method, ...(params !== undefined ? { params } : {}) }, input.callId)) {
        settle();
        audit(input, "failure", { result: "not delivered" }, "the client has no open stream to receive requests on", startedAt);
        reject(new McpError(ErrorCode.InternalError, "The client is not listening for requests from the server"));
      }
    });
  }

  /** A JSON-RPC response from a client: true when it answers one of the relay's requests to that session. */
  function accept(session: RelaySession, message: { id?: unknown; result?: unknown; error?: unknown }): boolean {
    if (typeof message.id !== "string") return false;
    const entry = pending.get(message.id);
    if (!entry || entry.session !== session) return false;
    if (message.error && typeof message.error === "object") {
      const e = message.error as { code?: unknown; message?: unknown; data?: unknown };
      entry.reject(new McpError(typeof e.code === "number" ? e.code : ErrorCode.InternalError, typeof e.message === "string" ? e.message.slice(0, 1000) : "client error", e.data));
    } else {
      entry.resolve(message.result && typeof message.result === "object" ? (message.result as Record<string, unknown>) : {});
    }
    return true;
  }

  /** The relay handle the upstream pool uses for one call of a session (or the session between calls). */
  function forUpstream(session: RelaySession, callId: string | number | null, spec: UpstreamSpec, notify: (method: string, params: Record<string, unknown> | undefined) => void): ServerRequestRelay {
    const make = (id: string | number | null, idle: ServerRequestRelay | null): ServerRequestRelay => ({
      key: session.id,
      capabilities: upstreamCapabilities(session.clientCapabilities, spec),
      logLevel: session.logLevel,
      request: (method, params, signal) => request({ session, callId: id, server: spec, method, params, signal }),
      notify: (method, params) => {
        if (method === "notifications/message" && !isLogLevelShown(params?.level, session.logLevel)) return;
        if (id === null) session.deliver({ jsonrpc: "2.0", method, ...(params !== undefined ? { params } : {}) }, null);
        else notify(method, params);
      },
      idle,
    });
    return callId === null ? make(null, null) : make(callId, make(null, null));
  }

  /** notifications/roots/list_changed from the client: passed to the upstreams that asked it for roots. */
  function rootsChanged(session: RelaySession) {
    const askers = rootsAskedBy.get(session.id);
    if (askers?.size) deps.upstreams.sendRootsListChanged(session.id, askers);
  }

  /** The session ended: what it was asked is withdrawn, its upstream connections closed. */
  function dropSession(session: RelaySession) {
    rootsAskedBy.delete(session.id);
    for (const entry of [...pending.values()]) if (entry.session === session) entry.reject(new McpError(ErrorCode.ConnectionClosed, "The client's session ended"));
    if (session.id) deps.upstreams.releaseRelay(session.id);
  }

  return { request, accept, forUpstream, rootsChanged, dropSession, pendingCount: () => pending.size };
}

export type Relay = ReturnType<typeof createRelay>;
