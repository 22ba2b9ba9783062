import { describe, expect, it } from "vitest";

import type { ConfigSnapshot, SnapshotRole } from "@/lib/config/snapshot";

import { evaluate, explain, type Principal, type PolicyRequest } from "./evaluate";

const noConditions = { timeWindows: [], networks: [], mfaRequired: false, maxLookbackDays: null };

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

const snapshot = (roles: SnapshotRole[]): ConfigSnapshot => ({ version: 1, createdAt: "2026-12-01T00:00:00.000Z", issuer: "http://cp.local", portals: [], roles, revocations: [] });

const analyst: Principal = { kind: "user", subject: "u_ana", email: "ana@example.com", groups: ["finops"], mfa: false, scopes: ["mcp"] };
const read: PolicyRequest = { portal: "finops", server: "billing", tool: "get_costs", riskClass: "read", sourceIp: "10.1.2.3" };
const weekdays = { days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" };
// Saturday 2026-12-05 11:00 Paris, Wednesday 2026-12-02 11:00 Paris.
const saturday = new Date("2026-12-05T10:00:00Z");
const wednesday = new Date("2026-12-02T10:00:00Z");

describe("explain", () => {
  it.each([
    ["business hours on a Saturday", role("analysts", { conditions: { ...noConditions, timeWindows: [weekdays] } }), saturday, "deny", "time window", false, /^outside its hours \(Mon, Tue, Wed, Thu, Fri 08:00–19:00 Europe\/Paris\)$/],
    ["business hours on a Wednesday", role("analysts", { conditions: { ...noConditions, timeWindows: [weekdays] } }), wednesday, "allow", "time window", true, /^within its hours/],
    ["a network the caller is in", role("analysts", { conditions: { ...noConditions, networks: ["10.0.0.0/8"] } }), wednesday, "allow", "network", true, /^10\.1\.2\.3 is in its networks/],
    ["a network the caller is not in", role("analysts", { conditions: { ...noConditions, networks: ["192.168.0.0/16"] } }), wednesday, "deny", "network", false, /is not in its networks/],
    ["MFA without MFA", role("analysts", { conditions: { ...noConditions, mfaRequired: true } }), wednesday, "deny", "mfa", false, /requires a sign-in with MFA/],
  ] as const)("%s: %s, the condition spelled out", (_label, r, now, effect, condition, held, words) => {
    const result = explain(snapshot([r]), analyst, read, now);
    expect(result.decision.effect).toBe(effect);
    expect(result.roles[0]!.conditions).toEqual([{ condition, held, words: expect.stringMatching(words) }]);
  });

  it("gives exactly evaluate's decision, and a verdict for every role, member or not", () => {
    const roles = [
      role("analysts", { conditions: { ...noConditions, timeWindows: [weekdays] } }),
      role("sales", { principals: [{ kind: "group", value: "sales" }] }),
      role("writers", { grants: [{ portalSlug: "finops", serverSlug: "billing", toolName: null, riskClasses: ["write"] }], stepUpRiskClasses: ["read"] }),
      role("elsewhere", { grants: [{ portalSlug: "hr", serverSlug: null, toolName: null, riskClasses: ["read"] }] }),
    ];
    const s = snapshot(roles);
    const result = explain(s, analyst, read, saturday);
    expect(result.decision).toEqual(evaluate(s, analyst, read, saturday));
    expect(result.roles.map((r) => [r.slug, r.isMember, r.grantsTool, r.stepsUp, r.verdict])).toEqual([
      ["analysts", true, true, false, expect.stringMatching(/^would grant it, but outside its hours/)],
      ["sales", false, true, false, "does not include ana@example.com"],
      ["writers", true, false, true, "allows asking for elevated read access: every condition holds"],
      ["elsewhere", true, false, false, "grants nothing on billing/get_costs in portal finops"],
    ]);
    expect(result.decision.effect).toBe("step_up");
  });
});
