import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";

import { buildGatewayState } from "../portal-index";
import { callOf, config, riskPolicy, state } from "../testing/stage-fixtures";
import { createResolve } from "./resolve";

const resolve = createResolve({ getState: () => state, hasDrifted: (_s, tool) => tool === "pay" });

describe("resolve", () => {
  it.each([
    ["a known tool", "tools/call", { name: "a_read", arguments: { x: 1 } }, undefined],
    ["a tool without arguments", "tools/call", { name: "a_read" }, undefined],
    ["no tool name", "tools/call", { arguments: {} }, ErrorCode.InvalidParams],
    ["arguments that are not an object", "tools/call", { name: "a_read", arguments: [1] }, ErrorCode.InvalidParams],
    ["a _meta that is not an object", "tools/call", { name: "a_read", _meta: 3 }, ErrorCode.InvalidParams],
    ["a tool the portal does not offer", "tools/call", { name: "zz_nothing" }, ErrorCode.InvalidParams],
    ["a tool that drifted upstream", "tools/call", { name: "b_pay" }, ErrorCode.InvalidParams],
    ["tools/list", "tools/list", undefined, undefined],
    ["tools/list with a bad cursor", "tools/list", { cursor: 5 }, ErrorCode.InvalidParams],
    ["prompts/get without a name", "prompts/get", {}, ErrorCode.InvalidParams],
    ["resources/read with a uri", "resources/read", { uri: "file:///x" }, undefined],
    ["an unknown method", "tools/explode", {}, ErrorCode.MethodNotFound],
  ])("%s", (_name, method, params, code) => {
    const ending = resolve(callOf(method, params));
    if (code === undefined) expect(ending).toBeUndefined();
    else expect(ending).toMatchObject({ kind: "rpc_error", code });
  });

  it("names the upstream tool, and the progress token, on the call", () => {
    const call = callOf("tools/call", { name: "a_read", arguments: { month: "2026-10" }, _meta: { progressToken: "p-1" } });
    expect(resolve(call)).toBeUndefined();
    expect(call).toMatchObject({ server: "a", target: "read", exposedName: "a_read", arguments: { month: "2026-10" }, progressToken: "p-1", outcome: "allow" });
  });

  it("records a refusal as a denial with its reason", () => {
    const call = callOf("tools/call", { name: "b_pay" });
    const ending = resolve(call);
    expect(ending).toMatchObject({ message: expect.stringMatching(/describes it differently/) });
    expect(call.outcome).toBe("deny");
    expect(call.reasons).toEqual(["tool definition drifted upstream"]);
  });

  // The next version offers only a_read; a_write is switched off, b_pay quarantined (named so by the snapshot).
  const next = buildGatewayState({ ...config, version: 2, portals: [{ ...config.portals[0]!, tools: config.portals[0]!.tools.filter((t) => t.name === "read"), quarantined: ["b_pay"] }] }, "http://gw", riskPolicy, state);
  const resolveNext = createResolve({ getState: () => next, hasDrifted: () => false });

  it.each([
    ["quarantined by the control plane", "b_pay", 'Tool "b_pay" is quarantined: its definition changed upstream and an admin must review it.', "tool quarantined: definition changed upstream", false],
    ["turned off in the portal", "a_write", 'Tool "a_write" is turned off in this portal.', "tool turned off in this portal", false],
    ["a name no tool has", "get_spend", 'Tool "get_spend" is not available in this portal: no tool has that name; tools/list shows the names to call.', "unknown tool", true],
  ])("says which applies to a tool it does not serve: %s", (_name, tool, message, reason, isUnknownTool) => {
    const call = callOf("tools/call", { name: tool });
    expect(resolveNext(call)).toEqual({ kind: "rpc_error", code: ErrorCode.InvalidParams, message });
    expect(call).toMatchObject({ outcome: "deny", reasons: [reason], exposedName: tool });
    expect(call.isUnknownTool === true).toBe(isUnknownTool);
  });

  it("refuses every call once the portal is gone from the running config", () => {
    const gone = createResolve({ getState: () => null, hasDrifted: () => false });
    expect(gone(callOf("tools/list"))).toMatchObject({ code: ErrorCode.InvalidRequest, message: "This portal is no longer available." });
  });
});
