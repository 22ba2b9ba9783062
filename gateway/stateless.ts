import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

import { ErrorCode, type ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

import { canonicalJson } from "@/lib/audit/event";

import type { Answer } from "./answer";
import { acceptsEventStream, createCallStream } from "./call-stream";
import type { Notify } from "./stages/forward";
import { askedOf, refusedInputRequests, reportInputResponses, type InputRequired, type RefusedInputRequest, type ServerRequestReport } from "./input-required";
import { canBeAsked, emitServerRequest, upstreamCapabilities } from "./relay";
import type { EmitAuditEvent } from "./audit";
import { inspectRelayed } from "./relay-dlp";
import { UpstreamRpcError, type ModernUpstreams } from "./modern-upstream";
import type { NonceLog, RequestStateSeal, SealedState } from "./request-state";
import { UpstreamError, type UpstreamSpec } from "./upstreams";
import { GATEWAY_SERVER_INFO, deny, newCall, newCaller, rpcEnding, toolEnding, type Call, type RequestContext } from "./exchange";
import { isRequest, sendJsonRpcError, type JsonRpcMessage } from "./http-util";
import type { Listeners } from "./listeners";
import { MODERN_METHODS, checkModernMessage, checkStandardHeaders, discoverResult, META_CLIENT_CAPABILITIES, modernResult, MODERN_PROTOCOL_VERSIONS, REMOVED_METHODS, type StandardHeaders } from "./modern";
import type { TokenIdentity } from "./auth";
import type { GatewayState, PortalView } from "./portal-index";
import type { Response } from "./stages/audit";

/**
 * The 2026-07-28 framing: one request per POST, no session. The envelope is checked (version,
 * capabilities, standard headers against the body), then the request runs the same pipeline as a
 * legacy session's on a caller that lives for this request only. Cancelling is closing the
 * connection: the upstream call is cancelled with it.
 */

export type Refuse = (status: number, code: number, message: string, reasons: string[], headers?: Record<string, string>, data?: unknown) => void;

export type StatelessDeps = {
  run(call: Call, signal: AbortSignal, notify?: Notify): Promise<Answer>;
  finish(call: Call, response: Response | null): void;
  listeners: Listeners;
  /** Upstream questions as input_required results (input-required.ts); without it, they are refused. */
  inputRequired?: InputRequired;
  /** Multi round-trip requests: upstreams that speak 2026-07-28, and the fleet-sealed state (request-state.ts). */
  modern?: { upstreams: ModernUpstreams; seal: RequestStateSeal; nonces: NonceLog; timeoutMs: number };
  /** Where each question an upstream asks the client goes on record (`mcp.server_request`, as the legacy relay writes it). */
  audit?: { emit: EmitAuditEvent; gatewayName?: string };
};

/** Requests that may answer input_required (SEP-2322). */
const MULTI_ROUND_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);

/** How long a client has to come back with its answers. */
export const REQUEST_STATE_TTL_MS = 5 * 60_000;

const META_LOG_LEVEL = "io.modelcontextprotocol/logLevel";

/**
 * Upstream errors a 2026-07-28 client must get as they are, with a message of the gateway's (never
 * the upstream's text): its own missing capability (HTTP 400 and what is required), and parameters
 * or state the upstream refused.
 */
const PASSED_THROUGH: Record<number, { status: number; message: string }> = {
  [-32021]: { status: 400, message: "Missing required client capability" },
  [ErrorCode.InvalidParams]: { status: 200, message: "Invalid params: the server refused the request's parameters or state." },
};

const CAPABILITY_NAMES = new Set(["sampling", "elicitation", "roots", "experimental", "extensions", "tasks"]);

/** A protocol error the client gets as such: an upstream's (PASSED_THROUGH), or the gateway's refusal of what an upstream asked. */
type PassedThrough = { code: number; data: unknown; message?: string };

