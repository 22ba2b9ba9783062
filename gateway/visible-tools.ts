import type { Tool } from "@modelcontextprotocol/sdk/types.js";

import type { TokenIdentity } from "./auth";
import type { ExposedTool, GatewayState, PortalView } from "./portal-index";

/**
 * What tools/list shows a caller: the policy's view of the portal, minus tools whose upstream
 * drifted from the pinned definition. Computing it runs the policy once per tool, so it is cached
 * per config version (the cache hangs off the state object and goes with it), per portal, caller
 * (subject, groups, MFA, scopes) and source address, until the end of the current minute (time
 * windows are set in minutes) or until an upstream's tools change.
 */

const MAX_ENTRIES_PER_VERSION = 10_000;

/** One caller's view, with what tools/list answers and its stamp computed once per view. */
export type ToolView = { tools: ExposedTool[]; definitions: Tool[]; stamp: string };

type Entry = ToolView & { until: number };

export type VisibleTools = {
  of(state: GatewayState, portal: PortalView, identity: TokenIdentity, sourceIp: string | null, now?: number): ToolView;
  /** An upstream's tools changed (drift): everything cached may be stale. */
  invalidate(): void;
};

const identityKeys = new WeakMap<TokenIdentity, string>();

function identityKey(identity: TokenIdentity): string {
  let key = identityKeys.get(identity);
  if (key === undefined) {
    key = [identity.kind, identity.subject, identity.groups.join(","), identity.amr.join(","), identity.scopes.join(" ")].join("\u0000");
    identityKeys.set(identity, key);
  }
  return key;
}

export function createVisibleTools(hasDrifted: (server: string, tool: string, hash: string) => boolean): VisibleTools {
  let caches = new WeakMap<GatewayState, Map<string, Entry>>();
  return {
    of(state, portal, identity, sourceIp, now = Date.now()) {
      let cache = caches.get(state);
      if (!cache) caches.set(state, (cache = new Map()));
      const key = `${portal.slug}\u0000${sourceIp ?? ""}\u0000${identityKey(identity)}`;
      const hit = cache.get(key);
      if (hit && now < hit.until) return hit;
      const tools = state
        .visibleTools(portal, identity, { now: new Date(now), sourceIp })
        .filter((t) => !hasDrifted(t.serverSlug, t.upstreamName, t.definitionHash));
      if (cache.size >= MAX_ENTRIES_PER_VERSION) cache.clear();
      const entry = { tools, definitions: tools.map((t) => t.definition), stamp: toolListStamp(tools), until: (Math.floor(now / 60_000) + 1) * 60_000 };
      cache.set(key, entry);
      return entry;
    },
    invalidate() {
      caches = new WeakMap();
    },
  };
}

/** What a client would notice in tools/list: names, accepted definitions and shown descriptions. */
export function toolListStamp(tools: ExposedTool[]): string {
  return tools.map((t) => `${t.exposedName}\t${t.definitionHash}\t${t.definition.description ?? ""}`).join("\n");
}
