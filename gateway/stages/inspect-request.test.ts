import { describe, expect, it } from "vitest";

import { buildGatewayState } from "../portal-index";
import { callOf, config, riskPolicy } from "../testing/stage-fixtures";
import { createInspectRequest } from "./inspect-request";
import { createResolve } from "./resolve";

const CARD = "4111 1111 1111 1111";

function inspected(dlp: Parameters<typeof stateWith>[0], args: Record<string, unknown>) {
  const state = stateWith(dlp);
  const call = callOf("tools/call", { name: "a_read", arguments: args });
  expect(createResolve({ getState: () => state, hasDrifted: () => false })(call)).toBeUndefined();
  return { call, ending: createInspectRequest()(call) };
}

function stateWith(dlp: { actions?: Record<string, "redact" | "block" | "flag">; capture?: "off" | "metadata" | "full" } | undefined, patterns: Array<{ id: string; name: string; regex: string }> = []) {
  return buildGatewayState(
    { ...config, dlpPatterns: patterns, portals: config.portals.map((p) => ({ ...p, dlp: dlp ? { actions: dlp.actions ?? {}, capture: dlp.capture ?? "full" } : undefined })) },
    "http://gw",
    riskPolicy,
  );
}

describe("inspect request (DLP)", () => {
  it("redacts a card number in the audit copy by default, counts it, and lets the call through untouched", () => {
    const args = { note: `charge ${CARD}`, month: "2026-11" };
    const { call, ending } = inspected(undefined, args);
    expect(ending).toBeUndefined();
    expect(call.arguments).toBe(args);
    expect(call.redacted?.arguments).toEqual({ note: "charge [REDACTED:card]", month: "2026-11" });
    expect(call.dlp).toEqual([{ detector: "card", field: "arguments", count: 1 }]);
  });

  it("blocks on a portal set to block, naming the detector and never the number", () => {
    const { call, ending } = inspected({ actions: { card: "block" } }, { note: CARD });
    expect(ending).toEqual({ kind: "tool_error", text: expect.stringContaining('payment card number (detector "card")') });
    expect(JSON.stringify(ending)).not.toContain("4111");
    expect(call).toMatchObject({ outcome: "deny", upstreamOutcome: "not_called", reasons: ["blocked by DLP: payment card number (card) in the arguments"] });
  });

  it("flags without redacting", () => {
    const { call, ending } = inspected({ actions: { card: "flag" } }, { note: CARD });
    expect(ending).toBeUndefined();
    expect(call.redacted?.arguments).toEqual({ note: CARD });
    expect(call.dlp).toEqual([{ detector: "card", field: "arguments", count: 1 }]);
  });

  it("finds nothing in clean arguments and leaves no trace", () => {
    const { call, ending } = inspected(undefined, { month: "2026-11" });
    expect(ending).toBeUndefined();
    expect(call.dlp).toBeUndefined();
  });

  it.each([
    ["a prompt's arguments", callOf("prompts/get", { name: "a_prompt", arguments: { note: CARD } }), "the arguments"],
    ["a 2026-07-28 client's answers to what the server asked", callOf("tools/call", { name: "a_read", arguments: {}, inputResponses: { ask: { action: "accept", content: { card: CARD } } } }), "the answers to the server's questions"],
  ])("blocks %s on a portal set to block, naming the detector", (_, call, where) => {
    const state = stateWith({ actions: { card: "block" } });
    expect(createResolve({ getState: () => state, hasDrifted: () => false })(call)).toBeUndefined();
    const ending = createInspectRequest()(call);
    const said = ending && "text" in ending ? ending.text : ending && "message" in ending ? ending.message : "";
    expect(said).toContain(`${where} contain a payment card number (detector "card")`);
    expect(JSON.stringify(ending)).not.toContain("4111");
    expect(ending?.kind).toBe(call.method === "tools/call" ? "tool_error" : "rpc_error");
    expect(call.upstreamOutcome).toBe("not_called");
  });
});
