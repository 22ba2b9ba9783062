import { describe, expect, it } from "vitest";

import { buildGatewayState, type Decision } from "./portal-index";
import { config, identity } from "./testing/stage-fixtures";
import { createVisibleTools } from "./visible-tools";

describe("visible tools", () => {
  let evaluations = 0;
  const state = buildGatewayState(config, "http://gw", {
    decide: (_p, t): Decision => {
      evaluations++;
      return t.riskClass === "write" ? { effect: "deny", reasons: [], rule: "r" } : { effect: "allow", reasons: [] };
    },
  });
  const portal = state.portals.get("p1")!;
  let drifted = new Set<string>();
  const visible = createVisibleTools((_s, tool) => drifted.has(tool));
  const at = Date.parse("2026-12-07T10:00:10Z");

  it("runs the policy once per caller and minute, not once per request", () => {
    const first = visible.of(state, portal, identity, "10.0.0.1", at);
    const runs = evaluations;
    expect(first.tools.map((t) => t.exposedName)).toEqual(["a_read", "b_pay"]);
    expect(visible.of(state, portal, identity, "10.0.0.1", at + 30_000)).toBe(first);
    expect(evaluations).toBe(runs);
    // Another minute, another address, another caller: evaluated afresh.
    visible.of(state, portal, identity, "10.0.0.1", at + 60_000);
    visible.of(state, portal, identity, "10.0.0.2", at);
    visible.of(state, portal, { ...identity, groups: ["finops"] }, "10.0.0.1", at);
    expect(evaluations).toBe(runs + 3 * 3);
  });

  it("drops a tool whose upstream drifted once told so", () => {
    drifted = new Set(["pay"]);
    expect(visible.of(state, portal, identity, "10.0.0.1", at).tools.map((t) => t.exposedName)).toEqual(["a_read", "b_pay"]);
    visible.invalidate();
    expect(visible.of(state, portal, identity, "10.0.0.1", at).tools.map((t) => t.exposedName)).toEqual(["a_read"]);
  });

  it("starts afresh with a new config version", () => {
    const next = buildGatewayState({ ...config, version: 2 }, "http://gw", { decide: () => ({ effect: "deny", reasons: [], rule: "r" }) });
    expect(visible.of(next, next.portals.get("p1")!, identity, "10.0.0.1", at).tools).toEqual([]);
  });
});
