import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { DlpFinding } from "@/lib/dlp/scan";

import type { CallToolResult, ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";
import type { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";

import type { TokenIdentity } from "./auth";
import type { ExposedTool, GatewayState, PortalView } from "./portal-index";
import type { ServerNotify, ServerRequestRelay, UpstreamSpec } from "./upstreams";

/**
 * What travels down the request path: the facts of one HTTP request, the caller it was
 * authenticated as, and one `Call` per JSON-RPC request in it, which each stage reads and fills
 * in and the audit stage turns into one event. Also the one shape in which a stage ends a
 * request: an `Ending`.
 */

export const GATEWAY_SERVER_INFO = { name: "portico-gateway", version: "0.1.0" };

/** Facts about one HTTP request. */
export type RequestContext = {
  requestId: string;
  receivedAt: Date;
  startedAt: number;
  sourceIp: string | null;
  requestBytes: number;
  isBatch: boolean;
  /** The client's W3C trace context, read only when tracing is on: its span continues that trace. */
  traceparent?: string;
  tracestate?: string;
};

export function newRequestContext(requestId: string = randomUUID(), sourceIp: string | null = null): RequestContext {
  return { requestId, receivedAt: new Date(), startedAt: performance.now(), sourceIp, requestBytes: 0, isBatch: false };
}

/**
 * Who is calling, on which portal, through which session: a legacy session lives as long as the
 * client keeps it; a 2026-07-28 request makes one that lives for the request only.
 */
export type Caller = {
  /** The legacy session id; "" for a stateless request. */
  id: string;
  portalSlug: string;
  identity: TokenIdentity;
  clientName: string | null;
  clientVersion: string | null;
  protocolVersion: string | null;
  /** What was last listed to this caller (see toolListStamp), to tell it when that changes. */
  listedTools: string | null;
  /** Resource URI → server slug, from this caller's last resources/list. */
  resourceRoutes: Map<string, string> | null;
  templateRoutes: { slug: string; template: UriTemplate }[] | null;
  /** A legacy session's way to tell its client of a change later (resources/updated); null for a stateless request. */
  notifyLater: ((method: string, params: Record<string, unknown>) => void) | null;
  /** Resource URIs this session subscribed to, each with how to let go of it. */
  subscriptions: Map<string, () => void> | null;
};

export function newCaller(fields: Pick<Caller, "portalSlug" | "identity"> & Partial<Caller>): Caller {
  return { id: "", clientName: null, clientVersion: null, protocolVersion: null, listedTools: null, resourceRoutes: null, templateRoutes: null, notifyLater: null, subscriptions: null, ...fields };
}

/** One JSON-RPC request on its way through the stages. */
export type Call = {
  id: string | number;
  method: string;
  params: Record<string, unknown> | undefined;
  ctx: RequestContext;
  caller: Caller;
  /** Set by resolve: the portal as the running config has it. */
  state?: GatewayState;
  portal?: PortalView;
  /** Set by resolve for tools/call. */
  tool?: ExposedTool;
  /** What the audit event names: the upstream server and tool (or `prompt:<name>`). */
  server?: string;
  target?: string;
  exposedName?: string;
  /** Set by resolve: the name called is no tool of the portal's (never offered, not merely off). */
  isUnknownTool?: boolean;
  outcome: "allow" | "deny";
  reasons: string[];
  /** Set by decide: the portal roles behind the decision. */
  roles?: string[];
  upstreamOutcome?: string;
  upstreamMs?: number;
  arguments?: unknown;
  result?: unknown;
  /** The result's size as JSON when known from the upstream's bytes (saves serialising it again). */
  resultBytes?: number;
  progressToken?: string | number;
  /** DLP matches on this call (inspect-request, inspect-response), named on its audit event. */
  dlp?: DlpFinding[];
  /** The payloads as the audit record keeps them, once scanned (matches redacted). */
  redacted?: { arguments?: unknown; result?: unknown };
  /** Set by the grants stage when this call needs elevated access: the identity decide sees, and the grant that lent it. */
  elevation?: { identity: TokenIdentity; grantId: string | null; isPerCall: boolean };
  /** Set by a framing that can carry what the upstream sends back during the call (relay.ts). */
  channel?: CallChannel;
  /** Set by decide when the call needs elevated access: where the person asks for it (stages/elicit-step-up.ts). */
  stepUp?: { url: string; scope: string; ended: string | null };
  /** Set only when tracing is on (gateway/tracing.ts): recorded on the audit event. */
  traceId?: string;
  finalized: boolean;
};

/** The way back to the caller while its call runs: notifications, and requests for a client that can be asked. */
export type CallChannel = {
  notify: ServerNotify;
  relay(spec: UpstreamSpec): ServerRequestRelay | undefined;
  /**
   * For 2026-07-28 callers: the call as one 2026-07-28 request to an upstream that speaks it
   * (modern-upstream.ts), its result as sent (input_required too); null when the upstream does not.
   */
  forwardModern?(spec: UpstreamSpec, method: string, params: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown> | null>;
  /** The gateway's own requests to the client (the step-up URL elicitation), where the client can be asked at all. */
  ask?: GatewayAsk;
};

/** What the client declared, and a way to ask it something during this call (relay.ts, input-required.ts). */
export type GatewayAsk = {
  capabilities: ClientCapabilities | null;
  request(method: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, unknown>>;
};

export function newCall(caller: Caller, ctx: RequestContext, id: string | number, method: string, params: unknown): Call {
  return {
    id,
    method,
    params: params && typeof params === "object" && !Array.isArray(params) ? (params as Record<string, unknown>) : undefined,
    ctx,
    caller,
    outcome: "allow",
    reasons: [],
    finalized: false,
  };
}

/**
 * How a stage ends a request early. `http` can set the HTTP status (a lone request on its own
 * POST); where it cannot (a batch, a message on a shared stream) the framing degrades it to
 * `tool_error` or `rpc_error` by `fallback`.
 */
export type Ending =
  | { kind: "rpc_error"; code: number; message: string; data?: unknown }
  | { kind: "tool_error"; text: string }
  | { kind: "http"; status: number; code: number; message: string; headers?: Record<string, string>; fallback: { kind: "tool_error"; text: string } };

export const rpcEnding = (code: number, message: string, data?: unknown): Ending => ({ kind: "rpc_error", code, message, ...(data !== undefined ? { data } : {}) });
export const toolEnding = (text: string): Ending => ({ kind: "tool_error", text });

/** A stage that denies records why on the call, so the audit event says it. */
export function deny(call: Call, reason: string | string[], ending: Ending): Ending {
  call.outcome = "deny";
  if (Array.isArray(reason)) call.reasons.push(...reason);
  else call.reasons.push(reason);
  return ending;
}

/** A JSON-RPC error thrown where only throwing works (the SDK's request handlers use `code`). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

export function errorResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}