function answerPassedThrough(res: ServerResponse, stream: ReturnType<typeof createCallStream>, id: string | number, error: PassedThrough): Response {
  const status = PASSED_THROUGH[error.code]!.status;
  const message = error.message ?? PASSED_THROUGH[error.code]!.message;
  const required = (error.data as { requiredCapabilities?: unknown } | null | undefined)?.requiredCapabilities;
  const data =
    error.code === -32021 && required && typeof required === "object" && !Array.isArray(required)
      ? { requiredCapabilities: Object.fromEntries(Object.keys(required).filter((k) => CAPABILITY_NAMES.has(k)).map((k) => [k, {}])) }
      : undefined;
  if (res.headersSent) return stream.end(id, { ending: rpcEnding(error.code, message, data) }, (r) => r);
  const bytes = sendJsonRpcError(res, status, error.code, message, { id, data });
  return { error: { code: error.code, message }, bytes, httpStatus: status };
}

/**
 * An upstream's input_required that asks what the gateway did not declare to it (turned off for
 * that server, or not declared by the client): each question audited as refused, and the client
 * answered as a compliant server would have answered, -32021 naming what is required (with why,
 * when it is Portico's switch). A question Portico cannot relay at all fails the call.
 */
function refuseAsked(spec: UpstreamSpec, refused: RefusedInputRequest[], call: Call, report: ServerRequestReport): PassedThrough {
  for (const ask of refused.slice(0, 32)) report({ server: spec.slug, method: ask.method, outcome: "deny", detail: { result: "refused", inputKey: ask.key }, reason: ask.reason, latencyMs: 0 });
  call.outcome = "deny";
  call.reasons.push(...new Set(refused.map((ask) => `server asked ${ask.method}: ${ask.reason}`)));
  if (refused.some((ask) => ask.capability === null)) throw new UpstreamError("failed", spec.slug, `Server "${spec.slug}" asked the client for something Portico does not relay.`);
  const required = [...new Set(refused.map((ask) => ask.capability!))];
  const off = [...new Set(refused.filter((ask) => ask.switchedOff).map((ask) => ask.capability!))];
  return {
    code: -32021,
    data: { requiredCapabilities: Object.fromEntries(required.map((capability) => [capability, {}])) },
    ...(off.length ? { message: `Missing required client capability: ${off.join(" and ")} ${off.length > 1 ? "are" : "is"} turned off for this server in Portico` } : {}),
  };
}

/**
 * What a state is good for: the method, the tool, prompt or resource it names, and a digest of its
 * arguments (a retry is the same request again, so a state cannot carry answers to other arguments).
 */
export function targetOf(method: string, params: Record<string, unknown> | undefined): string {
  const target = `${method}:${String(method === "resources/read" ? params?.uri : params?.name)}`;
  const args = params?.arguments;
  return args === undefined ? target : `${target}#${createHash("sha256").update(canonicalJson(args)).digest("base64url")}`;
}

