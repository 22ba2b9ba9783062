import { describe, expect, it } from "vitest";
import { diffDocuments, diffSnapshots, summarizeDiff, withDocumentChanges, SECRET_MARKER } from "./diff";

const tool = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  exposedName: `billing_${name}`,
  title: null,
  description: `${name} upstream`,
  inputSchema: { type: "object" },
  riskClass: "read",
  definitionHash: `h-${name}`,
  ...extra,
});

const base = () => ({
  version: 1,
  createdAt: "2026-12-01T00:00:00.000Z",
  issuer: "http://cp.local",
  portals: [
    {
      slug: "finops",
      name: "FinOps",
      allowlistMode: false,
      servers: [
        {
          slug: "billing",
          name: "Billing",
          url: "http://billing.local/mcp",
          transport: "streamable_http",
          credential: { kind: "header", headerName: "Authorization", sealed: "g1.AAAA" },
          tools: [tool("get_costs"), tool("tag_resources", { riskClass: "write" })],
        },
      ],
    },
  ],
  roles: [
    {
      slug: "analysts",
      name: "Analysts",
      principals: [{ kind: "group", value: "finops" }],
      grants: [{ portalSlug: "finops", serverSlug: null, toolName: null, riskClasses: ["read"] }],
      stepUpRiskClasses: [] as string[],
      conditions: { timeWindows: [], networks: [], mfaRequired: false, maxLookbackDays: null },
    },
  ],
  revocations: [] as unknown[],
});

type Snap = ReturnType<typeof base> & Record<string, unknown>;
type Loose = Record<string, unknown>;
const edit = (f: (s: Snap) => void) => {
  const s = structuredClone(base());
  f(s);
  return s;
};

