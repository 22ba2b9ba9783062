import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

import { ErrorCode, McpError, type ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

import type { Answer } from "./answer";
import type { CallChannel } from "./exchange";
import { answerDetail, missingCapability, serverRequestRefusal, upstreamCapabilities, type ServerRequestRecord } from "./relay";
import { inspectRelayed, type PortalDlpView, type RelayedInspection } from "./relay-dlp";
import type { RequestStateSeal, SealedState } from "./request-state";
import type { ServerRequestRelay, UpstreamPool, UpstreamSpec } from "./upstreams";

/**
 * The relay for 2026-07-28 clients, which have no session to be asked on: when the upstream asks
 * something during a call (sampling, elicitation, roots on the connection leased to this call),
 * the client's request is answered with an `input_required` result naming what is asked and a
 * `requestState`; the client retries with its `inputResponses` and that state, and the same
 * upstream call, still waiting on this gateway, gets the answers and goes on. The state is sealed
 * with the fleet's request-state key (request-state.ts) and is good for one round of one exchange,
 * for the principal that started it, for a few minutes: a tampered, replayed, foreign or stale
 * state is refused. The upstream call lives in this gateway's memory, so the retry must reach
 * this gateway: another gateway of the fleet can open the state and says which gateway holds the
 * call. (An upstream that speaks 2026-07-28 answers input_required itself and needs none of this:
 * modern-upstream.ts.)
 */

type Ask = { key: string; method: string; params: Record<string, unknown> | undefined; answer(result: Record<string, unknown>): void; fail(error: McpError): void };

type Event = { kind: "ask"; ask: Ask } | { kind: "done"; answer: Answer };

type Exchange = {
  id: string;
  subject: string;
  portal: string;
  tool: string;
  round: number;
  asks: Ask[];
  events: Event[];
  wake: (() => void) | null;
  controller: AbortController;
  timer: NodeJS.Timeout;
  /** Where progress and log messages go: the stream of the client's request now waiting, if any. */
  sink: Sink;
};

type Sink = (method: string, params: Record<string, unknown>) => void;

/** What the audit of one question needs from the era's caller: the rest of the record (`mcp.server_request`). */
export type ServerRequestReport = (record: Pick<ServerRequestRecord, "server" | "method" | "outcome" | "detail" | "reason" | "latencyMs">) => void;

/** What an upstream's input_required result asks (key, method), kept in the state to audit the answers. */
export function askedOf(result: Record<string, unknown>): [string, string][] {
  const requests = result.inputRequests;
  if (!requests || typeof requests !== "object" || Array.isArray(requests)) return [];
  return Object.entries(requests)
    .slice(0, 32)
    .map(([key, request]): [string, string] => [key.slice(0, 200), String((request as { method?: unknown } | null)?.method ?? "unknown").slice(0, 100)]);
}

/** One question of an upstream's input_required the gateway will not put to the client, and why. */
export type RefusedInputRequest = { key: string; method: string } & NonNullable<ReturnType<typeof serverRequestRefusal>>;

/**
 * What of a 2026-07-28 upstream's input_required the client may not be asked: a question the
 * admin turned off for that server, or one for a capability the client did not declare. The
 * gateway declared neither to the upstream, so a compliant server never asks it (it answers
 * -32021 instead); one that asks anyway is refused here and nothing of it reaches the client.
 */
export function refusedInputRequests(result: Record<string, unknown>, capabilities: ClientCapabilities | null, spec: Pick<UpstreamSpec, "slug" | "serverRequests">): RefusedInputRequest[] {
  const requests = result.inputRequests;
  if (!requests || typeof requests !== "object" || Array.isArray(requests)) return [];
  const refused: RefusedInputRequest[] = [];
  for (const [key, request] of Object.entries(requests)) {
    const asked = request && typeof request === "object" && !Array.isArray(request) ? (request as { method?: unknown; params?: unknown }) : {};
    const method = typeof asked.method === "string" ? asked.method.slice(0, 100) : "unknown";
    const params = asked.params && typeof asked.params === "object" && !Array.isArray(asked.params) ? (asked.params as Record<string, unknown>) : undefined;
    const refusal = serverRequestRefusal(capabilities, spec, method, params);
    if (refusal) refused.push({ key: key.slice(0, 200), method, ...refusal });
  }
  return refused;
}

/**
 * A 2026-07-28 client's retry answering what a 2026-07-28 upstream asked (input_required that the
 * upstream answered itself, nothing of it held here): one `mcp.server_request` per question, as
 * the legacy relay writes them, from what the state kept of the questions and the answers the
 * client brought. The question's payload is in the asking round's tools/call event.
 */
export function reportInputResponses(report: ServerRequestReport, input: { server: string | null; asked: [string, string][]; askedAt: number | undefined; inputResponses: unknown; dlp: PortalDlpView | undefined }) {
  const responses = input.inputResponses && typeof input.inputResponses === "object" && !Array.isArray(input.inputResponses) ? (input.inputResponses as Record<string, unknown>) : {};
  const latencyMs = input.askedAt !== undefined ? Math.max(0, Date.now() - input.askedAt) : 0;
  for (const [key, method] of input.asked) {
    const response = responses[key];
    if (!response || typeof response !== "object" || Array.isArray(response)) {
      report({ server: input.server, method, outcome: "failure", detail: { result: "not answered", inputKey: key }, reason: `the client gave no response to ${method}`, latencyMs });
      continue;
    }
    const answered = inspectRelayed(input.dlp, response, "answer");
    const detail = { result: answered.refusal ? "blocked" : "answered", inputKey: key, ...answerDetail(method, response, answered, input.dlp) };
    report({ server: input.server, method, outcome: answered.refusal ? "deny" : "success", detail, reason: answered.refusal ? `blocked by DLP: ${answered.blockedBy} in the client's answer` : null, latencyMs });
  }
}

export type InputRequiredOutcome = { answer: Answer; isInputRequired: boolean } | { refusal: string };

const EXCHANGE_TTL_MS = 5 * 60_000;

export function createInputRequired(deps: { upstreams: Pick<UpstreamPool, "releaseRelay">; seal: RequestStateSeal; gatewayName: string }) {
  const exchanges = new Map<string, Exchange>();

  function seal(exchange: Exchange): string {
    return deps.seal.seal({ k: "x", g: deps.gatewayName, x: exchange.id, r: exchange.round, s: exchange.subject, p: exchange.portal, t: exchange.tool, e: Date.now() + EXCHANGE_TTL_MS });
  }

  function push(exchange: Exchange, event: Event) {
    exchange.events.push(event);
    exchange.wake?.();
  }

  function end(exchange: Exchange) {
    clearTimeout(exchange.timer);
    exchanges.delete(exchange.id);
    deps.upstreams.releaseRelay(`mrtr-${exchange.id}`);
  }

  /** The next thing to tell the client: what the upstream asks (all it asked so far), or the answer. */
  async function next(exchange: Exchange): Promise<InputRequiredOutcome> {
    while (exchange.events.length === 0) await new Promise<void>((resolve) => (exchange.wake = resolve));
    exchange.wake = null;
    const first = exchange.events.shift()!;
    exchange.sink = () => undefined;
    if (first.kind === "done") {
      end(exchange);
      return { answer: first.answer, isInputRequired: false };
    }
    exchange.asks = [first.ask];
    while (exchange.events[0]?.kind === "ask") exchange.asks.push((exchange.events.shift() as { ask: Ask }).ask);
    const inputRequests = Object.fromEntries(exchange.asks.map((a) => [a.key, { method: a.method, ...(a.params !== undefined ? { params: a.params } : {}) }]));
    return { answer: { result: { inputRequests, requestState: seal(exchange) } }, isInputRequired: true };
  }

  /** A first request: runs the call with a channel whose upstream questions become input_required. */
  function start(input: {
    subject: string;
    portal: string;
    tool: string;
    capabilities: ClientCapabilities | null;
    sink: Sink;
    /** The portal's DLP: what the upstream asks goes through its detectors before the client sees it. */
    dlp?: PortalDlpView;
    /** Audits each question of the upstream's (or the gateway's) to the client, as the legacy relay does. */
    report?: ServerRequestReport;
    /** Upstreams that speak 2026-07-28 answer input_required themselves: the call goes to them as it is. */
    forwardModern?: CallChannel["forwardModern"];
    run(signal: AbortSignal, channel: CallChannel, notify: Sink): Promise<Answer>;
  }): Promise<InputRequiredOutcome> {
    const id = randomUUID();
    const controller = new AbortController();
    const exchange: Exchange = {
      id,
      subject: input.subject,
      portal: input.portal,
      tool: input.tool,
      round: 0,
      asks: [],
      events: [],
      wake: null,
      controller,
      sink: input.sink,
      timer: setTimeout(() => {
        const late = new McpError(ErrorCode.RequestTimeout, "The client did not come back with its input in time");
        // What the client was asked and never answered is audited as timed out.
        for (const ask of [...exchange.asks, ...exchange.events.flatMap((e) => (e.kind === "ask" ? [e.ask] : []))]) ask.fail(late);
        exchange.asks = [];
        controller.abort(late);
        end(exchange);
      }, EXCHANGE_TTL_MS),
    };
    exchange.timer.unref();
    exchanges.set(id, exchange);
    let asked = 0;
    const report = input.report ?? (() => undefined);
    /** One question to the client, audited when it is answered, not answered, or its call ends first (`mcp.server_request`). */
    const askClient = (method: string, params: Record<string, unknown> | undefined, server: string | null, request?: RelayedInspection) =>
      new Promise<Record<string, unknown>>((answer, fail) => {
        const startedAt = performance.now();
        const key = `input-${++asked}`;
        const latency = () => performance.now() - startedAt;
        push(exchange, {
          kind: "ask",
          ask: {
            key,
            method,
            params,
            answer(result) {
              const answered = inspectRelayed(input.dlp, result, "answer");
              const detail = { result: answered.refusal ? "blocked" : "answered", inputKey: key, ...answerDetail(method, result, answered, input.dlp, request) };
              report({ server, method, outcome: answered.refusal ? "deny" : "success", detail, reason: answered.refusal ? `blocked by DLP: ${answered.blockedBy} in the client's answer` : null, latencyMs: latency() });
              answer(result);
            },
            fail(error) {
              const detail = { result: error.code === ErrorCode.RequestTimeout ? "timed out" : "not answered", inputKey: key, ...answerDetail(method, undefined, { findings: [], forAudit: undefined, refusal: null, blockedBy: null }, input.dlp, request) };
              report({ server, method, outcome: "failure", detail, reason: error.message, latencyMs: latency() });
              fail(error);
            },
          },
        });
      });
    const channel: CallChannel = {
      // The gateway's own question (the step-up URL elicitation) is one more input_required round.
      ask: {
        capabilities: input.capabilities,
        request: (method, params) => (missingCapability(input.capabilities, method, params) ? Promise.reject(new McpError(ErrorCode.MethodNotFound, "Method not found")) : askClient(method, params, null, inspectRelayed(input.dlp, params, "request"))),
      },
      // Between rounds no request of the client's is waiting: what comes then is dropped.
      notify: (method, params) => exchange.sink(method, params ?? {}),
      forwardModern: input.forwardModern,
      relay: (spec): ServerRequestRelay => {
        const relay: ServerRequestRelay = {
          key: `mrtr-${id}`,
          capabilities: upstreamCapabilities(input.capabilities, spec),
          logLevel: null,
          idle: null,
          notify: () => undefined,
          request: (method, params) => {
            const startedAt = performance.now();
            const refuse = (error: McpError, detail: Record<string, unknown>, reason: string) => {
              report({ server: spec.slug, method, outcome: "deny", detail, reason, latencyMs: performance.now() - startedAt });
              return Promise.reject(error);
            };
            const refusal = serverRequestRefusal(input.capabilities, spec, method, params);
            if (refusal) return refuse(new McpError(ErrorCode.MethodNotFound, refusal.switchedOff ? `Method not found: ${refusal.capability} is turned off for this server in Portico.` : "Method not found"), { result: "refused" }, refusal.reason);
            const inspected = inspectRelayed(input.dlp, params, "inputRequests");
            if (inspected.refusal) {
              const findings = inspected.findings.length && input.dlp?.capture !== "off" ? { dlp: inspected.findings } : {};
              const request = inspected.forAudit !== undefined ? { request: inspected.forAudit } : {};
              return refuse(new McpError(ErrorCode.InvalidRequest, inspected.refusal), { result: "blocked", ...findings, ...request }, `blocked by DLP: ${inspected.blockedBy} in the server's request`);
            }
            return askClient(method, params, spec.slug, inspected);
          },
        };
        return relay;
      },
    };
    input.run(controller.signal, channel, (method, params) => exchange.sink(method, params)).then(
      (answer) => push(exchange, { kind: "done", answer }),
      () => push(exchange, { kind: "done", answer: { ending: { kind: "rpc_error", code: ErrorCode.InternalError, message: "The gateway could not complete the request." } } }),
    );
    return next(exchange);
  }

  /** A retry with a state already opened (request-state.ts): it must be for a call held here, this round, principal and tool. */
  function resume(input: { subject: string; tool: string; state: SealedState; inputResponses: unknown; sink: Sink }): Promise<InputRequiredOutcome> | InputRequiredOutcome {
    const { state } = input;
    if (state.k !== "x" || !state.x) return { refusal: "requestState is not valid" };
    if (state.g !== deps.gatewayName) return { refusal: `requestState belongs to a call held open on gateway "${state.g}"; the retry must reach that gateway` };
    const exchange = exchanges.get(state.x);
    if (!exchange) return { refusal: "requestState is not valid (its call has ended)" };
    if (state.s !== input.subject || state.t !== input.tool) return { refusal: "requestState belongs to another caller or tool" };
    if (state.r !== exchange.round) return { refusal: "requestState was already used (replayed)" };
    if (state.e < Date.now()) return { refusal: "requestState has expired" };
    exchange.round += 1;
    exchange.sink = input.sink;
    const responses = input.inputResponses && typeof input.inputResponses === "object" && !Array.isArray(input.inputResponses) ? (input.inputResponses as Record<string, unknown>) : {};
    for (const ask of exchange.asks) {
      const response = responses[ask.key];
      if (response && typeof response === "object" && !Array.isArray(response)) ask.answer(response as Record<string, unknown>);
      else ask.fail(new McpError(ErrorCode.InvalidParams, `The client gave no response to ${ask.method}`));
    }
    exchange.asks = [];
    return next(exchange);
  }

  return {
    start,
    resume,
    size: () => exchanges.size,
    close() {
      for (const exchange of [...exchanges.values()]) {
        exchange.controller.abort(new Error("the gateway is stopping"));
        end(exchange);
      }
    },
  };
}

export type InputRequired = ReturnType<typeof createInputRequired>;
