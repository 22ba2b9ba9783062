import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf, userActor } from "./testing/data-access";

// Before any module reads the environment: the key seals secrets at rest and for gateways.
process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
const SECRET = `Bearer sk-live-${randomBytes(12).toString("hex")}`;

const { createTestDatabase } = await import("./db/test-database");
const { systemActor } = await import("./auth/actor");
const servers = await import("./servers");
const portals = await import("./portals");
const roles = await import("./roles");
const configVersions = await import("./config-versions");
const portalCatalog = await import("./portal-catalog");
const signingKeys = await import("./signing-keys");
const { verifySnapshot, SnapshotVerificationError } = await import("@/lib/config/signing");
const { deriveGatewayCredentialKey, openSealedCredential } = await import("@/lib/config/sealed-credential");
const { toolDefinitionHash } = await import("@/lib/config/tool-definition");
import type { Actor } from "./auth/actor";
import type { ConfigSnapshot } from "@/lib/config/snapshot";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let admin: Actor;
let viewer: Actor;
const system = systemActor("test");
const ids = { server: "", portal: "", tools: {} as Record<string, string> };

async function addTool(serverId: string, name: string, state: "active" | "changed" | "removed", riskClass: "read" | "write" = "read") {
  const definition = { name, description: `${name} (upstream)`, inputSchema: { type: "object", properties: { month: { type: "string" } } }, annotations: { readOnlyHint: riskClass === "read" } };
  const tool = await t.db.tool.create({ data: { serverId, ...definition, state, riskClass, definitionHash: toolDefinitionHash(definition) } });
  ids.tools[name] = tool.id;
  return tool;
}

const verified = async (jws: string): Promise<ConfigSnapshot> => verifySnapshot(jws, await signingKeys.publicJwks(t.db));
const toolsOf = (s: ConfigSnapshot) => s.portals.flatMap((p) => p.servers.flatMap((srv) => srv.tools.map((tool) => ({ portal: p.slug, server: srv.slug, ...tool }))));

