import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf, userActor } from "./testing/data-access";

// Before any module reads the environment: the key seals secrets at rest and for gateways.
process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
const SECRET = `Bearer sk-live-${randomBytes(12).toString("hex")}`;

const { createTestDatabase } = await import("./db/test-database");
const servers = await import("./servers");
const portals = await import("./portals");
const roles = await import("./roles");
const tools = await import("./tools");
const serviceAccounts = await import("./service-accounts");
const dlp = await import("./dlp");
const { publishConfig } = await import("./config-publisher");
const changes = await import("./config-changes");
const { snapshotContentHash, configSnapshot } = await import("@/lib/config/snapshot");
const { deriveGatewayCredentialKey, openSealedCredential } = await import("@/lib/config/sealed-credential");
const { toolDefinitionHash } = await import("@/lib/config/tool-definition");
import type { Actor } from "./auth/actor";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let admin: Actor;
let auditor: Actor;
let viewer: Actor;
const ids = { billing: "", tagging: "", portal: "", role: "", tools: {} as Record<string, string> };
let baseline = 0;

async function addTool(serverId: string, name: string, riskClass: "read" | "write" = "read") {
  const definition = { name, description: `${name} (upstream)`, inputSchema: { type: "object" } };
  const tool = await t.db.tool.create({ data: { serverId, ...definition, riskClass, definitionHash: toolDefinitionHash(definition) } });
  ids.tools[name] = tool.id;
}

const open = (sealed: string) => {
  try {
    return openSealedCredential(sealed, deriveGatewayCredentialKey(process.env.PORTICO_SECRET_KEY!));
  } catch {
    return null;
  }
};

async function hashOf(version: number): Promise<string> {
  const row = await t.db.configVersion.findUniqueOrThrow({ where: { version } });
  const snapshot = configSnapshot.parse(row.snapshot);
  // Revocations are not configuration: they never roll back.
  return snapshotContentHash({ ...snapshot, revocations: [] }, open);
}

/** The whole document stored with a version: what a rollback to it restores. */
async function stateOf(version: number): Promise<unknown> {
  const row = await t.db.configVersionState.findUniqueOrThrow({ where: { version } });
  return (row.document as { document: unknown }).document;
}

async function latest(): Promise<number> {
  return (await t.db.configVersion.findFirstOrThrow({ orderBy: { version: "desc" } })).version;
}

async function publish(summary: string): Promise<number> {
  const result = await publishConfig(t.db, summary);
  if (!result) throw new Error("publish failed");
  return result.version;
}

