import { describe, expect, it } from "vitest";

import type { TokenIdentity } from "./auth";
import { buildGatewayState, type NormalizedConfig } from "./portal-index";

const tool = (serverSlug: string, name: string, exposedName = `${serverSlug}_${name}`) => ({
  serverSlug,
  name,
  exposedName,
  definition: { description: `${name} upstream`, inputSchema: { type: "object" as const } },
  riskClass: "read",
  definitionHash: `hash-${name}`,
});

const servers = [
  { slug: "a", url: "http://a/mcp", transport: "streamable_http" as const, credential: { kind: "none" as const } },
  { slug: "b", url: "http://b/mcp", transport: "sse" as const, credential: { kind: "none" as const } },
];

const config = (tools: NormalizedConfig["portals"][number]["tools"], version = 1): NormalizedConfig => ({ version, portals: [{ slug: "p1", servers, tools }] });

const allowAll = { decide: () => ({ effect: "allow" as const, reasons: [] }) };
const identity: TokenIdentity = { kind: "service_account", subject: "s", clientId: null, email: null, groups: [], amr: [], scopes: ["mcp"], expiresAt: null, issuedAt: null, tokenId: null, grantId: null, secretId: null };

describe("buildGatewayState", () => {
  const state = buildGatewayState(config([tool("a", "read"), tool("a", "one", "same"), tool("b", "two", "same"), tool("b", "listed"), tool("a", "bad", "has space")]), "http://gw", allowAll);
  const portal = state.portals.get("p1")!;

  it("names the portal by its exact URL and routes exposed names to upstream names", () => {
    expect(portal.url).toBe("http://gw/mcp/p1");
    expect(portal.tools.get("a_read")).toMatchObject({ serverSlug: "a", upstreamName: "read", definition: { name: "a_read" } });
  });

  it("routes to neither tool when two claim one exposed name, and drops invalid names", () => {
    expect(portal.tools.has("same")).toBe(false);
    expect(portal.unavailableTools.get("same")).toBe("ambiguous");
    expect(portal.tools.has("has space")).toBe(false);
  });

  it("remembers why a tool that was offered before is gone: quarantined when the snapshot says so, else turned off", () => {
    const next = buildGatewayState({ version: 2, portals: [{ slug: "p1", servers, tools: [tool("b", "listed")], quarantined: ["a_quarantined"] }] }, "http://gw", allowAll, state);
    const unavailable = next.portals.get("p1")!.unavailableTools;
    expect(unavailable.get("a_read")).toBe("turned_off");
    expect(unavailable.get("a_quarantined")).toBe("quarantined");
    // Known as quarantined without a previous version (a gateway just started).
    const fresh = buildGatewayState({ version: 2, portals: [{ slug: "p1", servers, tools: [], quarantined: ["a_read"] }] }, "http://gw", allowAll);
    expect(fresh.portals.get("p1")!.unavailableTools.get("a_read")).toBe("quarantined");
  });

  it("lists tools in a stable order and hides denied ones", () => {
    const deny = buildGatewayState(config([tool("b", "listed"), tool("a", "read")]), "http://gw", {
      decide: (_p, t) => (t.exposedName === "b_listed" ? { effect: "deny", reasons: ["no"], rule: "r" } : { effect: "allow", reasons: [] }),
    });
    const p = deny.portals.get("p1")!;
    expect(p.toolList.map((t) => t.exposedName)).toEqual(["a_read", "b_listed"]);
    expect(deny.visibleTools(p, identity, { now: new Date(), sourceIp: null }).map((t) => t.exposedName)).toEqual(["a_read"]);
  });
});
