import { ErrorCode, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";

import { createCatalog } from "../catalog";
import { createMetrics } from "../metrics";
import { callOf, state } from "../testing/stage-fixtures";
import { UpstreamError, type UpstreamPool } from "../upstreams";
import { createVisibleTools } from "../visible-tools";
import { createForward } from "./forward";
import { createResolve } from "./resolve";

/**
 * The stage's own logic against a scripted upstream pool; the pool itself talks to real MCP
 * servers in the integration suites.
 */
function forwardWith(callTool: UpstreamPool["callTool"]) {
  const upstreams = { callTool, hasDrifted: () => false } as unknown as UpstreamPool;
  const metrics = createMetrics();
  const visibleTools = createVisibleTools(() => false);
  return createForward({ upstreams, visibleTools, metrics, catalog: createCatalog({ upstreams, visibleTools, metrics }) });
}

const resolve = createResolve({ getState: () => state, hasDrifted: () => false });
function resolved(method: string, params?: Record<string, unknown>) {
  const call = callOf(method, params);
  expect(resolve(call)).toBeUndefined();
  return call;
}
const signal = new AbortController().signal;

describe("forward", () => {
  it("calls the upstream tool by its upstream name and hands back its result", async () => {
    const seen: unknown[] = [];
    const forward = forwardWith(async (spec, name, args) => {
      seen.push([spec.slug, name, args]);
      return { content: [{ type: "text", text: "42 accounts" }] };
    });
    const call = resolved("tools/call", { name: "a_read", arguments: { month: "2026-10" } });
    expect(await forward(call, signal)).toEqual({ result: { content: [{ type: "text", text: "42 accounts" }] } });
    expect(seen).toEqual([["a", "read", { month: "2026-10" }]]);
    expect(call.upstreamOutcome).toBe("success");
    expect(call.upstreamMs).toBeGreaterThanOrEqual(0);
  });

  it("records a tool's own error as such", async () => {
    const forward = forwardWith(async () => ({ content: [{ type: "text", text: "no such month" }], isError: true }) as CallToolResult);
    const call = resolved("tools/call", { name: "a_read" });
    await forward(call, signal);
    expect(call.upstreamOutcome).toBe("tool_error");
  });

  it("turns an upstream that is down into a tool result with the public message only", async () => {
    const forward = forwardWith(async () => {
      throw new UpstreamError("unavailable", "a", 'Server "a" is unavailable right now; try again shortly.', { cause: new Error("ECONNREFUSED 10.1.2.3:8080") });
    });
    const call = resolved("tools/call", { name: "a_read" });
    expect(await forward(call, signal)).toEqual({ ending: { kind: "tool_error", text: 'Server "a" is unavailable right now; try again shortly.' } });
    expect(call.upstreamOutcome).toBe("unavailable");
  });

  it("keeps a cancelled call a JSON-RPC error", async () => {
    const forward = forwardWith(async () => {
      throw new UpstreamError("cancelled", "a", "The request was cancelled.");
    });
    expect(await forward(resolved("tools/call", { name: "a_read" }), signal)).toMatchObject({ ending: { kind: "rpc_error", code: ErrorCode.InternalError } });
  });

  it("passes the upstream's progress to the caller under the caller's token", async () => {
    const forward = forwardWith(async (_spec, _name, _args, options) => {
      options?.onprogress?.({ progress: 1, total: 3 });
      options?.onprogress?.({ progress: 2, total: 3 });
      return { content: [] };
    });
    const sent: unknown[] = [];
    await forward(resolved("tools/call", { name: "a_read", _meta: { progressToken: "t-9" } }), signal, (method, params) => sent.push([method, params]));
    expect(sent).toEqual([
      ["notifications/progress", { progressToken: "t-9", progress: 1, total: 3 }],
      ["notifications/progress", { progressToken: "t-9", progress: 2, total: 3 }],
    ]);
  });

  it("answers tools/list from the running config, with the caller's visible tools only", async () => {
    const forward = forwardWith(async () => ({ content: [] }));
    const call = resolved("tools/list");
    const answer = await forward(call, signal);
    // The fixture's policy denies write; step-up tools stay listed so clients know they exist.
    expect("result" in answer && (answer.result.tools as { name: string }[]).map((t) => t.name)).toEqual(["a_read", "b_pay"]);
    expect(call.caller.listedTools).toContain("a_read");
    expect(call.result).toEqual({ toolCount: 2 });
  });
});
