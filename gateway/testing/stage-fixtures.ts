import type { TokenIdentity } from "../auth";
import { newCall, newCaller, newRequestContext, type Call } from "../exchange";
import { buildGatewayState, type Decision, type NormalizedConfig, type PolicyAdapter } from "../portal-index";

/** A small indexed config for the stages' table tests: portal "p1" with servers "a" and "b". */

export const identity: TokenIdentity = {
  kind: "service_account",
  subject: "sa-test",
  clientId: "sa-test",
  email: null,
  groups: [],
  amr: [],
  scopes: ["mcp"],
  expiresAt: null,
  tokenId: null,
  issuedAt: null,
  grantId: null,
  secretId: null,
};

const tool = (serverSlug: string, name: string, riskClass = "read") => ({
  serverSlug,
  name,
  exposedName: `${serverSlug}_${name}`,
  definition: { description: `${name} upstream`, inputSchema: { type: "object" as const } },
  riskClass,
  definitionHash: `hash-${name}`,
});

export const config: NormalizedConfig = {
  version: 1,
  portals: [
    {
      slug: "p1",
      servers: [
        { slug: "a", url: "http://127.0.0.1:1/a", transport: "streamable_http", credential: { kind: "none" } },
        { slug: "b", url: "http://127.0.0.1:1/b", transport: "streamable_http", credential: { kind: "none" } },
      ],
      tools: [tool("a", "read"), tool("a", "write", "write"), tool("b", "pay", "financial")],
    },
  ],
};

/** Read tools allowed, write denied, financial needs step-up. */
export const riskPolicy: PolicyAdapter = {
  decide: (_portal, t): Decision =>
    t.riskClass === "read"
      ? { effect: "allow", reasons: ["role analyst allows read"] }
      : t.riskClass === "financial"
        ? { effect: "step_up", reasons: ["financial needs approval"], requiredScope: "mcp mcp:elevated:financial" }
        : { effect: "deny", reasons: ["no role allows write"], rule: "least-privilege" },
};

export const state = buildGatewayState(config, "http://gw", riskPolicy);

export function callOf(method: string, params?: Record<string, unknown>): Call {
  return newCall(newCaller({ portalSlug: "p1", identity }), newRequestContext("req-1", "10.0.0.1"), 1, method, params);
}