export function createStateless(deps: StatelessDeps) {
  return async function handleStateless(
    req: IncomingMessage,
    res: ServerResponse,
    input: { portal: PortalView; state: GatewayState; identity: TokenIdentity; ctx: RequestContext; messages: JsonRpcMessage[]; headers: StandardHeaders },
    refuse: Refuse,
  ): Promise<void> {
    const { portal, identity, ctx, messages } = input;
    if (messages.length !== 1) {
      return refuse(400, ErrorCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not supported in protocol version ${MODERN_PROTOCOL_VERSIONS[0]}.`, ["batch not allowed"]);
    }
    const message = messages[0]!;
    const check = checkModernMessage(input.headers.protocolVersion, message);
    if (!check.ok) return refuse(check.status, check.code, check.message, [check.reason], undefined, check.data);
    const headerRefusal = checkStandardHeaders(input.headers, message);
    if (headerRefusal) return refuse(headerRefusal.status, headerRefusal.code, headerRefusal.message, [headerRefusal.reason]);
    if (REMOVED_METHODS.has(message.method ?? "")) return refuse(404, ErrorCode.MethodNotFound, `Method not found: ${message.method} is not part of protocol version ${check.version}.`, ["method removed in this protocol version"]);
    if (isRequest(message) && !MODERN_METHODS.has(message.method ?? "")) return refuse(404, ErrorCode.MethodNotFound, `Method not found: ${String(message.method).slice(0, 100)}.`, ["unknown method"]);
    // Notifications have nothing to answer in a stateless exchange.
    if (!isRequest(message)) return void res.writeHead(202).end();

    const caller = newCaller({ portalSlug: portal.slug, identity, clientName: check.client.name, clientVersion: check.client.version, protocolVersion: check.version });
    const call = newCall(caller, ctx, message.id, message.method, message.params);
    if (message.method === "subscriptions/listen") {
      const opened = deps.listeners.listen(caller, message.id, message.params, res, input.state);
      if ("reason" in opened) return refuse(opened.status, opened.code, opened.message, [opened.reason], opened.headers);
      call.arguments = { notifications: opened.honored };
      return deps.finish(call, { bytes: opened.bytes });
    }

    const controller = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) {
        call.upstreamOutcome ??= "cancelled";
        controller.abort(new Error("the client closed the connection"));
      }
    });
    // Progress and log messages go ahead of the answer on its own stream; an answer with nothing
    // ahead of it stays one JSON body.
    const stream = createCallStream(res, acceptsEventStream(req), {});
    const notify: Notify = (method, params) => void stream.write({ jsonrpc: "2.0", method, params });

    const params = call.params;
    const capabilities = ((params?._meta as Record<string, unknown> | undefined)?.[META_CLIENT_CAPABILITIES] ?? null) as ClientCapabilities | null;
    const mrtr = deps.modern && MULTI_ROUND_METHODS.has(message.method) ? deps.modern : null;
    // The target is hashed only for a request that seals or opens a state.
    let target: string | undefined;
    const who = {
      subject: `${identity.kind}:${identity.subject}`,
      portal: portal.slug,
      get tool() {
        return (target ??= targetOf(message.method, params));
      },
    };
    const audit = deps.audit;
    const report: ServerRequestReport = (record) =>
      audit && emitServerRequest(audit.emit, audit.gatewayName, { ...record, identity, portalSlug: portal.slug, sessionId: null, clientName: caller.clientName, callId: message.id });

    // A retry carries a state sealed by a gateway of this fleet: opened here whichever gateway sealed it.
    let retry: SealedState | null = null;
    if (mrtr && params?.requestState !== undefined) {
      call.reasons.push("input_required retry");
      const opened = mrtr.seal.open(params.requestState);
      const problem = !opened
        ? "requestState is not valid (altered, or not issued by this portal's gateways)"
        : opened.e < Date.now()
          ? "requestState has expired"
          : opened.s !== who.subject || opened.p !== who.portal || opened.t !== who.tool
            ? "requestState belongs to another caller or request"
            : opened.k === "m" && !mrtr.nonces.use(opened.n, opened.e)
              ? "requestState was already used (replayed)"
              : null;
      if (problem) return refuse(400, ErrorCode.InvalidParams, `Invalid params: ${problem}.`, [problem]);
      retry = opened;
      // The client's answers to what a 2026-07-28 upstream asked, one audit event per question.
      if (retry?.k === "m" && retry.q) reportInputResponses(report, { server: retry.v ?? null, asked: retry.q, askedAt: retry.a, inputResponses: params.inputResponses, dlp: portal.dlp });
    }

    // What an upstream that speaks 2026-07-28 asked, to seal into the state the client carries.
    let asked: { server: string; state: string | undefined } | null = null;
    // An upstream's protocol error the client must see as such (not as a failed tool).
    let passThrough: PassedThrough | null = null;
    const upstreamModern = deps.modern;
    const forwardModern = upstreamModern
      ? async (spec: UpstreamSpec, method: string, sent: Record<string, unknown>, signal: AbortSignal) => {
          if (!(await upstreamModern.upstreams.speaksModern(spec))) {
            if (retry?.k === "m") throw new UpstreamError("rejected", spec.slug, `Server "${spec.slug}" no longer answers as it did when it asked; start the request again.`);
            return null;
          }
          if (retry?.k === "m" && retry.v !== spec.slug) throw new UpstreamError("rejected", spec.slug, "requestState was issued for another server; start the request again.");
          const round = {
            ...(retry?.k === "m" && retry.u !== undefined ? { requestState: retry.u } : {}),
            ...(params?.inputResponses !== undefined ? { inputResponses: params.inputResponses } : {}),
          };
          const logLevel = (params?._meta as Record<string, unknown> | undefined)?.[META_LOG_LEVEL];
          const result = await upstreamModern.upstreams
            .call(spec, method, { ...sent, ...round }, {
              signal,
              timeoutMs: upstreamModern.timeoutMs,
              capabilities: upstreamCapabilities(capabilities, spec),
              notify,
              progressToken: call.progressToken,
              meta: logLevel !== undefined ? { [META_LOG_LEVEL]: logLevel } : undefined,
            })
            .catch((error: unknown) => {
              if (error instanceof UpstreamRpcError && PASSED_THROUGH[error.code]) passThrough = { code: error.code, data: error.data };
              throw error;
            });
          const refused = result.resultType === "input_required" ? refusedInputRequests(result, capabilities, spec) : [];
          if (refused.length) {
            passThrough = refuseAsked(spec, refused, call, report);
            throw new UpstreamError("rejected", spec.slug, `Server "${spec.slug}" asked the client for what it may not be asked.`);
          }
          if (result.resultType === "input_required") asked = { server: spec.slug, state: typeof result.requestState === "string" ? result.requestState : undefined };
          return result;
        }
      : undefined;

    /** The answer as the client gets it: an upstream's input_required keeps its type, with a state any gateway can open. */
    const shape = (result: Record<string, unknown>, isInputRequired: boolean) => {
      const shaped = modernResult(message.method, result, GATEWAY_SERVER_INFO);
      if (asked && result.resultType === "input_required") {
        // The upstream's own state travels inside the gateway's, never bare.
        return { ...shaped, resultType: "input_required", requestState: mrtr!.seal.seal({ k: "m", s: who.subject, p: who.portal, t: who.tool, v: asked.server, u: asked.state, q: askedOf(result), a: Date.now(), e: Date.now() + REQUEST_STATE_TTL_MS }) };
      }
      return { ...shaped, resultType: isInputRequired ? "input_required" : "complete" };
    };

    // A caller that can be asked, on an upstream that asks the 2025 way (a request during the call):
    // the call is held open here between rounds (input-required.ts).
    if (deps.inputRequired && mrtr && message.method === "tools/call" && (retry?.k === "x" || (!retry && canBeAsked(capabilities)))) {
      let outcome;
      if (retry?.k === "x") {
        call.exposedName = String(params?.name ?? "");
        // The answers go through the portal's DLP before the upstream call held here gets them.
        const answers = inspectRelayed(portal.dlp, params?.inputResponses, "inputResponses");
        if (answers.findings.length) (call.dlp ??= []).push(...answers.findings);
        if (answers.refusal) return deps.finish(call, stream.end(message.id, { ending: deny(call, `blocked by DLP: ${answers.blockedBy} in the input responses`, toolEnding(answers.refusal)) }, (r) => r));
        outcome = await deps.inputRequired.resume({ subject: who.subject, tool: who.tool, state: retry, inputResponses: params?.inputResponses, sink: notify });
      } else {
        outcome = await deps.inputRequired.start({
          ...who,
          capabilities,
          sink: notify,
          dlp: portal.dlp,
          report,
          forwardModern,
          run: (signal, channel, sink) => {
            call.channel = channel;
            return deps.run(call, signal, sink);
          },
        });
      }
      if ("refusal" in outcome) return refuse(400, ErrorCode.InvalidParams, `Invalid params: ${outcome.refusal}.`, [outcome.refusal]);
      if (res.destroyed) return deps.finish(call, null);
      if (passThrough) return deps.finish(call, answerPassedThrough(res, stream, message.id, passThrough));
      return deps.finish(call, stream.end(message.id, outcome.answer, (result) => shape(result, outcome.isInputRequired)));
    }

    call.channel = { notify: (method, params) => notify(method, params ?? {}), relay: () => undefined, forwardModern };
    const answer: Answer =
      message.method === "server/discover"
        ? { result: discoverResult(`Portico portal "${portal.slug}": tools from several MCP servers, named <server>_<tool>.`) }
        : await deps.run(call, controller.signal, notify);
    if (controller.signal.aborted) return deps.finish(call, null);
    if (passThrough) return deps.finish(call, answerPassedThrough(res, stream, message.id, passThrough));
    deps.finish(call, stream.end(message.id, answer, (result) => shape(result, false)));
  };
}
