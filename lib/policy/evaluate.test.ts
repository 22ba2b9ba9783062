import { describe, expect, it } from "vitest";

import type { SnapshotRole } from "@/lib/config/snapshot";

import type { RoleConditions } from "./conditions";
import { compilePolicy, elevatedScope, isWithin, lookbackDays, type Principal, type PolicyRequest } from "./evaluate";

const noConditions: RoleConditions = { timeWindows: [], networks: [], mfaRequired: false, maxLookbackDays: null };

function role(slug: string, overrides: Partial<SnapshotRole> = {}): SnapshotRole {
  return {
    slug,
    name: slug[0]!.toUpperCase() + slug.slice(1),
    principals: [{ kind: "group", value: "finops" }],
    grants: [{ portalSlug: "finops", serverSlug: null, toolName: null, riskClasses: ["read"] }],
    stepUpRiskClasses: [],
    conditions: noConditions,
    ...overrides,
  };
}

const alice: Principal = { kind: "user", subject: "u_alice", email: "Alice@Example.com", groups: ["finops"], mfa: false, scopes: ["mcp"] };
const robot: Principal = { kind: "service_account", subject: "sa_nightly", email: null, groups: [], mfa: false, scopes: ["mcp"] };
const read: PolicyRequest = { portal: "finops", server: "cost-explorer", tool: "get_costs", riskClass: "read", sourceIp: "10.1.2.3" };
const write: PolicyRequest = { ...read, server: "tagging", tool: "apply_tags", riskClass: "write" };
// Wednesday 2026-11-18 12:00 UTC.
const noon = new Date("2026-11-18T12:00:00Z");

describe("who a role names", () => {
  it.each([
    ["a group the user is in", { kind: "group", value: "finops" }, alice, "allow"],
    ["another group", { kind: "group", value: "sales" }, alice, "deny"],
    ["the user by email, whatever its case", { kind: "user", value: "alice@example.com" }, alice, "allow"],
    ["the user by id", { kind: "user", value: "u_alice" }, alice, "allow"],
    ["the service account by client id", { kind: "service_account", value: "sa_nightly" }, robot, "allow"],
    ["a user whose email equals a service account's id", { kind: "user", value: "sa_nightly" }, robot, "deny"],
    ["a service account named like the user's id", { kind: "service_account", value: "u_alice" }, alice, "deny"],
  ] as const)("%s → %s", (_label, principal, who, effect) => {
    const policy = compilePolicy([role("analyst", { principals: [principal] })]);
    expect(policy.evaluate(who, read, noon).effect).toBe(effect);
  });

  it("refuses a caller no role names, saying so", () => {
    const decision = compilePolicy([role("analyst")]).evaluate({ ...alice, groups: [] }, read, noon);
    expect(decision).toMatchObject({ effect: "deny", rule: "least-privilege default", reasons: ["no portal role includes Alice@Example.com"] });
  });
});

describe("grants", () => {
  const scoped = (grants: SnapshotRole["grants"]) => compilePolicy([role("analyst", { grants })]);
  it.each([
    ["the whole portal", { portalSlug: "finops", serverSlug: null, toolName: null, riskClasses: ["read"] }, "allow"],
    ["another portal", { portalSlug: "sales", serverSlug: null, toolName: null, riskClasses: ["read"] }, "deny"],
    ["the tool's server", { portalSlug: "finops", serverSlug: "cost-explorer", toolName: null, riskClasses: ["read"] }, "allow"],
    ["another server", { portalSlug: "finops", serverSlug: "tagging", toolName: null, riskClasses: ["read"] }, "deny"],
    ["the one tool", { portalSlug: "finops", serverSlug: "cost-explorer", toolName: "get_costs", riskClasses: ["read"] }, "allow"],
    ["another tool", { portalSlug: "finops", serverSlug: "cost-explorer", toolName: "forecast", riskClasses: ["read"] }, "deny"],
    ["the tool, but not its risk class", { portalSlug: "finops", serverSlug: null, toolName: null, riskClasses: ["write"] }, "deny"],
  ] as const)("a grant on %s → %s", (_label, grant, effect) => {
    expect(scoped([{ ...grant, riskClasses: [...grant.riskClasses] }]).evaluate(alice, read, noon).effect).toBe(effect);
  });

  it("names the granting roles", () => {
    const decision = compilePolicy([role("analyst"), role("auditor"), role("sales", { principals: [{ kind: "group", value: "sales" }] })]).evaluate(alice, read, noon);
    expect(decision).toEqual({
      effect: "allow",
      matchedRoles: ["analyst", "auditor"],
      reasons: ['role "Analyst" grants read tool "get_costs" on cost-explorer', 'role "Auditor" grants read tool "get_costs" on cost-explorer'],
    });
  });

  it("says which risk class no role grants", () => {
    expect(compilePolicy([role("analyst")]).evaluate(alice, write, noon)).toMatchObject({
      effect: "deny",
      rule: "least-privilege default",
      reasons: ['no role of yours grants write tool "apply_tags" on tagging'],
    });
  });
});

