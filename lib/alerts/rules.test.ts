import { describe, expect, it } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import { BUILT_IN_RULES, SlidingWindow, detectorParams, isInCidrs, matchEvent, parseRuleParams, type Detector, type MatchContext, type RuleView } from "./rules";

const now = new Date("2026-12-07T10:00:00Z");
const event = (extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
  id: "00000000-0000-4000-8000-000000000001",
  time: now,
  kind: "mcp.request",
  actorType: "user",
  actorId: "u1",
  actorLabel: "alice@example.com",
  action: "tools/call",
  outcome: "allow",
  portal: "finops",
  server: "budgets",
  tool: "create_budget",
  data: { httpStatus: 200 },
  sourceIp: "10.0.0.5",
  ...extra,
});
const ctx: MatchContext = {
  riskOf: (server, tool) => (({ "budgets/create_budget": "financial", "tagging/tag_resource": "write" }) as Record<string, string>)[`${server}/${tool}`],
  addressHistory: (actor, ip) => (actor === "u1" ? (ip === "10.0.0.5" ? "known" : "new-address") : "new-actor"),
  grantOf: (id) => (({ g1: { server: "tagging", tool: "tag_resource" }, g2: { server: null, tool: null } }) as Record<string, { server: string | null; tool: string | null }>)[id],
};
const rule = (detector: Detector, params: Record<string, unknown>, scope = {}): RuleView => ({ id: "r", detector, severity: "high", params, scope, name: detector });

describe("matchEvent", () => {
  it.each<[string, RuleView, Partial<AuditEventInput>, string | null]>([
    ["failed sign-in per account", rule("failed_auth", { by: "account" }), { kind: "auth.sign_in", outcome: "failure" }, "account:alice@example.com"],
    ["failed token request per ip", rule("failed_auth", { by: "ip" }), { kind: "auth.token", outcome: "failure", actorLabel: null }, "ip:10.0.0.5"],
    ["a successful sign-in", rule("failed_auth", { by: "account" }), { kind: "auth.sign_in", outcome: "success" }, null],
    ["a lockout is not one more attempt", rule("failed_auth", { by: "ip" }), { kind: "auth.token", outcome: "failure", action: "token.lockout" }, null],
    ["a 401 at the gateway", rule("mcp_refused", {}), { outcome: "deny", actorLabel: null, actorId: null, data: { httpStatus: 401 } }, "client:address 10.0.0.5"],
    ["a 200 at the gateway", rule("mcp_refused", {}), {}, null],
    ["a financial call", rule("risky_tool", { riskClasses: ["financial"] }), {}, "tool:finops/budgets/create_budget|alice@example.com"],
    ["a write call under a financial rule", rule("risky_tool", { riskClasses: ["financial"] }), { server: "tagging", tool: "tag_resource" }, null],
    ["out of scope", rule("risky_tool", { riskClasses: ["financial"] }, { portal: "other" }), {}, null],
    ["outside the expected ranges", rule("unexpected_network", { cidrs: ["192.168.0.0/16"], newIpDays: 30 }), {}, "network:u1|10.0.0.5"],
    ["inside them", rule("unexpected_network", { cidrs: ["10.0.0.0/8"], newIpDays: 30 }), {}, null],
    ["a known actor at a new address", rule("unexpected_network", { cidrs: [], newIpDays: 30 }), { sourceIp: "203.0.113.1" }, "network:u1|203.0.113.1"],
    ["a new actor", rule("unexpected_network", { cidrs: [], newIpDays: 30 }), { actorId: "u2", sourceIp: "203.0.113.1" }, null],
    ["a look-back of 400 days", rule("lookback", { days: 365 }), { data: { arguments: { start: "2025-11-02" } } }, "lookback:alice@example.com|budgets/create_budget"],
    ["a look-back of a month", rule("lookback", { days: 365 }), { data: { arguments: { start: "2026-11-07" } } }, null],
    ["a DLP match", rule("dlp", {}), { data: { dlp: [{ detector: "iban" }] } }, "dlp:alice@example.com|create_budget"],
    ["no DLP field", rule("dlp", {}), {}, null],
    ["a role the gateway named", rule("risky_tool", { riskClasses: ["financial"] }, { role: "analyst" }), { data: { roles: ["analyst"] } }, "tool:finops/budgets/create_budget|alice@example.com"],
    ["another role", rule("risky_tool", { riskClasses: ["financial"] }, { role: "analyst" }), { data: { roles: ["engineer"] } }, null],
    ["no role on the event", rule("risky_tool", { riskClasses: ["financial"] }, { role: "analyst" }), {}, null],
    ["a grant used for another tool", rule("stepup_grant_misuse", {}), { data: { grantId: "g1" } }, "grant:g1|budgets/create_budget"],
    ["a grant used for its tool", rule("stepup_grant_misuse", {}), { server: "tagging", tool: "tag_resource", data: { grantId: "g1" } }, null],
    ["a risk-class grant names no tool", rule("stepup_grant_misuse", {}), { data: { grantId: "g2" } }, null],
    ["a grant the engine does not know", rule("stepup_grant_misuse", {}), { data: { grantId: "g9" } }, null],
    ["a step-up request", rule("stepup_flood", {}), { kind: "stepup.requested", action: "stepup.request", outcome: "success" }, "requester:alice@example.com"],
    ["a step-up request under a role", rule("stepup_flood", {}, { role: "analyst" }), { kind: "stepup.requested", data: { roleSlug: "analyst" } }, "requester:alice@example.com"],
    ["a failed verification", rule("audit_verify_failed", {}), { kind: "audit.verify.failed", outcome: "failure", targetId: "42" }, "audit-chain"],
    ["a passing verification", rule("audit_verify_failed", {}), { kind: "audit.verify", outcome: "success" }, null],
  ])("%s", (_, r, extra, subject) => {
    expect(matchEvent(r, event(extra), ctx)?.subject ?? null).toBe(subject);
  });
});

describe("rule parameters", () => {
  it("accepts every built-in rule's defaults", () => {
    for (const r of BUILT_IN_RULES) expect(() => parseRuleParams(r.detector, r.params), r.key).not.toThrow();
  });
  it.each([
    ["failed_auth", { threshold: 0, windowMinutes: 10, by: "ip" }],
    ["failed_auth", { threshold: 5, windowMinutes: 0, by: "ip" }],
    ["failed_auth", { threshold: 5, windowMinutes: 10, by: "team" }],
    ["unexpected_network", { cidrs: ["10.0.0.0/33"], newIpDays: 30 }],
    ["lookback", { days: -1 }],
    ["risky_tool", { riskClasses: [] }],
    ["lookback", { days: 365, extra: true }],
  ] as const)("refuses %s %j", (detector, params) => {
    expect(detectorParams[detector].safeParse(params).success).toBe(false);
  });
  it("matches v4 addresses seen through a dual-stack socket", () => {
    expect(isInCidrs("::ffff:10.1.2.3", ["10.0.0.0/8"])).toBe(true);
    expect(isInCidrs("not an ip", ["10.0.0.0/8"])).toBe(false);
  });
});

describe("SlidingWindow", () => {
  it("fires when the threshold falls within the window, not when spread wider", () => {
    const w = new SlidingWindow(3, 60_000);
    expect(w.add(0, "a")).toBe(false);
    expect(w.add(50_000, "b")).toBe(false);
    expect(w.add(70_000, "c")).toBe(false);
    expect(w.add(80_000, "d")).toBe(true);
    expect(w.eventIds()).toEqual(["b", "c", "d"]);
    expect(w.isStale(200_000)).toBe(true);
  });
});
