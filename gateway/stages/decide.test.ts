import { describe, expect, it } from "vitest";

import { callOf, state } from "../testing/stage-fixtures";
import { createDecide } from "./decide";
import { createResolve } from "./resolve";

const resolve = createResolve({ getState: () => state, hasDrifted: () => false });
const decide = createDecide({ gatewayUrl: "http://gw" });

function decided(name: string) {
  const call = callOf("tools/call", { name, arguments: {} });
  expect(resolve(call)).toBeUndefined();
  return { call, ending: decide(call) };
}

describe("decide", () => {
  it("lets an allowed call through with the policy's reasons", () => {
    const { call, ending } = decided("a_read");
    expect(ending).toBeUndefined();
    expect(call).toMatchObject({ outcome: "allow", reasons: ["role analyst allows read"] });
  });

  it("denies with a tool result naming the rule, and never calls the upstream", () => {
    const { call, ending } = decided("a_write");
    expect(ending).toEqual({ kind: "tool_error", text: 'Access denied by rule "least-privilege": no role allows write.' });
    expect(call).toMatchObject({ outcome: "deny", upstreamOutcome: "not_called" });
  });

  it("challenges a step-up with 403 insufficient_scope naming the elevated scope, or a tool error where HTTP cannot", () => {
    const { call, ending } = decided("b_pay");
    expect(ending).toMatchObject({ kind: "http", status: 403, fallback: { kind: "tool_error", text: expect.stringMatching(/elevated access/) } });
    const challenge = ending?.kind === "http" ? ending.headers?.["www-authenticate"] : undefined;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="mcp mcp:elevated:financial"');
    expect(challenge).toContain('resource_metadata="http://gw/.well-known/oauth-protected-resource/mcp/p1"');
    expect(call.outcome).toBe("deny");
  });

  it("has nothing to decide for other methods", () => {
    const call = callOf("tools/list");
    resolve(call);
    expect(decide(call)).toBeUndefined();
  });
});
