import { createParser } from "eventsource-parser";

import { ErrorCode, type ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

import { describeError, log } from "./log";
import { META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSIONS } from "./modern";
import { UpstreamError, type UpstreamSpec } from "./upstreams";

/**
 * A 2026-07-28 caller's tools/call, prompts/get or resources/read, sent to an upstream that speaks
 * 2026-07-28 as what it is: one POST carrying the caller's envelope (its capabilities, narrowed by
 * the admin's switches for that server), with no upstream session. What comes back is the
 * upstream's result as it sent it, `input_required` included: the upstream keeps its own state in
 * its `requestState`, so nothing of the exchange lives in this gateway between rounds and the
 * client's retry may reach any gateway of the fleet (request-state.ts seals what it must carry).
 *
 * Whether an upstream speaks 2026-07-28 is learnt once per URL with `server/discover` and kept for
 * a few minutes; one that does not is reached as before, over its legacy session.
 *
 * Such an upstream tells of its list changes only on a `subscriptions/listen` stream (it has no
 * session to push them on): from the first time it is found to speak 2026-07-28 the gateway keeps
 * one open to it (reopened after a drop, with backoff) while the running config names it, and
 * hands what it hears to `onListChanged`, as a legacy session's notifications are handled.
 */

const PROBE_TTL_MS = 5 * 60_000;
const PROBE_TIMEOUT_MS = 5_000;
const GATEWAY_CLIENT_INFO = { name: "portico-gateway", version: "0.1.0" };
const LISTEN_RETRY_MS = 1_000;
const LISTEN_RETRY_MAX_MS = 60_000;

export type ListChange = "tools" | "prompts" | "resources";

const LIST_CHANGED: Record<string, ListChange> = {
  "notifications/tools/list_changed": "tools",
  "notifications/prompts/list_changed": "prompts",
  "notifications/resources/list_changed": "resources",
};

export type ModernCallOptions = {
  signal: AbortSignal;
  timeoutMs: number;
  capabilities: ClientCapabilities;
  /** What the upstream sends about the call before its answer (progress, log messages). */
  notify?: (method: string, params: Record<string, unknown>) => void;
  progressToken?: string | number;
  /** Envelope fields of the caller's request to keep (log level, trace context). */
  meta?: Record<string, unknown>;
};

type JsonRpc = { id?: unknown; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

/** An upstream's JSON-RPC error, kept for the caller when it is one the protocol gives meaning to. */
export class UpstreamRpcError extends UpstreamError {
  constructor(
    server: string,
    readonly code: number,
    readonly data: unknown,
  ) {
    super("rejected", server, `Server "${server}" refused the request (error ${code}).`);
  }
}

let ids = 0;

export function createModernUpstreams(deps: {
  headersFor(spec: UpstreamSpec): Promise<Record<string, string>>;
  fetch?: typeof fetch;
  /** An upstream that speaks 2026-07-28 said on its listen stream that a list changed. */
  onListChanged?: (spec: UpstreamSpec, what: ListChange) => void;
}) {
  const doFetch = deps.fetch ?? fetch;
  const probes = new Map<string, { at: number; found: Promise<{ modern: boolean; listChanged: boolean }> }>();
  /** Listen streams held open, by server (slug, URL and credential: a change of any is a new stream). */
  const listening = new Map<string, AbortController>();
  const listenKey = (spec: UpstreamSpec) => JSON.stringify([spec.slug, spec.url, spec.credential]);

  function envelope(capabilities: ClientCapabilities, meta?: Record<string, unknown>) {
    return { ...meta, [META_PROTOCOL_VERSION]: MODERN_PROTOCOL_VERSIONS[0], [META_CLIENT_CAPABILITIES]: capabilities, [META_CLIENT_INFO]: GATEWAY_CLIENT_INFO };
  }

  async function post(spec: UpstreamSpec, method: string, params: Record<string, unknown>, signal: AbortSignal, onMessage?: (m: JsonRpc) => void): Promise<JsonRpc> {
    const id = `portico-m${++ids}`;
    const name = method === "resources/read" ? params.uri : params.name;
    const headers: Record<string, string> = {
      ...(await deps.headersFor(spec)),
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": MODERN_PROTOCOL_VERSIONS[0],
      "mcp-method": method,
      ...(typeof name === "string" && method !== "server/discover" ? { "mcp-name": name } : {}),
    };
    let response: Response;
    try {
      response = await doFetch(spec.url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id, method, params }), signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new UpstreamError("unavailable", spec.slug, `Server "${spec.slug}" is unavailable.`, { cause: error });
    }
    const type = response.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream")) {
      const body = (await response.json().catch(() => null)) as JsonRpc | null;
      if (!body || (body.result === undefined && body.error === undefined)) throw new UpstreamError("failed", spec.slug, `Server "${spec.slug}" answered HTTP ${response.status} without a JSON-RPC answer.`);
      return body;
    }
    // An SSE answer: what comes ahead of the response (progress, log messages) goes on, in order.
    let answer: JsonRpc | null = null;
    const parser = createParser({
      onEvent(event) {
        if (answer || (event.event && event.event !== "message")) return;
        try {
          const message = JSON.parse(event.data) as JsonRpc;
          if (message.id === id && (message.result !== undefined || message.error !== undefined)) answer = message;
          else if (typeof message.method === "string" && message.id === undefined) onMessage?.(message);
        } catch {
          // a frame that is not JSON: nothing to pass on
        }
      },
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    while (!answer) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    void reader.cancel().catch(() => undefined);
    if (!answer) throw new UpstreamError("failed", spec.slug, `Server "${spec.slug}" closed its stream without an answer.`);
    return answer;
  }

  /** Whether this upstream speaks 2026-07-28 (asked once per URL with server/discover, then kept). */
  function speaksModern(spec: UpstreamSpec): Promise<boolean> {
    if (spec.transport !== "streamable_http") return Promise.resolve(false);
    let known = probes.get(spec.url);
    if (!known || Date.now() - known.at >= PROBE_TTL_MS) {
      const found = post(spec, "server/discover", { _meta: envelope({}) }, AbortSignal.timeout(PROBE_TIMEOUT_MS)).then(
        (answer) => {
          const capabilities = answer.result?.capabilities as Record<string, { listChanged?: unknown } | undefined> | undefined;
          return {
            modern: Array.isArray(answer.result?.supportedVersions) && (answer.result.supportedVersions as unknown[]).includes(MODERN_PROTOCOL_VERSIONS[0]),
            listChanged: ["tools", "prompts", "resources"].some((k) => capabilities?.[k]?.listChanged),
          };
        },
        (error: unknown) => {
          log("debug", "server/discover failed; reaching the upstream over its legacy session", { server: spec.slug, ...describeError(error) });
          return { modern: false, listChanged: false };
        },
      );
      probes.set(spec.url, (known = { at: Date.now(), found }));
    }
    return known.found.then(({ modern, listChanged }) => {
      if (modern && listChanged) listen(spec);
      return modern;
    });
  }

  /** Keeps a `subscriptions/listen` stream open to this upstream until `retain` no longer names it or `close`. */
  function listen(spec: UpstreamSpec) {
    const onListChanged = deps.onListChanged;
    const key = listenKey(spec);
    if (!onListChanged || listening.has(key)) return;
    const controller = new AbortController();
    listening.set(key, controller);
    const { signal } = controller;
    const filter = { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true };
    void (async () => {
      let failures = 0;
      while (!signal.aborted) {
        const opened = Date.now();
        try {
          const answer = await post(spec, "subscriptions/listen", { notifications: filter, _meta: envelope({}) }, signal, (message) => {
            const what = LIST_CHANGED[message.method ?? ""];
            if (what) onListChanged(spec, what);
          });
          // An upstream that does not offer subscriptions is not asked again until it is probed again.
          if (answer.error?.code === ErrorCode.MethodNotFound) break;
        } catch (error) {
          if (signal.aborted) break;
          log("debug", "listen stream to upstream failed", { server: spec.slug, ...describeError(error) });
        }
        failures = Date.now() - opened > LISTEN_RETRY_MAX_MS ? 0 : failures + 1;
        await new Promise((resolve) => setTimeout(resolve, Math.min(LISTEN_RETRY_MAX_MS, LISTEN_RETRY_MS * 2 ** Math.min(failures, 10))).unref());
      }
      if (listening.get(key) === controller) listening.delete(key);
    })();
  }

  /** After a config change: listen streams to servers it no longer names (or names differently) are closed. */
  function retain(specs: Iterable<UpstreamSpec>) {
    const wanted = new Set([...specs].map(listenKey));
    for (const [key, controller] of listening) {
      if (wanted.has(key)) continue;
      controller.abort();
      listening.delete(key);
    }
  }

  /** The call as one 2026-07-28 request; its result as the upstream sent it (input_required too). */
  async function call(spec: UpstreamSpec, method: string, params: Record<string, unknown>, options: ModernCallOptions): Promise<Record<string, unknown>> {
    const token = `portico-p${++ids}`;
    const meta = { ...options.meta, ...(options.progressToken !== undefined && options.notify ? { progressToken: token } : {}) };
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
    let answer: JsonRpc;
    try {
      answer = await post(spec, method, { ...params, _meta: envelope(options.capabilities, meta) }, signal, (message) => {
        if (!options.notify) return;
        if (message.method === "notifications/progress") {
          if (message.params?.progressToken === token) options.notify(message.method, { ...message.params, progressToken: options.progressToken });
        } else if (message.method === "notifications/message") options.notify(message.method, message.params ?? {});
      });
    } catch (error) {
      if (options.signal.aborted) throw new UpstreamError("cancelled", spec.slug, "The request was cancelled.", { cause: error });
      if (signal.aborted) throw new UpstreamError("timeout", spec.slug, `Server "${spec.slug}" did not answer in time.`, { cause: error });
      throw error;
    }
    if (answer.error) throw new UpstreamRpcError(spec.slug, answer.error.code, answer.error.data);
    return answer.result ?? {};
  }

  return {
    speaksModern,
    call,
    retain,
    listening: () => listening.size,
    close() {
      for (const controller of listening.values()) controller.abort();
      listening.clear();
    },
  };
}

export type ModernUpstreams = ReturnType<typeof createModernUpstreams>;