describe("step-up", () => {
  const policy = compilePolicy([role("analyst", { stepUpRiskClasses: ["write"] })]);

  it("asks for elevated access for a step-up risk class", () => {
    expect(policy.evaluate(alice, write, noon)).toMatchObject({ effect: "step_up", requiredScope: "mcp:elevated:write", matchedRoles: ["analyst"] });
  });

  it("allows a token that carries the elevated scope", () => {
    const elevated = { ...alice, scopes: ["mcp", elevatedScope("write")] };
    expect(policy.evaluate(elevated, write, noon)).toMatchObject({ effect: "allow", reasons: ['elevated access (scope "mcp:elevated:write") approved for role "Analyst"'] });
  });

  it("does not let an elevated scope for one risk class open another", () => {
    const elevated = { ...alice, scopes: ["mcp", elevatedScope("write")] };
    expect(policy.evaluate(elevated, { ...write, riskClass: "destructive" }, noon).effect).toBe("deny");
  });

  it("prefers a plain grant from another role over step-up", () => {
    const both = compilePolicy([role("analyst", { stepUpRiskClasses: ["write"] }), role("tagger", { grants: [{ portalSlug: "finops", serverSlug: "tagging", toolName: null, riskClasses: ["write"] }] })]);
    expect(both.evaluate(alice, write, noon)).toMatchObject({ effect: "allow", matchedRoles: ["tagger"] });
  });

  it("offers no step-up on a server the role has no grant on", () => {
    const narrow = compilePolicy([role("analyst", { stepUpRiskClasses: ["write"], grants: [{ portalSlug: "finops", serverSlug: "cost-explorer", toolName: null, riskClasses: ["read"] }] })]);
    expect(narrow.evaluate(alice, write, noon).effect).toBe("deny");
  });
});

describe("time windows", () => {
  const weekdays = { days: [1, 2, 3, 4, 5], start: "09:00", end: "18:00", timeZone: "Europe/Paris" };

  it.each([
    ["Wednesday 08:59 Paris", "2026-11-18T07:59:00Z", false],
    ["Wednesday 09:00 Paris (start is inclusive)", "2026-11-18T08:00:00Z", true],
    ["Wednesday 17:59 Paris", "2026-11-18T16:59:00Z", true],
    ["Wednesday 18:00 Paris (end is exclusive)", "2026-11-18T17:00:00Z", false],
    ["Saturday 12:00 Paris", "2026-11-21T11:00:00Z", false],
    // Summer time: Paris is UTC+2, so 07:30 UTC is 09:30 on the wall.
    ["a summer Wednesday 09:30 Paris", "2026-07-15T07:30:00Z", true],
    ["a winter Wednesday 09:30 UTC (10:30 Paris)", "2026-11-18T09:30:00Z", true],
    // 2026-03-29: Paris springs forward at 02:00; Monday 30 March 08:30 UTC is 10:30 on the wall.
    ["the Monday after the spring change", "2026-03-30T06:59:00Z", false],
    ["the Monday after the spring change, 09:00 wall", "2026-03-30T07:00:00Z", true],
  ])("%s → %s", (_label, at, expected) => {
    expect(isWithin(weekdays, new Date(at))).toBe(expected);
  });

  it.each([
    ["Friday 23:00 UTC", "2026-11-20T23:00:00Z", true],
    ["Saturday 01:59 UTC (after midnight, still Friday's window)", "2026-11-21T01:59:00Z", true],
    ["Saturday 02:00 UTC", "2026-11-21T02:00:00Z", false],
    ["Saturday 23:00 UTC (Saturday has no window)", "2026-11-21T23:00:00Z", false],
    ["Friday 00:30 UTC (Thursday has no window)", "2026-11-20T00:30:00Z", false],
  ])("an overnight Friday 22:00–02:00 window: %s → %s", (_label, at, expected) => {
    expect(isWithin({ days: [5], start: "22:00", end: "02:00", timeZone: "UTC" }, new Date(at))).toBe(expected);
  });

  it("a Sunday overnight window carries into Monday", () => {
    expect(isWithin({ days: [7], start: "22:00", end: "06:00", timeZone: "UTC" }, new Date("2026-11-23T05:00:00Z"))).toBe(true);
  });

  it("denies outside the role's hours, saying which", () => {
    const policy = compilePolicy([role("analyst", { conditions: { ...noConditions, timeWindows: [weekdays] } })]);
    expect(policy.evaluate(alice, read, new Date("2026-11-21T11:00:00Z"))).toMatchObject({
      effect: "deny",
      rule: "role conditions",
      matchedRoles: ["analyst"],
      reasons: ['role "Analyst": outside its hours (Mon, Tue, Wed, Thu, Fri 09:00–18:00 Europe/Paris)'],
    });
  });
});

