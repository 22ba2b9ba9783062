import type { IncomingMessage, ServerResponse } from "node:http";

import { ErrorCode, type ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

import type { Answer } from "./answer";
import { acceptsEventStream, createCallStream } from "./call-stream";
import type { Notify } from "./stages/forward";
import type { InputRequired } from "./input-required";
import { canBeAsked } from "./relay";
import { GATEWAY_SERVER_INFO, newCall, newCaller, type Call, type RequestContext } from "./exchange";
import { isRequest, type JsonRpcMessage } from "./http-util";
import type { Listeners } from "./listeners";
import { checkModernMessage, checkStandardHeaders, discoverResult, META_CLIENT_CAPABILITIES, modernResult, MODERN_PROTOCOL_VERSIONS, REMOVED_METHODS, type StandardHeaders } from "./modern";
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
};

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
    if (deps.inputRequired && message.method === "tools/call" && (params?.requestState !== undefined || canBeAsked(capabilities))) {
      const who = { subject: `${identity.kind}:${identity.subject}`, tool: String(params?.name ?? "") };
      let outcome;
      if (params?.requestState !== undefined) {
        call.exposedName = who.tool;
        call.reasons.push("input_required retry");
        outcome = await deps.inputRequired.resume({ ...who, requestState: params.requestState, inputResponses: params.inputResponses, sink: notify });
      } else {
        outcome = await deps.inputRequired.start({
          ...who,
          capabilities,
          sink: notify,
          run: (signal, channel, sink) => {
            call.channel = channel;
            return deps.run(call, signal, sink);
          },
        });
      }
      if ("refusal" in outcome) return refuse(400, ErrorCode.InvalidParams, `Invalid params: ${outcome.refusal}.`, [outcome.refusal]);
      if (res.destroyed) return deps.finish(call, null);
      const resultType = outcome.isInputRequired ? "input_required" : "complete";
      return deps.finish(call, stream.end(message.id, outcome.answer, (result) => ({ ...modernResult(message.method, result, GATEWAY_SERVER_INFO), resultType })));
    }

    call.channel = { notify: (method, params) => notify(method, params ?? {}), relay: () => undefined };
    const answer: Answer =
      message.method === "server/discover"
        ? { result: discoverResult(`Portico portal "${portal.slug}": tools from several MCP servers, named <server>_<tool>.`) }
        : await deps.run(call, controller.signal, notify);
    if (controller.signal.aborted) return deps.finish(call, null);
    deps.finish(call, stream.end(message.id, answer, (result) => modernResult(message.method, result, GATEWAY_SERVER_INFO)));
  };
}