describe("diffSnapshots: one change of each kind, in words", () => {
  it.each([
    ["identical snapshots of different versions", edit((s) => ((s.version = 2), (s.createdAt = "2026-12-02T00:00:00.000Z"))), []],
    ["a tool switched off", edit((s) => s.portals[0]!.servers[0]!.tools.pop()), [["tool", "finops/billing/tag_resources", "removed", "Tool billing_tag_resources (billing) in portal finops no longer offered"]]],
    ["a tool switched on", edit((s) => s.portals[0]!.servers[0]!.tools.push(tool("forecast"))), [["tool", "finops/billing/forecast", "added", "Tool billing_forecast (billing) in portal finops now offered"]]],
    ["an alias", edit((s) => (s.portals[0]!.servers[0]!.tools[0]!.exposedName = "costs")), [["tool", "finops/billing/get_costs", "changed", 'Tool costs (billing) in portal finops: exposedName "billing_get_costs" → "costs"']]],
    ["a description override", edit((s) => (s.portals[0]!.servers[0]!.tools[0]!.description = "Costs by month")), [["tool", "finops/billing/get_costs", "changed", "Tool billing_get_costs (billing) in portal finops: description changed"]]],
    ["a risk class", edit((s) => (s.portals[0]!.servers[0]!.tools[0]!.riskClass = "financial")), [["tool", "finops/billing/get_costs", "changed", 'Tool billing_get_costs (billing) in portal finops: riskClass "read" → "financial"']]],
    ["a server switched off in a portal", edit((s) => s.portals[0]!.servers.pop()), [
      ["server", "finops/billing", "removed", "Server billing in portal finops removed"],
      ["tool", "finops/billing/get_costs", "removed", "Tool billing_get_costs (billing) in portal finops no longer offered"],
      ["tool", "finops/billing/tag_resources", "removed", "Tool billing_tag_resources (billing) in portal finops no longer offered"],
    ]],
    ["a server's URL", edit((s) => (s.portals[0]!.servers[0]!.url = "http://billing2.local/mcp")), [["server", "finops/billing", "changed", 'Server billing in portal finops: url "http://billing.local/mcp" → "http://billing2.local/mcp"']]],
    ["a portal's allowlist mode", edit((s) => (s.portals[0]!.allowlistMode = true)), [["portal", "finops", "changed", "Portal finops: allowlistMode false → true"]]],
    ["a role's principal", edit((s) => s.roles[0]!.principals.push({ kind: "user", value: "alice@example.com" })), [["role", "analysts", "changed", "Role Analysts: principals: added user alice@example.com"]]],
    ["a role's grant", edit((s) => (s.roles[0]!.grants[0]!.riskClasses = ["read", "write"])), [["role", "analysts", "changed", "Role Analysts: grants: added finops/every server/every tool (read, write); removed finops/every server/every tool (read)"]]],
    ["a role's step-up settings", edit((s) => (s.roles[0]!.stepUpRiskClasses = ["write"])), [["role", "analysts", "changed", 'Role Analysts: stepUpRiskClasses: added "write"']]],
    ["a role's MFA condition", edit((s) => (s.roles[0]!.conditions.mfaRequired = true)), [["role", "analysts", "changed", "Role Analysts: conditions.mfaRequired false → true"]]],
    ["a role removed", edit((s) => s.roles.pop()), [["role", "analysts", "removed", "Role Analysts removed"]]],
    ["a server's sampling switched off", edit((s) => ((s.portals[0]!.servers[0]! as Loose).serverRequests = { sampling: false, elicitation: true })), [["server", "finops/billing", "changed", 'Server billing in portal finops: serverRequests null → {"elicitation":true,"sampling":false}']]],
    ["a portal's prompt prefix dropped", edit((s) => ((s.portals[0]! as Loose).dropServerPrefix = true)), [["portal", "finops", "changed", "Portal finops: dropServerPrefix null → true"]]],
    ["a portal's DLP settings", edit((s) => ((s.portals[0]! as Loose).dlp = { actions: { email: "block" }, capture: "metadata" })), [["portal", "finops", "changed", 'Portal finops: dlp null → {"actions":{"email":"block"},"capture":"metadata"}']]],
    ["a DLP pattern", edit((s) => (s.dlpPatterns = [{ id: "employee_id", name: "Employee id", regex: "EMP-[0-9]{6}" }])), [["dlp pattern", "employee_id", "added", "DLP pattern Employee id added"]]],
    ["a window step-up grant (it names the tool it was asked for, but covers the class until it ends)", edit((s) => (s.elevatedGrants = [{ id: "g1", principalKind: "user", subject: "u1", portalSlug: "finops", riskClass: "write", serverSlug: "billing", toolName: "tag_resources", argumentsHash: null, endsAt: "2026-12-01T01:00:00.000Z" }])), [["step-up grant", "g1", "added", "Step-up grant of write access to user u1 on portal finops until 2026-12-01 01:00 UTC added"]]],
    ["a per-call step-up grant", edit((s) => (s.elevatedGrants = [{ id: "g2", principalKind: "service_account", subject: "sa_x", portalSlug: "finops", riskClass: "write", serverSlug: "billing", toolName: "tag_resources", argumentsHash: "a".repeat(64), endsAt: "2026-12-01T01:00:00.000Z" }])), [["step-up grant", "g2", "added", "Step-up grant of write access to service account sa_x on portal finops for one call of billing/tag_resources added"]]],
    ["a revocation", edit((s) => (s.revocations as unknown[]).push({ kind: "subject", id: "u1", at: "2026-12-01T00:00:00.000Z", reason: "user disabled" })), [["revocation", "subject:u1", "added", "Revocation of the tokens of user u1 (user disabled) added"]]],
    ["two secrets revoked (each its own entry, not secret:undefined)", edit((s) => (s.revocations as unknown[]).push(...["s1", "s2"].map((id) => ({ kind: "secret", id, at: "2026-12-01T00:00:00.000Z", reason: "service account secret replaced" })))), [
      ["revocation", "secret:s1", "added", "Revocation of a service account secret (service account secret replaced) added"],
      ["revocation", "secret:s2", "added", "Revocation of a service account secret (service account secret replaced) added"],
    ]],
  ] as const)("%s", (_label, after, expected) => {
    const changes = diffSnapshots(base(), after);
    expect(changes.map((c) => [c.entity, c.key, c.change, c.words.join(" | ")])).toEqual(expected);
  });
});

it("names the people and service accounts behind grants and revocations when told who they are", () => {
  const after = edit((s) => {
    s.elevatedGrants = [{ id: "g1", principalKind: "user", subject: "u1", portalSlug: "finops", riskClass: "write", serverSlug: null, toolName: null, argumentsHash: null, endsAt: "2026-12-01T01:30:00.000Z" }];
    (s.revocations as unknown[]).push({ kind: "client", id: "sa_x", at: "2026-12-01T00:00:00.000Z", reason: "service account disabled" });
  });
  const names: Record<string, string> = { "user:u1": "manager@example.com", "client:sa_x": "Nightly export" };
  const words = diffSnapshots(base(), after, { principalLabel: (kind, id) => names[`${kind}:${id}`] }).flatMap((c) => c.words);
  expect(words).toEqual([
    "Revocation of the tokens of client Nightly export (service account disabled) added",
    "Step-up grant of write access to user manager@example.com on portal finops until 2026-12-01 01:30 UTC added",
  ]);
});

