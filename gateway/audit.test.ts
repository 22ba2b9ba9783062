import { describe, expect, it } from "vitest";

import { capPayload, mcpRequestEvent, stampGateway, type McpRequestEventFields } from "./audit";
import type { AuditEventInput } from "@/lib/audit/event";

const automation = { kind: "service_account" as const, subject: "sa_nightly", clientId: "sa_nightly", email: null, groups: [], amr: [], scopes: [], expiresAt: null, tokenId: null };

const fields = (over: Partial<McpRequestEventFields>): McpRequestEventFields => ({
  time: new Date("2026-11-02T10:00:00Z"),
  identity: automation,
  portal: "finops",
  action: "tools/call",
  outcome: "allow",
  sourceIp: "10.0.0.7",
  requestId: "req-1",
  data: {},
  ...over,
});

describe("mcpRequestEvent", () => {
  it("targets the upstream tool the gateway resolved, and names the caller", () => {
    const event = mcpRequestEvent(fields({ server: "cost-explorer", tool: "top_services", data: { exposedName: "cost-explorer_top_services" } }));
    expect(event).toMatchObject({ kind: "mcp.request", actorType: "service_account", actorLabel: "sa_nightly", targetType: "tool", targetId: "cost-explorer/top_services" });
  });

  it("keeps the name a client asked for when the tool is turned off or unknown", () => {
    const event = mcpRequestEvent(fields({ outcome: "deny", reasons: ["tool not available: turned off in this portal"], data: { exposedName: "cost-explorer_top_services" } }));
    expect(event).toMatchObject({ targetType: "tool", targetId: "cost-explorer_top_services", outcome: "deny", tool: null });
  });

  it("targets the portal for requests about no tool, and records anonymous callers as such", () => {
    const event = mcpRequestEvent(fields({ action: "initialize", identity: null }));
    expect(event).toMatchObject({ targetType: "portal", targetId: "finops", actorType: "anonymous", actorId: null });
  });
});

describe("capPayload", () => {
  it("keeps small payloads whole and marks big ones truncated", () => {
    expect(capPayload({ month: "2026-10" })).toMatchObject({ value: { month: "2026-10" }, truncated: false });
    const big = capPayload({ text: "x".repeat(20_000) });
    expect(big.truncated).toBe(true);
    expect(JSON.stringify(big.value).length).toBeLessThan(9_000);
  });
});

describe("stampGateway", () => {
  it("names the replica in every event's data, over whatever the data said", () => {
    const out: AuditEventInput[] = [];
    const emit = stampGateway((e) => out.push(e), "gw-2");
    emit(mcpRequestEvent(fields({ data: { exposedName: "budgets_list_budgets", gateway: "spoofed" } })));
    emit({ ...mcpRequestEvent(fields({})), data: null });
    expect(out.map((e) => e.data)).toEqual([{ exposedName: "budgets_list_budgets", gateway: "gw-2" }, { gateway: "gw-2" }]);
  });
});
