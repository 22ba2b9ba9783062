import { describe, expect, it } from "vitest";

import type { AuditEventInput } from "@/lib/audit/event";

import { createMetrics } from "../metrics";
import { callOf } from "../testing/stage-fixtures";
import { createAudit } from "./audit";

function auditing(gatewayName?: string) {
  const events: AuditEventInput[] = [];
  return { events, audit: createAudit({ emit: (e) => events.push(e), metrics: createMetrics(), gatewayName }) };
}

describe("audit", () => {
  it("records one event per call, with what the stages found", () => {
    const { events, audit } = auditing();
    const call = callOf("tools/call", { name: "a_read" });
    Object.assign(call, { server: "a", target: "read", exposedName: "a_read", arguments: { month: "2026-10" }, result: { content: [] }, upstreamOutcome: "success", upstreamMs: 1.23456 });
    call.reasons.push("role analyst allows read");
    audit.finish(call, { bytes: 120 });
    audit.finish(call, { bytes: 120 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: "mcp.request",
      action: "tools/call",
      outcome: "allow",
      actorType: "service_account",
      actorId: "sa-test",
      portal: "p1",
      server: "a",
      tool: "read",
      sourceIp: "10.0.0.1",
      requestId: "req-1",
      reasons: ["role analyst allows read"],
      data: { exposedName: "a_read", responseBytes: 120, upstreamOutcome: "success", upstreamLatencyMs: 1.235, arguments: { month: "2026-10" } },
    });
  });

  it("says a call with no answer was cancelled, and keeps a denial's status", () => {
    const { events, audit } = auditing();
    audit.finish(callOf("tools/call", { name: "a_read" }), null);
    const challenged = callOf("tools/call", { name: "b_pay" });
    challenged.outcome = "deny";
    audit.finish(challenged, { bytes: 90, httpStatus: 403, error: { code: -32000, message: "needs elevated access" } });
    expect(events[0]!.data).toMatchObject({ upstreamOutcome: "cancelled", responseBytes: 0 });
    expect(events[1]).toMatchObject({ outcome: "deny", data: { httpStatus: 403 } });
  });

  it("names an upstream's error as the reason when nothing else explains it", () => {
    const { events, audit } = auditing();
    audit.finish(callOf("tools/list"), { bytes: 10, error: { code: -32603, message: "The gateway could not complete the request." } });
    expect(events[0]).toMatchObject({ outcome: "allow", reasons: ["The gateway could not complete the request."], data: { upstreamOutcome: "error" } });
  });

  it("names the replica that served the request, so a fleet's events can be told apart", () => {
    const { events, audit } = auditing("gw-2");
    audit.finish(callOf("tools/list"), { bytes: 10 });
    audit.refusal({ ctx: callOf("x").ctx, portal: "p1", identity: null, method: "unauthenticated", reasons: ["no bearer token"], status: 401, responseBytes: 80 });
    expect(events.map((e) => e.data?.gateway)).toEqual(["gw-2", "gw-2"]);
  });

  it("records requests refused before they became calls, without an identity when there was none", () => {
    const { events, audit } = auditing();
    audit.refusal({ ctx: callOf("x").ctx, portal: "p1", identity: null, method: "unauthenticated", reasons: ["token expired"], status: 401, responseBytes: 80 });
    expect(events[0]).toMatchObject({ actorType: "anonymous", outcome: "deny", reasons: ["token expired"], data: { httpStatus: 401, upstreamOutcome: "not_called" } });
  });
});
