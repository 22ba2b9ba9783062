import { describe, expect, it } from "vitest";

import { GENESIS_HASH, auditEventInput, hashAuditEvent } from "@/lib/audit/event";
import { findUnstorable } from "@/lib/storable-text";

import { auditPayload, capPayload, mcpRequestEvent, type McpRequestEventFields } from "./audit";

const automation = { kind: "service_account" as const, subject: "sa_nightly", clientId: "sa_nightly", email: null, groups: [], amr: [], scopes: [], expiresAt: null, issuedAt: null, tokenId: null, grantId: null, secretId: null };

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

describe("an event built from hostile input", () => {
  const deep = (depth: number) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };

  it("is accepted by the control plane's schema unchanged, whatever the arguments hold", () => {
    const shapes: Record<string, unknown> = {
      nul: { q: "a\u0000b" },
      loneSurrogate: { q: "\udc00" },
      hugeString: { q: "x".repeat(1_000_000) },
      deep: { q: deep(10_000) },
      hugeArray: { q: Array.from({ length: 200_000 }, (_, i) => i) },
      badKey: { "\u0000": 1 },
    };
    for (const [shape, args] of Object.entries(shapes)) {
      const capped = capPayload(args);
      const event = mcpRequestEvent(
        fields({ action: "tools/call\u0000", reasons: ["unknown tool \ud800"], data: { clientName: "c\u0000".repeat(100_000), exposedName: "x\u0000", arguments: capped.value } }),
      );
      const parsed = auditEventInput.safeParse(JSON.parse(JSON.stringify(event)));
      expect(parsed.success, shape).toBe(true);
      expect(hashAuditEvent(GENESIS_HASH, parsed.data!), shape).toBe(hashAuditEvent(GENESIS_HASH, event));
      expect(findUnstorable(event), shape).toBeNull();
      expect(event.data!.escapedCharacters, shape).toBeGreaterThan(0);
      // The event keeps its shape: only the payload itself is marked truncated.
      expect(event.data, shape).toHaveProperty("exposedName", "x\\u0000");
      expect(Buffer.byteLength(JSON.stringify(event)), shape).toBeLessThan(200 * 1024);
    }
  });

  it("leaves a clean payload within the limit uncopied", () => {
    const args = { month: "2026-10", services: ["ec2"] };
    expect(capPayload(args).value).toBe(args);
  });
});

describe("auditPayload with mcpRequestEvent (the hot path's one walk)", () => {
  it("stores what capPayload and the event's own pass store, escapes counted alike", () => {
    const shapes: Record<string, unknown> = {
      clean: { month: "2026-10", rows: [1, 2, { a: "b" }] },
      nul: { q: "a\u0000b" },
      loneSurrogate: { q: "\udc00", k: ["\ud800x"] },
      big: { q: "y".repeat(20_000) },
      nulsWithinCap: { q: "\u0000".repeat(4_000) },
      badKey: { "\u0000": 1 },
    };
    for (const [shape, args] of Object.entries(shapes)) {
      const base = { clientName: "c\u0000", exposedName: "x" };
      const capped = capPayload(args);
      const old = mcpRequestEvent(fields({ data: { ...base, arguments: capped.value, argumentsTruncated: capped.truncated || undefined } }));
      const now = mcpRequestEvent(fields({ data: { ...base }, payloads: { arguments: auditPayload(args) } }));
      expect(JSON.parse(JSON.stringify({ ...now, id: null })), shape).toEqual(JSON.parse(JSON.stringify({ ...old, id: null })));
      const parsed = auditEventInput.safeParse(JSON.parse(JSON.stringify(now)));
      expect(hashAuditEvent(GENESIS_HASH, parsed.data!), shape).toBe(hashAuditEvent(GENESIS_HASH, now));
    }
  });
});