beforeAll(async () => {
  t = await createTestDatabase();
  admin = await userActor(t.db, "admin");
  viewer = await userActor(t.db, "viewer");

  const billing = await servers.createServer(t.db, admin, {
    slug: "billing",
    name: "Billing",
    url: "http://127.0.0.1:9/mcp",
    credential: { kind: "header", headerName: "Authorization", value: SECRET },
  });
  ids.server = billing.id;
  await addTool(billing.id, "get_costs", "active");
  await addTool(billing.id, "top_services", "active");
  await addTool(billing.id, "tag_resources", "active", "write");
  await addTool(billing.id, "drifted", "changed");
  await addTool(billing.id, "gone", "removed");
  // In no portal: its tools must not reach the snapshot.
  const lonely = await servers.createServer(t.db, admin, { slug: "lonely", name: "Lonely", url: "http://127.0.0.1:10/mcp" });
  await addTool(lonely.id, "orphan", "active");

  const portal = await portals.createPortal(t.db, admin, { slug: "finops", name: "FinOps", serverIds: [billing.id] });
  ids.portal = portal.id;
  await portals.updatePortalTool(t.db, admin, portal.id, ids.tools.tag_resources!, { enabled: false });
  await portals.updatePortalTool(t.db, admin, portal.id, ids.tools.top_services!, { alias: "top", descriptionOverride: "Top services by cost" });

  await roles.createRole(t.db, admin, {
    slug: "analysts",
    name: "Analysts",
    principals: [{ kind: "group", value: "finops-analysts" }],
    grants: [{ portalId: portal.id, riskClasses: ["read"] }],
    stepUpRiskClasses: ["write"],
    conditions: { timeWindows: [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" }], networks: ["10.0.0.0/8"], mfaRequired: true },
  });
});
afterAll(async () => {
  await t?.close();
});

describe(`config versions (${process.env.TEST_DATABASE_URL ? "postgres" : "pglite"})`, () => {
  it("publishes version 1 with exactly the offered tools, aliases and overrides applied, the secret sealed", async () => {
    const published = await configVersions.publishConfigVersion(t.db, admin, "initial");
    expect(published).toMatchObject({ version: 1, isNew: true });

    const snapshot = await verified(published.signature);
    expect(snapshot.version).toBe(1);
    expect(snapshot.issuer).toMatch(/^http/);
    expect(toolsOf(snapshot).map((x) => [x.portal, x.server, x.name, x.exposedName, x.description])).toEqual([
      ["finops", "billing", "get_costs", "billing_get_costs", "get_costs (upstream)"],
      ["finops", "billing", "top_services", "top", "Top services by cost"],
    ]);
    expect(toolsOf(snapshot)[0]).toMatchObject({ riskClass: "read", title: null, inputSchema: { type: "object" }, annotations: { readOnlyHint: true } });
    // The quarantined tool is not offered, but named, so a gateway tells its caller it is quarantined (not off); the removed one is not.
    expect(snapshot.portals[0]!.servers[0]!.quarantined).toEqual(["billing_drifted"]);
    expect(snapshot.roles).toEqual([
      {
        slug: "analysts",
        name: "Analysts",
        principals: [{ kind: "group", value: "finops-analysts" }],
        grants: [{ portalSlug: "finops", serverSlug: null, toolName: null, riskClasses: ["read"] }],
        stepUpRiskClasses: ["write"],
        conditions: { timeWindows: [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" }], networks: ["10.0.0.0/8"], mfaRequired: true, maxLookbackDays: null },
      },
    ]);

    const credential = snapshot.portals[0]!.servers[0]!.credential;
    expect(credential).toMatchObject({ kind: "header", headerName: "Authorization" });
    const row = await t.db.configVersion.findUniqueOrThrow({ where: { version: 1 } });
    for (const text of [JSON.stringify(snapshot), JSON.stringify(row), Buffer.from(row.signature.split(".")[1]!, "base64url").toString()]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET.slice(7));
    }
    expect(credential.kind === "header" && openSealedCredential(credential.sealed, deriveGatewayCredentialKey(process.env.PORTICO_SECRET_KEY!))).toBe(SECRET);
    expect(row).toMatchObject({ summary: "initial", createdById: (admin as { userId: string }).userId });

    const audit = await t.db.auditEvent.findFirst({ where: { action: "config.publish" } });
    expect(audit).toMatchObject({ targetId: "1", outcome: "success" });
    expect(JSON.stringify(audit?.data)).not.toContain(SECRET);
  });

  it("does not publish again when nothing changed, even though sealing is randomised", async () => {
    const again = await configVersions.publishConfigVersion(t.db, system, "no-op");
    expect(again).toMatchObject({ version: 1, isNew: false });
    expect(await t.db.configVersion.count()).toBe(1);
  });

  it("publishes version 2 after a change, and two racing publishes make one version", async () => {
    await portals.updatePortalTool(t.db, admin, ids.portal, ids.tools.tag_resources!, { enabled: true });
    const [a, b] = await Promise.all([
      configVersions.publishConfigVersion(t.db, admin, "tagging on"),
      configVersions.publishConfigVersion(t.db, admin, "tagging on (again)"),
    ]);
    expect([a.version, b.version]).toEqual([2, 2]);
    expect([a.isNew, b.isNew].sort()).toEqual([false, true]);
    expect(await t.db.configVersion.count()).toBe(2);
    const snapshot = await verified(a.signature);
    expect(toolsOf(snapshot).map((x) => x.exposedName)).toEqual(["billing_get_costs", "billing_tag_resources", "top"]);
  });

  it("treats a new secret value as a change", async () => {
    await servers.updateServer(t.db, admin, ids.server, { credential: { kind: "header", headerName: "Authorization", value: `${SECRET}-rotated` } });
    const published = await configVersions.publishConfigVersion(t.db, admin, "rotated upstream secret");
    expect(published).toMatchObject({ version: 3, isNew: true });
    const credential = (await verified(published.signature)).portals[0]!.servers[0]!.credential;
    expect(credential.kind === "header" && openSealedCredential(credential.sealed, deriveGatewayCredentialKey(process.env.PORTICO_SECRET_KEY!))).toBe(`${SECRET}-rotated`);
  });

  it("lists versions newest first without snapshots, paginated, to any reader; publishing needs write", async () => {
    const first = await configVersions.listConfigVersions(t.db, viewer, { limit: 2 });
    expect(first.items.map((v) => v.version)).toEqual([3, 2]);
    expect(first.items[0]).not.toHaveProperty("snapshot");
    expect(first.items[0]).not.toHaveProperty("signature");
    expect(first.items[0]!.createdBy).toMatchObject({ email: (admin as { email: string }).email });
    const second = await configVersions.listConfigVersions(t.db, viewer, { limit: 2, cursor: first.nextCursor });
    expect(second).toEqual({ items: [expect.objectContaining({ version: 1, summary: "initial" })], nextCursor: null });

    expect(await errorOf(configVersions.publishConfigVersion(t.db, viewer, "nope"))).toMatchObject({ code: "forbidden" });
    expect(await errorOf(configVersions.getConfigVersion(t.db, viewer, 99))).toMatchObject({ code: "not_found" });
  });

  it("returns one version with its snapshot, secrets still sealed, and verified against the JWKS", async () => {
    const view = await configVersions.getConfigVersion(t.db, viewer, 1);
    expect(view).toMatchObject({ version: 1, isVerified: true, verificationError: null });
    expect(view.snapshot?.portals[0]?.servers[0]?.credential).toMatchObject({ kind: "header", sealed: expect.stringMatching(/^g1\./) });
    expect(JSON.stringify(view)).not.toContain(SECRET);
  });

  it("detects a tampered stored snapshot and a tampered signed payload", async () => {
    const row = await t.db.configVersion.findUniqueOrThrow({ where: { version: 2 } });
    const forged = structuredClone(row.snapshot) as ConfigSnapshot;
    forged.portals[0]!.servers[0]!.url = "http://evil.example/mcp";
    await t.db.configVersion.update({ where: { version: 2 }, data: { snapshot: forged } });
    const view = await configVersions.getConfigVersion(t.db, admin, 2);
    expect(view).toMatchObject({ isVerified: false, verificationError: expect.stringMatching(/differs/) });

    const [header, , signature] = row.signature.split(".");
    const forgedJws = `${header}.${Buffer.from(JSON.stringify({ ...forged, version: 2 })).toString("base64url")}.${signature}`;
    await expect(verified(forgedJws)).rejects.toBeInstanceOf(SnapshotVerificationError);
    await expect(verified(forgedJws)).rejects.toMatchObject({ code: "bad_signature" });
    await t.db.configVersion.update({ where: { version: 2 }, data: { signature: forgedJws } });
    expect(await configVersions.getConfigVersion(t.db, admin, 2)).toMatchObject({ isVerified: false, verificationError: expect.stringMatching(/signature/) });
  });

  it("rotates the signing key without breaking verification of older versions", async () => {
    const before = await signingKeys.publicJwks(t.db);
    expect(before.keys).toHaveLength(1);
    expect(await errorOf(signingKeys.rotateSigningKey(t.db, viewer))).toMatchObject({ code: "forbidden" });
    const rotated = await signingKeys.rotateSigningKey(t.db, admin);
    const after = await signingKeys.publicJwks(t.db);
    expect(after.keys.map((k) => k.kid)).toEqual([rotated.kid, before.keys[0]!.kid]);
    expect(JSON.stringify(after)).not.toMatch(/"d":/);
    const setting = await t.db.setting.findUniqueOrThrow({ where: { key: signingKeys.SIGNING_KEYS_SETTING } });
    expect(JSON.stringify(setting.value)).not.toMatch(/"d":/);

    await t.db.user.create({ data: { email: "ann@corp.example", name: "Ann", role: "auditor" } });
    await roles.createRole(t.db, admin, { slug: "auditors", name: "Auditors", principals: [{ kind: "user", value: "ann@corp.example" }] });
    const published = await configVersions.publishConfigVersion(t.db, admin, "auditors role");
    expect(published).toMatchObject({ version: 4, isNew: true });
    expect(JSON.parse(Buffer.from(published.signature.split(".")[0]!, "base64url").toString())).toEqual({ alg: "EdDSA", kid: rotated.kid, typ: "portico-config+jws" });
    expect((await verified(published.signature)).roles.map((r) => r.slug)).toEqual(["analysts", "auditors"]);
    expect(await configVersions.getConfigVersion(t.db, viewer, 1)).toMatchObject({ isVerified: true });
  });

  it("carries a server's switches for sampling and elicitation to the gateways only when one is off", async () => {
    expect((await servers.getServer(t.db, viewer, ids.server)).allowSampling).toBe(true);
    const before = await configVersions.publishConfigVersion(t.db, admin, "unchanged");
    expect((await verified(before.signature)).portals[0]!.servers[0]).not.toHaveProperty("serverRequests");

    const view = await servers.updateServer(t.db, admin, ids.server, { allowSampling: false });
    expect(view).toMatchObject({ allowSampling: false, allowElicitation: true });
    expect(await errorOf(servers.updateServer(t.db, viewer, ids.server, { allowSampling: true }))).toMatchObject({ code: "forbidden" });
    const off = await configVersions.publishConfigVersion(t.db, admin, "sampling off for billing");
    expect(off).toMatchObject({ version: before.version + 1, isNew: true });
    expect((await verified(off.signature)).portals[0]!.servers[0]!.serverRequests).toEqual({ sampling: false, elicitation: true });
    const change = await t.db.auditEvent.findFirstOrThrow({ where: { action: "server.update", targetId: ids.server }, orderBy: { seq: "desc" } });
    expect(change.data).toMatchObject({ before: { allowSampling: true }, after: { allowSampling: false } });
  });

  it("lists a portal's prompts and resources, keeps their aliases, toggles and overrides, refuses a clashing alias, and carries them to the gateways", async () => {
    await t.db.server.update({
      where: { id: ids.server },
      data: { prompts: [{ name: "summary", description: "Sums up" }, { name: "forecast" }], resources: [{ uri: "finops://accounts", name: "accounts" }] },
    });
    const before = await portalCatalog.listPortalCatalog(t.db, viewer, ids.portal);
    expect(before.map((i) => [i.kind, i.key, i.shownName, i.enabled])).toEqual([
      ["prompt", "summary", expect.stringMatching(/_summary$/), true],
      ["prompt", "forecast", expect.stringMatching(/_forecast$/), true],
      ["resource", "finops://accounts", "accounts", true],
    ]);
    const renamed = await portalCatalog.updatePortalCatalogItem(t.db, admin, ids.portal, { serverId: ids.server, kind: "prompt", key: "summary", alias: "bill_summary", descriptionOverride: "The bill, summed up" });
    expect(renamed).toMatchObject({ shownName: "bill_summary", description: "The bill, summed up" });
    expect(await errorOf(portalCatalog.updatePortalCatalogItem(t.db, admin, ids.portal, { serverId: ids.server, kind: "prompt", key: "forecast", alias: "bill_summary" }))).toMatchObject({ code: "conflict" });
    expect(await errorOf(portalCatalog.updatePortalCatalogItem(t.db, viewer, ids.portal, { serverId: ids.server, kind: "prompt", key: "forecast", enabled: false }))).toMatchObject({ code: "forbidden" });
    await portalCatalog.updatePortalCatalogItem(t.db, admin, ids.portal, { serverId: ids.server, kind: "resource", key: "finops://accounts", enabled: false });

    const published = await configVersions.publishConfigVersion(t.db, admin, "prompt and resource settings");
    const server = (await verified(published.signature)).portals[0]!.servers[0]!;
    expect(server.prompts).toEqual([{ key: "summary", enabled: true, alias: "bill_summary", description: "The bill, summed up" }]);
    expect(server.resources).toEqual([{ key: "finops://accounts", enabled: false }]);
    const change = await t.db.auditEvent.findFirstOrThrow({ where: { action: "portal.prompt", targetId: ids.portal }, orderBy: { seq: "desc" } });
    expect(change.data).toMatchObject({ after: { alias: "bill_summary" } });
  });

  it("carries a portal's choice to drop the server prefix of prompt names", async () => {
    expect(await portals.updatePortal(t.db, admin, ids.portal, { dropServerPrefix: true })).toMatchObject({ dropServerPrefix: true });
    const published = await configVersions.publishConfigVersion(t.db, admin, "prompts under their own names");
    expect((await verified(published.signature)).portals[0]!.dropServerPrefix).toBe(true);
  });
});
