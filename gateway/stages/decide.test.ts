import { describe, expect, it } from "vitest";

import { extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";

import { callOf, identity, state } from "../testing/stage-fixtures";
import { createDecide, MAX_LINK_ARGUMENTS_CHARS } from "./decide";
import { createResolve } from "./resolve";

const resolve = createResolve({ getState: () => state, hasDrifted: () => false });
const decide = createDecide({ gatewayUrl: "http://gw" });

const linked = createDecide({ gatewayUrl: "http://gw", controlPlaneUrl: "https://portico.example" });

function decided(name: string, options: { decide?: typeof decide; kind?: "user" | "service_account"; args?: Record<string, unknown> } = {}) {
  const call = callOf("tools/call", { name, arguments: options.args ?? {} });
  call.caller.identity = { ...identity, kind: options.kind ?? identity.kind };
  expect(resolve(call)).toBeUndefined();
  return { call, ending: (options.decide ?? decide)(call) };
}

/**
 * A Bearer challenge read strictly (RFC 7235 auth-params, RFC 6750 quoted values: no `"` or `\`,
 * printable ASCII only): throws on anything else, so a description that breaks the header fails.
 */
function parseChallenge(header: string): Record<string, string> {
  expect(header.startsWith("Bearer ")).toBe(true);
  const params: Record<string, string> = {};
  const param = /([a-z_]+)="([\x20\x21\x23-\x5b\x5d-\x7e]*)"(?:, |$)/y;
  param.lastIndex = "Bearer ".length;
  while (param.lastIndex < header.length) {
    const match = param.exec(header);
    if (!match) throw new Error(`not a valid challenge from ${param.lastIndex}: ${header}`);
    params[match[1]!] = match[2]!;
  }
  return params;
}

function challengeOf(ending: ReturnType<typeof decide>): string {
  if (ending?.kind !== "http") throw new Error("not an HTTP ending");
  return ending.headers?.["www-authenticate"] ?? "";
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

  it("puts the request page URL in the 403's message and in a challenge that stays valid", () => {
    const { call, ending } = decided("b_pay", { decide: linked, kind: "user", args: { amount: 1200 } });
    const url = call.stepUp!.url;
    expect(url).toBe("https://portico.example/step-up/new?portal=p1&risk=financial&server=b&tool=pay&args=%7B%22amount%22%3A1200%7D");
    expect(ending).toMatchObject({
      kind: "http",
      status: 403,
      message: `Tool "b_pay" needs elevated access (scope "mcp mcp:elevated:financial"). Request it at ${url} and retry once a manager approves.`,
      fallback: { kind: "tool_error", text: expect.stringContaining(`Request it at ${url} `) },
    });
    const header = challengeOf(ending);
    expect(parseChallenge(header)).toEqual({
      resource_metadata: "http://gw/.well-known/oauth-protected-resource/mcp/p1",
      scope: "mcp mcp:elevated:financial",
      error: "insufficient_scope",
      error_description: `This tool needs elevated access: request it at ${url}`,
    });
    // What the official SDK client reads from it is unchanged by the description.
    expect(extractWWWAuthenticateParams(new Response(null, { status: 403, headers: { "www-authenticate": header } }))).toMatchObject({
      scope: "mcp mcp:elevated:financial",
      error: "insufficient_scope",
    });
  });

  it("keeps the challenge short: long arguments stay in the message's link, not the header's", () => {
    const args = { memo: "x".repeat(MAX_LINK_ARGUMENTS_CHARS - 20) };
    const { call, ending } = decided("b_pay", { decide: linked, kind: "user", args });
    expect(new URL(call.stepUp!.url).searchParams.get("args")).toBe(JSON.stringify(args));
    expect(ending).toMatchObject({ message: expect.stringContaining(call.stepUp!.url) });
    const description = parseChallenge(challengeOf(ending)).error_description;
    expect(description).toBe("This tool needs elevated access: request it at https://portico.example/step-up/new?portal=p1&risk=financial&server=b&tool=pay");
  });

  it("tells a service account, which cannot re-authorize, how to file the request through the API", () => {
    const { call, ending } = decided("b_pay", { decide: linked, kind: "service_account" });
    const url = call.stepUp!.url;
    expect(ending).toMatchObject({
      status: 403,
      message:
        `Tool "b_pay" needs elevated access (scope "mcp mcp:elevated:financial"). A person requests it at ${url}; a service account files ` +
        'POST https://portico.example/api/v1/step-up-requests with its access token and the JSON body {"riskClass":"financial","server":"b","tool":"pay","reason":"why it is needed","durationMinutes":15} ' +
        '(plus "arguments" for a class approved call by call), then retries once a manager approves.',
    });
    expect(parseChallenge(challengeOf(ending)).error_description).toBe(
      `This tool needs elevated access: a person requests it at ${url}, a service account with POST https://portico.example/api/v1/step-up-requests`,
    );
  });

  it("has nothing to decide for other methods", () => {
    const call = callOf("tools/list");
    resolve(call);
    expect(decide(call)).toBeUndefined();
  });
});
