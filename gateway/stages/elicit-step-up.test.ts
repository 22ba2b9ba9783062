import { describe, expect, it } from "vitest";

import type { TokenIdentity } from "../auth";
import type { GatewayAsk } from "../exchange";
import { callOf, state } from "../testing/stage-fixtures";
import { createDecide } from "./decide";
import { createElicitStepUp } from "./elicit-step-up";
import { createResolve } from "./resolve";

const resolve = createResolve({ getState: () => state, hasDrifted: () => false });
const decide = createDecide({ gatewayUrl: "http://gw", controlPlaneUrl: "https://portico.example" });
const elicit = createElicitStepUp();

function challenged(capabilities: GatewayAsk["capabilities"], answer: () => Promise<Record<string, unknown>>, who: Partial<TokenIdentity> = {}) {
  const call = callOf("tools/call", { name: "b_pay", arguments: { amount: 1200 } });
  call.caller.identity = { ...call.caller.identity, ...who };
  const asked: Record<string, unknown>[] = [];
  call.channel = { notify: () => undefined, relay: () => undefined, ask: { capabilities, request: (_m, params) => (asked.push(params), answer()) } };
  expect(resolve(call)).toBeUndefined();
  const ending = decide(call)!;
  return { call, ending, asked };
}

describe("elicit step-up", () => {
  it("sends a client that declared URL mode the request page, with the call's arguments, and ends with a tool error", async () => {
    const { call, ending, asked } = challenged({ elicitation: { url: {} } }, async () => ({ action: "accept" }));
    const out = await elicit(call, ending);
    expect(asked).toEqual([expect.objectContaining({ mode: "url", url: call.stepUp!.url })]);
    const url = new URL(call.stepUp!.url);
    expect(url.searchParams.get("args")).toBe('{"amount":1200}');
    expect(out).toEqual({ kind: "tool_error", text: expect.stringContaining("The request page was opened") });
    expect(call.reasons).toEqual(expect.arrayContaining(["step-up request page sent by URL elicitation", "the client accepted it"]));
  });

  it.each([
    ["form mode only", { elicitation: { form: {} } }],
    ["an empty elicitation object (form mode)", { elicitation: {} }],
    ["no elicitation", { sampling: {} }],
  ])("keeps the 403 challenge for a client with %s, asking nothing", async (_label, capabilities) => {
    const { call, ending, asked } = challenged(capabilities, async () => ({ action: "accept" }));
    expect(await elicit(call, ending)).toBe(ending);
    expect(asked).toEqual([]);
  });

  it("says nothing was requested on a decline, and falls back to the link when the client fails to answer", async () => {
    const declined = challenged({ elicitation: { url: {} } }, async () => ({ action: "decline" }));
    expect(await elicit(declined.call, declined.ending)).toEqual({ kind: "tool_error", text: expect.stringContaining("Nothing was requested (the page was declined)") });
    const failed = challenged({ elicitation: { url: {} } }, () => Promise.reject(new Error("timed out")));
    const out = await elicit(failed.call, failed.ending);
    expect(out).toEqual({ kind: "tool_error", text: failed.ending.kind === "http" ? failed.ending.fallback.text : "" });
    expect(failed.call.reasons).toContain("the client did not answer the elicitation");
  });

  it("leaves the link without arguments when they are too long for one", () => {
    const call = callOf("tools/call", { name: "b_pay", arguments: { note: "x".repeat(3000) } });
    resolve(call);
    decide(call);
    expect(new URL(call.stepUp!.url).searchParams.has("args")).toBe(false);
  });

  it("tells a caller whose grant left the snapshot that its elevated access ended", async () => {
    const { call, ending, asked } = challenged({ elicitation: { url: {} } }, async () => ({ action: "accept" }), { scopes: ["mcp", "mcp:elevated:financial"], elevationId: "g-old" });
    await elicit(call, ending);
    expect(asked[0]?.message).toBe('Your elevated access ended (elevated grant g-old is no longer active). b_pay needs a manager\'s approval (scope "mcp mcp:elevated:financial"). Open the page to ask for it; once approved, call the tool again.');
    expect(call.reasons).toContain("elevated grant g-old is no longer active");
  });
});