describe("networks", () => {
  const policy = compilePolicy([role("analyst", { conditions: { ...noConditions, networks: ["10.0.0.0/8", "2001:db8::/32"] } })]);
  it.each([
    ["10.1.2.3", "allow"],
    ["11.0.0.1", "deny"],
    ["::ffff:10.9.9.9", "allow"],
    ["2001:db8::1", "allow"],
    ["2001:db9::1", "deny"],
    ["not-an-ip", "deny"],
    [null, "deny"],
  ] as const)("from %s → %s", (ip, effect) => {
    expect(policy.evaluate(alice, { ...read, sourceIp: ip }, noon).effect).toBe(effect);
  });

  it("names the address and the networks when it denies", () => {
    expect(policy.evaluate(alice, { ...read, sourceIp: "192.168.1.5" }, noon).reasons).toEqual([
      'role "Analyst": 192.168.1.5 is not in its networks (10.0.0.0/8, 2001:db8::/32)',
    ]);
  });
});

describe("MFA and look-back", () => {
  it("needs a second factor when the role says so", () => {
    const policy = compilePolicy([role("analyst", { conditions: { ...noConditions, mfaRequired: true } })]);
    expect(policy.evaluate(alice, read, noon)).toMatchObject({ effect: "deny", reasons: ['role "Analyst": requires a sign-in with MFA'] });
    expect(policy.evaluate({ ...alice, mfa: true }, read, noon).effect).toBe("allow");
  });

  it("does not ask a service account for a second factor", () => {
    const policy = compilePolicy([role("analyst", { principals: [{ kind: "service_account", value: "sa_nightly" }], conditions: { ...noConditions, mfaRequired: true } })]);
    expect(policy.evaluate(robot, read, noon).effect).toBe("allow");
  });

  it("limits how far back a query reaches, and only checks it on calls", () => {
    const policy = compilePolicy([role("analyst", { conditions: { ...noConditions, maxLookbackDays: 90 } })]);
    expect(policy.evaluate(alice, { ...read, arguments: { start: "2026-09-01", end: "2026-11-01" } }, noon).effect).toBe("allow");
    expect(policy.evaluate(alice, { ...read, arguments: { start: "2025-11-01" } }, noon)).toMatchObject({
      effect: "deny",
      reasons: ['role "Analyst": looks back 382 days, more than its limit of 90'],
    });
    expect(policy.evaluate(alice, read, noon).effect).toBe("allow");
  });

  it("lets another role without the condition grant the call", () => {
    const policy = compilePolicy([role("analyst", { conditions: { ...noConditions, mfaRequired: true } }), role("reader")]);
    expect(policy.evaluate(alice, read, noon)).toMatchObject({ effect: "allow", matchedRoles: ["reader"] });
  });

  it.each([
    [{ start: "2026-11-18" }, 0],
    [{ startDate: "2026-11-08T00:00:00Z" }, 10],
    [{ from: "yesterday" }, null],
    [{ end: "2026-01-01" }, null],
    [{ start: 20260101 }, null],
  ])("look-back of %o is %s days", (args, days) => {
    expect(lookbackDays(args, noon)).toBe(days);
  });
});
