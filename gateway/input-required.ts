import { randomUUID } from "node:crypto";

import { ErrorCode, McpError, type ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

import type { Answer } from "./answer";
import type { CallChannel } from "./exchange";
import { missingCapability, upstreamCapabilities } from "./relay";
import { inspectRelayed, type PortalDlpView } from "./relay-dlp";
import type { RequestStateSeal, SealedState } from "./request-state";
import type { ServerRequestRelay, UpstreamPool } from "./upstreams";

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
        controller.abort(new McpError(ErrorCode.RequestTimeout, "The client did not come back with its input in time"));
        end(exchange);
      }, EXCHANGE_TTL_MS),
    };
    exchange.timer.unref();
    exchanges.set(id, exchange);
    let asked = 0;
    const askClient = (method: string, params: Record<string, unknown> | undefined) =>
      new Promise<Record<string, unknown>>((answer, fail) => push(exchange, { kind: "ask", ask: { key: `input-${++asked}`, method, params, answer, fail } }));
    const channel: CallChannel = {
      // The gateway's own question (the step-up URL elicitation) is one more input_required round.
      ask: {
        capabilities: input.capabilities,
        request: (method, params) => (missingCapability(input.capabilities, method, params) ? Promise.reject(new McpError(ErrorCode.MethodNotFound, "Method not found")) : askClient(method, params)),
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
            const rule = method === "sampling/createMessage" ? "sampling" : method === "elicitation/create" ? "elicitation" : null;
            if (rule && spec.serverRequests?.[rule] === false) return Promise.reject(new McpError(ErrorCode.MethodNotFound, `Method not found: ${rule} is turned off for this server in Portico.`));
            if (missingCapability(input.capabilities, method, params)) return Promise.reject(new McpError(ErrorCode.MethodNotFound, "Method not found"));
            const inspected = inspectRelayed(input.dlp, params, "inputRequests");
            if (inspected.refusal) return Promise.reject(new McpError(ErrorCode.InvalidRequest, inspected.refusal));
            return askClient(method, params);
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
