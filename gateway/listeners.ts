import type { ServerResponse } from "node:http";

import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import type { Caller } from "./exchange";
import { GATEWAY_SERVER_INFO } from "./exchange";
import { modernResult } from "./modern";
import type { GatewayState } from "./portal-index";
import type { VisibleTools } from "./visible-tools";

/**
 * 2026-07-28 `subscriptions/listen`: SSE streams that acknowledge the change notifications the
 * gateway will send (tools, prompts, resources lists; not single-resource subscriptions), then
 * carry them, each stamped with the subscription id, until the client goes away or the gateway
 * stops. The stateless era's way to hear of changes.
 */

type ListenFilter = { toolsListChanged?: true; promptsListChanged?: true; resourcesListChanged?: true };

type Listener = { caller: Caller; id: string | number; filter: ListenFilter; res: ServerResponse; keepAlive: NodeJS.Timeout | undefined };

export type ListenRefusal = { status: number; code: number; message: string; reason: string; headers?: Record<string, string> };

const SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";

export function createListeners(options: { visibleTools: VisibleTools; maxListeners?: number }) {
  const listeners = new Set<Listener>();
  const maxListeners = options.maxListeners ?? 10_000;

  function stampOf(caller: Caller, state: GatewayState): string | null {
    const portal = state.portals.get(caller.portalSlug);
    return portal ? options.visibleTools.of(state, portal, caller.identity, null).stamp : null;
  }

  function sendEvent(listener: Listener, method: string, params: Record<string, unknown> = {}): number {
    const data = JSON.stringify({ jsonrpc: "2.0", method, params: { ...params, _meta: { [SUBSCRIPTION_ID]: listener.id } } });
    const chunk = `event: message\ndata: ${data}\n\n`;
    listener.res.write(chunk);
    return Buffer.byteLength(chunk);
  }

  /** Opens a stream; returns the bytes of its acknowledgement, or why it was refused. */
  function listen(caller: Caller, id: string | number, params: unknown, res: ServerResponse, state: GatewayState): { bytes: number; honored: ListenFilter } | ListenRefusal {
    const requested = (params as { notifications?: unknown } | undefined)?.notifications;
    if (!requested || typeof requested !== "object" || Array.isArray(requested)) {
      return { status: 400, code: ErrorCode.InvalidParams, message: "Invalid params: subscriptions/listen needs a notifications filter object.", reason: "invalid listen filter" };
    }
    if (listeners.size >= maxListeners) {
      return { status: 503, code: ErrorCode.InternalError, message: "Too many open subscriptions; try again later.", reason: "subscription limit reached", headers: { "retry-after": "5" } };
    }
    const wants = requested as Record<string, unknown>;
    const honored: ListenFilter = {};
    for (const key of ["toolsListChanged", "promptsListChanged", "resourcesListChanged"] as const) if (wants[key] === true) honored[key] = true;

    const listener: Listener = { caller, id, filter: honored, res, keepAlive: undefined };
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive" });
    const bytes = sendEvent(listener, "notifications/subscriptions/acknowledged", { notifications: honored });
    if (honored.toolsListChanged) caller.listedTools = stampOf(caller, state);
    listeners.add(listener);
    // A comment line now and then keeps idle proxies from cutting the stream.
    listener.keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 25_000);
    listener.keepAlive.unref();
    res.once("close", () => {
      clearInterval(listener.keepAlive);
      listeners.delete(listener);
    });
    return { bytes, honored };
  }

  /** Tells listeners of a portal what changed, each only what it asked for and can see. */
  function notify(portalSlug: string, what: "tools" | "prompts" | "resources", state: GatewayState) {
    for (const listener of listeners) {
      if (listener.caller.portalSlug !== portalSlug) continue;
      if (what === "tools" && listener.filter.toolsListChanged) {
        const stamp = stampOf(listener.caller, state);
        if (stamp === null || stamp === listener.caller.listedTools) continue;
        listener.caller.listedTools = stamp;
        sendEvent(listener, "notifications/tools/list_changed");
      } else if (what === "prompts" && listener.filter.promptsListChanged) {
        sendEvent(listener, "notifications/prompts/list_changed");
      } else if (what === "resources" && listener.filter.resourcesListChanged) {
        sendEvent(listener, "notifications/resources/list_changed");
      }
    }
  }

  /** Ends the streams of callers that may no longer listen (portal removed, access revoked). */
  function drop(isGone: (caller: Caller) => boolean) {
    for (const listener of [...listeners]) if (isGone(listener.caller)) listener.res.end();
  }

  /** On shutdown: the empty listen result is the spec's graceful end of a subscription. */
  function endAll() {
    for (const listener of [...listeners]) {
      clearInterval(listener.keepAlive);
      listeners.delete(listener);
      const result = modernResult("subscriptions/listen", { _meta: { [SUBSCRIPTION_ID]: listener.id } }, GATEWAY_SERVER_INFO);
      listener.res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id: listener.id, result })}\n\n`);
    }
  }

  return { listen, notify, drop, endAll, size: () => listeners.size };
}

export type Listeners = ReturnType<typeof createListeners>;