describe("secrets", () => {
  const resealed = edit((s) => (s.portals[0]!.servers[0]!.credential.sealed = "g1.BBBB"));

  it("never shows a sealed value, added, removed or changed", () => {
    const all = [...diffSnapshots(base(), resealed), ...diffSnapshots(base(), edit((s) => s.portals.pop())), ...diffSnapshots(null, base())];
    const text = JSON.stringify(all);
    expect(text).not.toContain("g1.AAAA");
    expect(text).not.toContain("g1.BBBB");
    expect(text).toContain(SECRET_MARKER);
  });

  it("reports a rotated secret in words only", () => {
    const [change] = diffSnapshots(base(), resealed, { isSameSecret: () => false });
    expect(change).toMatchObject({ entity: "server", key: "finops/billing", words: ["Server billing in portal finops: its secret changed"] });
  });

  it("says nothing when the same secret was merely sealed again", () => {
    expect(diffSnapshots(base(), resealed, { isSameSecret: () => true })).toEqual([]);
  });
});

describe("top-level fields this code does not know", () => {
  it("diffs a list of objects by its slug or id", () => {
    const before = { ...base(), grants: [{ id: "g1", subject: "u1", riskClass: "write" }] };
    const after = { ...base(), grants: [{ id: "g2", subject: "u2", riskClass: "write" }] };
    expect(diffSnapshots(before, after).map((c) => [c.entity, c.key, c.change])).toEqual([
      ["grants", "g1", "removed"],
      ["grants", "g2", "added"],
    ]);
  });

  it("compares anything else whole", () => {
    const changes = diffSnapshots({ ...base(), stepUp: { ttlMinutes: 15 } }, { ...base(), stepUp: { ttlMinutes: 30 } });
    expect(changes).toEqual([{ entity: "stepUp", key: "stepUp", change: "changed", words: ["stepUp.ttlMinutes changed"], fields: [{ path: "stepUp.ttlMinutes", before: 15, after: 30 }] }]);
  });
});

describe("diffDocuments: what snapshots do not carry", () => {
  const doc = (role: Loose) => ({ roles: [{ slug: "analysts", name: "Analysts", ...role }] });
  const settings = { perCallRiskClasses: ["financial"], stepUpMaxMinutes: 30, stepUpApprovers: ["lead@corp.example"] };
  it.each([
    ["per-call classes", { perCallRiskClasses: [] }, ['Role Analysts: perCallRiskClasses: removed "financial"']],
    ["the longest window", { stepUpMaxMinutes: 60 }, ["Role Analysts: stepUpMaxMinutes 30 → 60"]],
    ["approvers", { stepUpApprovers: ["lead@corp.example", "finops-leads"] }, ['Role Analysts: stepUpApprovers: added "finops-leads"']],
    ["nothing", {}, []],
  ] as const)("a role's %s", (_label, change, words) => {
    expect(diffDocuments(doc(settings), doc({ ...settings, ...change })).flatMap((c) => c.words)).toEqual(words);
  });

  it("says nothing about a field one side did not record, or when a side is missing", () => {
    expect(diffDocuments(doc({}), doc(settings))).toEqual([]);
    expect(diffDocuments(null, doc(settings))).toEqual([]);
  });

  it("folds into the snapshot diff's entry for the same role", () => {
    const snapshotChanges = diffSnapshots(base(), edit((s) => (s.roles[0]!.stepUpRiskClasses = ["write"])));
    const merged = withDocumentChanges(snapshotChanges, diffDocuments(doc(settings), doc({ ...settings, stepUpMaxMinutes: 15 })));
    expect(merged).toHaveLength(1);
    expect(merged[0]!.words).toEqual(['Role Analysts: stepUpRiskClasses: added "write"', "Role Analysts: stepUpMaxMinutes 30 → 15"]);
  });
});

it("summarizes counts", () => {
  expect(summarizeDiff([])).toBe("No differences");
  expect(summarizeDiff(diffSnapshots(base(), edit((s) => s.portals[0]!.servers.pop())))).toBe("3 changes: 3 removed");
});