beforeAll(async () => {
  t = await createTestDatabase();
  admin = await userActor(t.db, "admin");
  auditor = await userActor(t.db, "auditor");
  viewer = await userActor(t.db, "viewer");
  const billing = await servers.createServer(t.db, admin, {
    slug: "billing",
    name: "Billing",
    url: "http://127.0.0.1:9/mcp",
    credential: { kind: "header", headerName: "Authorization", value: SECRET },
  });
  ids.billing = billing.id;
  await addTool(billing.id, "get_costs");
  await addTool(billing.id, "top_services");
  await addTool(billing.id, "tag_resources", "write");
  const tagging = await servers.createServer(t.db, admin, { slug: "tagging", name: "Tagging", url: "http://127.0.0.1:10/mcp" });
  ids.tagging = tagging.id;
  await addTool(tagging.id, "apply_tags", "write");

  const portal = await portals.createPortal(t.db, admin, { slug: "finops", name: "FinOps", serverIds: [billing.id, tagging.id] });
  ids.portal = portal.id;
  await portals.updatePortalTool(t.db, admin, portal.id, ids.tools.top_services!, { alias: "top", descriptionOverride: "Top services by cost" });
  const role = await roles.createRole(t.db, admin, {
    slug: "analysts",
    name: "Analysts",
    principals: [{ kind: "group", value: "finops-analysts" }],
    grants: [{ portalId: portal.id, riskClasses: ["read"] }],
    stepUpRiskClasses: ["write", "financial"],
    conditions: { timeWindows: [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" }] },
    // Not the defaults, so that a rollback that forgot them would be seen.
    perCallRiskClasses: ["financial"],
    stepUpMaxMinutes: 30,
    stepUpApprovers: ["finops-leads", "lead@corp.example"],
  });
  ids.role = role.id;
  await servers.updateServer(t.db, admin, billing.id, { allowElicitation: false });
  await dlp.updateDlpSettings(t.db, admin, {
    patterns: [{ id: "employee_id", name: "Employee id", regex: "EMP-[0-9]{6}" }],
    portals: { finops: { actions: { email: "flag", employee_id: "block" }, capture: "metadata" } },
  });
  await serviceAccounts.createServiceAccount(t.db, admin, { name: "Nightly", portalRoleId: role.id });
  baseline = await publish("baseline");
});
afterAll(async () => {
  await t?.close();
});

const newPortal = async () => (await t.db.portal.findUniqueOrThrow({ where: { slug: "finops" } })).id;
const newRole = async () => (await t.db.portalRole.findUniqueOrThrow({ where: { slug: "analysts" } })).id;

describe(`rollback (${process.env.TEST_DATABASE_URL ? "postgres" : "pglite"})`, () => {
  // Each change is made through the same data-access functions the API uses, published, then
  // rolled back to the baseline: the new version must serve exactly what the baseline served.
  // `gateways` says whether the change reaches gateways (the snapshot) or only the stored
  // document (a role's step-up approval settings): either way it is a version, and rolled back.
  it.each([
    ["a tool switched off in a portal", "tool", true, async (): Promise<void> => void (await portals.updatePortalTool(t.db, admin, await newPortal(), ids.tools.get_costs!, { enabled: false }))],
    ["an alias and description override cleared", "tool", true, async (): Promise<void> => void (await portals.updatePortalTool(t.db, admin, await newPortal(), ids.tools.top_services!, { alias: null, descriptionOverride: null }))],
    ["a tool's risk class", "tool", true, async (): Promise<void> => void (await tools.updateTool(t.db, admin, ids.tools.get_costs!, { riskClass: "financial" }))],
    ["a server switched off in a portal", "server", true, async (): Promise<void> => void (await portals.setPortalServers(t.db, admin, await newPortal(), { servers: [{ serverId: ids.billing, enabled: true }, { serverId: ids.tagging, enabled: false }] }))],
    ["a server's URL", "server", true, async (): Promise<void> => void (await servers.updateServer(t.db, admin, ids.billing, { url: "http://127.0.0.1:11/mcp" }))],
    ["a server's sampling and elicitation switches", "server", true, async (): Promise<void> => {
      await servers.updateServer(t.db, admin, ids.billing, { allowSampling: false, allowElicitation: true });
    }],
    ["a portal's allowlist mode and name", "portal", true, async (): Promise<void> => void (await portals.updatePortal(t.db, admin, await newPortal(), { name: "Renamed", allowlistMode: true }))],
    ["a portal's prompt prefix", "portal", true, async (): Promise<void> => void (await portals.updatePortal(t.db, admin, await newPortal(), { dropServerPrefix: true }))],
    ["a portal's DLP actions and capture mode", "portal", true, async (): Promise<void> => void (await dlp.updateDlpSettings(t.db, admin, { portals: { finops: { actions: { email: "block" }, capture: "full" } } }))],
    ["a DLP pattern removed", "dlp pattern", true, async (): Promise<void> => void (await dlp.updateDlpSettings(t.db, admin, { patterns: [] }))],
    ["a portal deleted", "portal", true, async (): Promise<void> => portals.deletePortal(t.db, admin, await newPortal())],
    ["a role's grants and conditions", "role", true, async (): Promise<void> => void (await roles.updateRole(t.db, admin, await newRole(), { grants: [{ portalId: await newPortal(), riskClasses: ["read", "write"] }], conditions: { mfaRequired: true, timeWindows: [], networks: [], maxLookbackDays: 30 } }))],
    ["a role's principals and step-up classes", "role", true, async (): Promise<void> => {
      await t.db.user.upsert({ where: { email: "eve@corp.example" }, create: { email: "eve@corp.example", name: "Eve", role: "viewer" }, update: {} });
      await roles.updateRole(t.db, admin, await newRole(), { principals: [{ kind: "user", value: "eve@corp.example" }], stepUpRiskClasses: [] });
    }],
    ["a role's per-call classes, longest window and approvers", "role", false, async (): Promise<void> => void (await roles.updateRole(t.db, admin, await newRole(), { perCallRiskClasses: [], stepUpMaxMinutes: 60, stepUpApprovers: ["someone@corp.example"] }))],
    ["a role deleted", "role", true, async (): Promise<void> => roles.deleteRole(t.db, admin, await newRole())],
    ["a role added", "role", true, async (): Promise<void> => void (await roles.createRole(t.db, admin, { slug: "extra", name: "Extra", principals: [{ kind: "group", value: "everyone" }], grants: [{ portalId: await newPortal() }] }))],
  ] as const)("%s (%s)", async (label, entity, gateways, change) => {
    await change();
    const changed = await publish(label);
    expect(changed).toBeGreaterThan(baseline);
    expect(await stateOf(changed)).not.toEqual(await stateOf(baseline));
    if (gateways) expect(await hashOf(changed)).not.toBe(await hashOf(baseline));
    else expect(await hashOf(changed)).toBe(await hashOf(baseline));

    // The history's diff of the change names it too, whether or not gateways see it.
    const diff = await changes.diffConfigVersions(t.db, admin, changed);
    expect(diff.changes.map((c) => c.entity)).toContain(entity);

    const preview = await changes.previewRollback(t.db, admin, baseline);
    expect(preview.changes.length).toBeGreaterThan(0);
    expect(preview.changes.map((c) => c.entity)).toContain(entity);
    // A preview changes nothing.
    expect(await latest()).toBe(changed);

    const result = await changes.rollbackToVersion(t.db, admin, baseline);
    expect(result.publishedVersion).toBe(changed + 1);
    expect(result.cannotRestore).toEqual([]);
    expect(await hashOf(changed + 1)).toBe(await hashOf(baseline));
    // Everything the version recorded is back, not only what gateways serve.
    expect(await stateOf(changed + 1)).toEqual(await stateOf(baseline));
    // Nothing left to roll back afterwards.
    expect((await changes.previewRollback(t.db, admin, baseline)).changes).toEqual([]);
    const service = await t.db.serviceAccount.findFirstOrThrow();
    expect(service.portalRoleId).toBe(await newRole());

    const audit = await t.db.auditEvent.findFirstOrThrow({ where: { action: "config.rollback" }, orderBy: { seq: "desc" } });
    expect(audit).toMatchObject({ kind: "config.change", targetId: String(baseline), actorId: (admin as { userId: string }).userId });
    const data = audit.data as { before: unknown; after: unknown };
    expect(data.before).not.toEqual(data.after);
    expect(JSON.stringify(audit.data)).not.toContain(SECRET);
    const version = await t.db.configVersion.findUniqueOrThrow({ where: { version: changed + 1 } });
    expect(version).toMatchObject({ summary: expect.stringContaining(`Rollback to version ${baseline}`), createdById: (admin as { userId: string }).userId });
  });

  it("lists, before confirming, what a rollback never restores", async () => {
    const preview = await changes.previewRollback(t.db, admin, baseline);
    expect(preview.kept).toEqual(expect.arrayContaining([expect.stringMatching(/^Secrets: /), expect.stringMatching(/^Ended access/), expect.stringMatching(/step-up grants/), expect.stringMatching(/OAuth/)]));
  });

  it("restores an older version's recorded fields and keeps what it did not record, saying so", async () => {
    const state = (await t.db.configVersionState.findUniqueOrThrow({ where: { version: baseline } })).document as { document: Record<string, unknown> };
    // As a version stored before DLP, the prompt prefix and the step-up approval settings were kept.
    const old = structuredClone(state.document) as { dlpPatterns?: unknown; portals: Record<string, unknown>[]; servers: Record<string, unknown>[]; roles: Record<string, unknown>[] };
    delete old.dlpPatterns;
    for (const p of old.portals) {
      delete p.dlp;
      delete p.dropServerPrefix;
    }
    for (const s of old.servers) {
      delete s.allowSampling;
      delete s.allowElicitation;
    }
    for (const r of old.roles) {
      delete r.perCallRiskClasses;
      delete r.stepUpMaxMinutes;
      delete r.stepUpApprovers;
    }
    await roles.updateRole(t.db, admin, await newRole(), { stepUpApprovers: ["kept@corp.example"], name: "Renamed analysts" });
    const now = await publish("approver and name changed");
    await t.db.configVersionState.update({ where: { version: now - 1 }, data: { document: JSON.parse(JSON.stringify({ ...state, document: old })) as object } });
    const preview = await changes.previewRollback(t.db, admin, now - 1);
    expect(preview.kept).toEqual(expect.arrayContaining([expect.stringMatching(/does not say the DLP patterns.*roles' step-up approval settings: they stay as they are now/)]));
    await changes.rollbackToVersion(t.db, admin, now - 1);
    const role = await t.db.portalRole.findUniqueOrThrow({ where: { slug: "analysts" } });
    expect(role).toMatchObject({ name: "Analysts", stepUpApprovers: ["kept@corp.example"], stepUpMaxMinutes: 30 });
    expect((await dlp.getDlpSettings(t.db, admin)).patterns.map((p) => p.id)).toEqual(["employee_id"]);
    await roles.updateRole(t.db, admin, await newRole(), { stepUpApprovers: ["finops-leads", "lead@corp.example"] });
    await publish("approvers as at baseline");
  });

  it("names what it cannot restore before confirming: a rotated secret, a server deleted since", async () => {
    await servers.updateServer(t.db, admin, ids.billing, { credential: { kind: "header", headerName: "Authorization", value: `${SECRET}-rotated` } });
    await servers.deleteServer(t.db, admin, ids.tagging);
    await publish("rotated and deleted");
    const preview = await changes.previewRollback(t.db, admin, baseline);
    expect(preview.cannotRestore).toEqual([expect.stringMatching(/^Server tagging was deleted since/)]);
    expect(preview.kept).toEqual(expect.arrayContaining([expect.stringMatching(/secret of server billing was rotated since: the current secret is kept/)]));
    expect(JSON.stringify(preview)).not.toContain(SECRET);
    const result = await changes.rollbackToVersion(t.db, admin, baseline);
    expect(result.cannotRestore).toEqual(preview.cannotRestore);
    const server = await t.db.server.findUniqueOrThrow({ where: { id: ids.billing } });
    expect(server.credentialKind).toBe("header");
  });

  it("is for admins; auditors read history and diffs; viewers neither", async () => {
    expect(await errorOf(changes.rollbackToVersion(t.db, auditor, baseline))).toMatchObject({ code: "forbidden" });
    expect(await errorOf(changes.previewRollback(t.db, auditor, baseline))).toMatchObject({ code: "forbidden" });
    expect(await errorOf(changes.listVersionHistory(t.db, viewer, {}))).toMatchObject({ code: "forbidden" });
    expect(await errorOf(changes.rollbackToVersion(t.db, admin, 9999))).toMatchObject({ code: "not_found" });
    const history = await changes.listVersionHistory(t.db, auditor, { limit: 3 });
    expect(history.items).toHaveLength(3);
    const diff = await changes.diffConfigVersions(t.db, auditor, baseline + 1);
    expect(diff).toMatchObject({ from: baseline, to: baseline + 1, changes: [expect.objectContaining({ entity: "tool", key: "finops/billing/get_costs", change: "removed" })] });
    expect(JSON.stringify(diff)).not.toMatch(/g1\./);
  });
});

describe("export and import", () => {
  it("exports, wipes portals and roles, imports the export, and serves the same snapshot", async () => {
    const before = await publish("before export");
    const document = await changes.exportConfig(t.db, auditor);
    expect(JSON.stringify(document)).not.toContain(SECRET);
    expect(changes.serializeConfig(document, "yaml")).toMatch(/^kind: portico\/config/);

    // The fields other features added are in it, populated (see beforeAll).
    expect(document.dlpPatterns).toEqual([{ id: "employee_id", name: "Employee id", regex: "EMP-[0-9]{6}" }]);
    expect(document.portals[0]).toMatchObject({ dropServerPrefix: false, dlp: { actions: { email: "flag", employee_id: "block" }, capture: "metadata" } });
    expect(document.servers.find((x) => x.slug === "billing")).toMatchObject({ allowSampling: true, allowElicitation: false });
    expect(document.roles.find((r) => r.slug === "analysts")).toMatchObject({ perCallRiskClasses: ["financial"], stepUpMaxMinutes: 30, stepUpApprovers: ["finops-leads", "lead@corp.example"] });

    await t.db.portalRole.deleteMany();
    await t.db.portal.deleteMany();
    await t.db.setting.deleteMany({ where: { key: "dlp.policy" } });
    await t.db.server.updateMany({ data: { allowSampling: true, allowElicitation: true } });
    const wiped = await publish("wiped");
    expect(await hashOf(wiped)).not.toBe(await hashOf(before));

    const dry = await changes.importConfig(t.db, admin, document, { dryRun: "true" });
    expect(dry.dryRun).toBe(true);
    expect(dry.dryRun && dry.changes.map((c) => `${c.entity} ${c.change}`)).toEqual(expect.arrayContaining(["portal added", "role added", "tool added"]));
    expect(await latest()).toBe(wiped);
    expect(await t.db.portal.count()).toBe(0);

    const applied = await changes.importConfig(t.db, admin, document, {});
    expect(applied).toMatchObject({ dryRun: false, publishedVersion: wiped + 1 });
    expect(await hashOf(wiped + 1)).toBe(await hashOf(before));
    expect(await changes.exportConfig(t.db, admin)).toEqual(document);
  });

  it("reads an import body as YAML or JSON by its content type, and refuses an alias bomb", async () => {
    const document = await changes.exportConfig(t.db, admin);
    const request = (type: string, body: string) => new Request("http://localhost/api/v1/config/import", { method: "POST", headers: { "content-type": type }, body });
    expect(await changes.readConfigBody(request("application/yaml", changes.serializeConfig(document, "yaml")))).toEqual(document);
    expect(await changes.readConfigBody(request("application/json", changes.serializeConfig(document, "json")))).toEqual(document);
    expect(await errorOf(changes.readConfigBody(request("text/plain", "kind: x")))).toMatchObject({ code: "bad_request" });
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]", ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`)].join("\n");
    expect(await errorOf(changes.readConfigBody(request("application/yaml", bomb)))).toMatchObject({ code: "bad_request" });
  });

  it("refuses a document that does not validate, naming the problem, and changes nothing", async () => {
    const document = await changes.exportConfig(t.db, admin);
    const broken = { ...document, roles: [{ ...document.roles[0]!, grants: [{ portal: "nowhere" }] }] };
    const error = await errorOf(changes.importConfig(t.db, admin, broken, {}));
    expect(error).toMatchObject({ code: "validation_failed", fieldErrors: [expect.objectContaining({ message: expect.stringMatching(/nowhere/) })] });
    expect(await t.db.portal.count()).toBe(1);
    expect(await errorOf(changes.importConfig(t.db, auditor, document, {}))).toMatchObject({ code: "forbidden" });
    // The DLP form's rules hold for an import too: a NUL in a name, a pattern RE2 cannot compile.
    const nul = await errorOf(changes.importConfig(t.db, admin, { ...document, dlpPatterns: [{ id: "x", name: "a\u0000b", regex: "x" }] }, {}));
    expect(nul).toMatchObject({ code: "validation_failed" });
    const uncompilable = await errorOf(changes.importConfig(t.db, admin, { ...document, dlpPatterns: [{ id: "x", name: "Lookbehind", regex: "(?<=a)b" }] }, {}));
    expect(uncompilable).toMatchObject({ code: "validation_failed", fieldErrors: [expect.objectContaining({ field: "patterns.0.regex" })] });
    expect((await dlp.getDlpSettings(t.db, admin)).patterns.map((p) => p.id)).toEqual(["employee_id"]);
  });
});

describe("fleet", () => {
  it("shows each gateway's lag, flags one more than a minute behind, and times publish to ack", async () => {
    const { recordHeartbeat, listGateways } = await import("./gateways");
    await roles.createRole(t.db, admin, { slug: "fleet-check", name: "Fleet check", principals: [{ kind: "group", value: "fleet" }] });
    const current = await publish("fleet check");
    await recordHeartbeat(t.db, { name: "gw-current", url: "http://127.0.0.1:1", runningVersion: current });
    await recordHeartbeat(t.db, { name: "gw-stale", url: "http://127.0.0.1:2", runningVersion: current - 1 });
    // The version gw-stale lacks was published two minutes ago; gw-current acked it 1.5 s after.
    const publishedAt = new Date(Date.now() - 120_000);
    await t.db.configVersion.update({ where: { version: current }, data: { createdAt: publishedAt } });
    await t.db.gatewayVersionAck.update({ where: { gatewayName_version: { gatewayName: "gw-current", version: current } }, data: { ackedAt: new Date(publishedAt.getTime() + 1500) } });

    const fleet = await listGateways(t.db, viewer);
    const byName = Object.fromEntries(fleet.map((g) => [g.name, g]));
    expect(byName["gw-current"]).toMatchObject({ versionsBehind: 0, lagMs: 0, isLagging: false, publishToAckMs: 1500 });
    expect(byName["gw-stale"]).toMatchObject({ versionsBehind: 1, isLagging: true, isBehind: true });
    expect(byName["gw-stale"]!.lagMs).toBeGreaterThanOrEqual(120_000);

    const history = await changes.listVersionHistory(t.db, admin, { limit: 2 });
    expect(history.items[0]).toMatchObject({ version: current, gateways: ["gw-current"] });
    expect(history.items[1]).toMatchObject({ version: current - 1, gateways: ["gw-stale"] });
  });
});

describe("history in words", () => {
  it("names the user and the service account whose access ended, not their internal ids", async () => {
    const users = await import("./users");
    const leaver = await users.createUser(t.db, admin, { email: "leaver@corp.example", name: "Leaver", role: "viewer", password: "correct horse battery staple 42" });
    const nightly = await t.db.serviceAccount.findFirstOrThrow({ where: { name: "Nightly" } });
    await users.updateUser(t.db, admin, leaver.id, { disabled: true });
    await serviceAccounts.updateServiceAccount(t.db, admin, nightly.id, { disabled: true });
    const version = await publish("access ended");

    const words = (await changes.diffConfigVersions(t.db, auditor, version)).changes.filter((c) => c.entity === "revocation").flatMap((c) => c.words);
    expect(words).toEqual(
      expect.arrayContaining(["Revocation of the tokens of user leaver@corp.example (user disabled) added", "Revocation of the tokens of client Nightly (service account disabled) added"]),
    );
    expect(words.join(" ")).not.toContain(leaver.id);
    expect(words.join(" ")).not.toContain("undefined");
  });
});
