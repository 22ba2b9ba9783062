import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf, userActor } from "./testing/data-access";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

const { createTestDatabase } = await import("./db/test-database");
const { systemActor } = await import("./auth/actor");
const servers = await import("./servers");
const portals = await import("./portals");
const roles = await import("./roles");
const users = await import("./users");
const tokens = await import("./tokens");
const settings = await import("./settings");
const { resolveApiToken } = await import("./auth/api-tokens");
const { verifyChain } = await import("@/lib/audit/event");
import type { Actor } from "./auth/actor";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const admin = systemActor("test");
let viewer: Actor;
let auditor: Actor;

beforeAll(async () => {
  t = await createTestDatabase();
  viewer = await userActor(t.db, "viewer", { mfa: false });
  auditor = await userActor(t.db, "auditor", { mfa: false });
});
afterAll(async () => {
  await t?.close();
});

describe(`servers (${process.env.TEST_DATABASE_URL ? "postgres" : "pglite"})`, () => {
  it("stores a header secret encrypted and never returns it", async () => {
    const created = await servers.createServer(t.db, admin, {
      slug: "billing",
      name: "Billing",
      url: "http://127.0.0.1:9/mcp",
      credential: { kind: "header", headerName: "Authorization", value: "Bearer top-secret-value" },
    });
    expect(created.credential).toEqual({ kind: "header", headerName: "Authorization", ref: null, hasSecret: true });
    expect(JSON.stringify(created)).not.toContain("top-secret-value");
    const row = await t.db.server.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.secretEnc).toMatch(/^v1\./);
    expect(row.secretEnc).not.toContain("top-secret");
    const events = await t.db.auditEvent.findMany({ where: { targetId: created.id } });
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0]!.data)).not.toContain("top-secret-value");
    expect(events[0]!.action).toBe("server.create");
  });

  it("keeps the credential when a PATCH does not name it, and marks a ready server stale on a new URL", async () => {
    const s = await servers.createServer(t.db, admin, {
      slug: "keep-cred",
      name: "Keep",
      url: "http://127.0.0.1:9/mcp",
      credential: { kind: "reference", headerName: "X-Api-Key", ref: "env:BILLING_KEY" },
    });
    await t.db.server.update({ where: { id: s.id }, data: { status: "ready" } });
    const updated = await servers.updateServer(t.db, admin, s.id, { name: "Kept", url: "http://127.0.0.1:10/mcp" });
    expect(updated.credential).toMatchObject({ kind: "reference", ref: "env:BILLING_KEY" });
    expect(updated.status).toBe("stale");
    expect(updated.description).toBe("");
  });

  it("answers a duplicate slug with 409 and an unknown id with 404", async () => {
    const dup = await errorOf(servers.createServer(t.db, admin, { slug: "billing", name: "Again", url: "http://127.0.0.1:9/mcp" }));
    expect(dup).toMatchObject({ code: "conflict", status: 409 });
    expect(await errorOf(servers.getServer(t.db, admin, "nope"))).toMatchObject({ code: "not_found" });
  });

  it("refuses a cloud-metadata URL unless private targets are allowed", async () => {
    const input = { slug: "meta", name: "Meta", url: "http://169.254.169.254/latest/meta-data" };
    expect(await errorOf(servers.createServer(t.db, admin, input))).toMatchObject({ code: "validation_failed" });
    expect(await t.db.server.findUnique({ where: { slug: "meta" } })).toBeNull();
    await settings.updateSettings(t.db, admin, { allowPrivateTargets: true });
    await expect(servers.createServer(t.db, admin, input)).resolves.toMatchObject({ slug: "meta" });
    await settings.updateSettings(t.db, admin, { allowPrivateTargets: false });
  });

  it("lets viewers read but not write, and says so before validating", async () => {
    await expect(servers.listServers(t.db, viewer, {})).resolves.toMatchObject({ items: expect.any(Array) });
    expect(await errorOf(servers.createServer(t.db, viewer, { slug: "x" }))).toMatchObject({ code: "forbidden" });
    expect(await errorOf(servers.deleteServer(t.db, auditor, "whatever"))).toMatchObject({ code: "forbidden" });
  });

  it("paginates with a cursor without gaps or repeats", async () => {
    for (let i = 0; i < 5; i++) await servers.createServer(t.db, admin, { slug: `page-${i}`, name: `Page ${i}`, url: "http://127.0.0.1:9/mcp" });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await servers.listServers(t.db, admin, { limit: 2, q: "page-", cursor });
      seen.push(...page.items.map((s) => s.slug));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4"]);
  });
});

describe("portals", () => {
  it("toggles tools, applies aliases, refuses clashing names, and pins tools when allowlist mode is turned on", async () => {
    const server = await servers.createServer(t.db, admin, { slug: "costs", name: "Costs", url: "http://127.0.0.1:9/mcp" });
    const mk = (name: string) =>
      t.db.tool.create({ data: { serverId: server.id, name, description: name, inputSchema: { type: "object" }, definitionHash: name } });
    const [a, b] = [await mk("get_costs"), await mk("top_services")];
    const portal = await portals.createPortal(t.db, admin, { slug: "finops-test", name: "FinOps", serverIds: [server.id] });
    expect(portal.url).toMatch(/\/mcp\/finops-test$/);

    let tools = await portals.listPortalTools(t.db, viewer, portal.id);
    expect(tools.map((x) => [x.exposedName, x.enabled])).toEqual([
      ["costs_get_costs", true],
      ["costs_top_services", true],
    ]);

    await portals.updatePortalTool(t.db, admin, portal.id, b.id, { enabled: false, alias: "top", descriptionOverride: "Top services by cost" });
    const clash = await errorOf(portals.updatePortalTool(t.db, admin, portal.id, a.id, { alias: "top" }));
    expect(clash).toMatchObject({ code: "conflict" });

    await portals.updatePortal(t.db, admin, portal.id, { allowlistMode: true });
    const later = await mk("forecast");
    tools = await portals.listPortalTools(t.db, admin, portal.id);
    const byName = Object.fromEntries(tools.map((x) => [x.name, x]));
    expect(byName.get_costs).toMatchObject({ enabled: true, explicit: true });
    expect(byName.top_services).toMatchObject({ enabled: false, exposedName: "top", description: "Top services by cost" });
    expect(byName.forecast).toMatchObject({ enabled: false, explicit: false });
    expect(later.id).toBeTruthy();
  });

  it("says where dropping the server prefix would clash, from the servers' synced prompts and resources", async () => {
    const mk = async (slug: string, prompts: { name: string }[], resources: { uri: string }[]) => {
      const s = await servers.createServer(t.db, admin, { slug, name: slug, url: "http://127.0.0.1:9/mcp" });
      await t.db.server.update({ where: { id: s.id }, data: { prompts, resources } });
      return s.id;
    };
    const a = await mk("clash-a", [{ name: "summary" }, { name: "only-a" }], [{ uri: "finops://accounts" }]);
    const b = await mk("clash-b", [{ name: "summary" }], [{ uri: "finops://accounts" }, { uri: "finops://b" }]);
    const portal = await portals.createPortal(t.db, admin, { slug: "clash-portal", name: "Clash", serverIds: [a, b] });
    expect(portal.prefixClashes).toEqual([
      { kind: "prompt", name: "summary", servers: ["clash-a", "clash-b"] },
      { kind: "resource", name: "finops://accounts", servers: ["clash-a", "clash-b"] },
    ]);
    const alone = await portals.createPortal(t.db, admin, { slug: "clash-alone", name: "Alone", serverIds: [a] });
    expect(alone.prefixClashes).toEqual([]);
  });

  it("refuses unknown servers and keeps nothing", async () => {
    const err = await errorOf(portals.createPortal(t.db, admin, { slug: "bad-portal", name: "Bad", serverIds: ["missing"] }));
    expect(err).toMatchObject({ code: "validation_failed" });
    expect(await t.db.portal.findUnique({ where: { slug: "bad-portal" } })).toBeNull();
  });
});

describe("roles", () => {
  it("stores conditions and replaces principals and grants on update", async () => {
    const costs = await t.db.server.findUniqueOrThrow({ where: { slug: "costs" } });
    const portal = await portals.createPortal(t.db, admin, { slug: "roles-portal", name: "Roles", serverIds: [costs.id] });
    await t.db.user.create({ data: { email: "ana@corp.example", name: "Ana", role: "viewer" } });
    const role = await roles.createRole(t.db, admin, {
      slug: "analyst-test",
      name: "Analyst",
      principals: [{ kind: "group", value: "finops-analysts" }],
      grants: [{ portalId: portal.id, serverSlug: "costs", riskClasses: ["read"] }],
      conditions: { timeWindows: [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" }], networks: ["10.0.0.0/8"], mfaRequired: true },
    });
    expect(role.conditions).toEqual({
      timeWindows: [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" }],
      networks: ["10.0.0.0/8"],
      mfaRequired: true,
      maxLookbackDays: null,
    });
    const updated = await roles.updateRole(t.db, admin, role.id, { principals: [{ kind: "user", value: "ana@corp.example" }] });
    expect(updated.principals).toEqual([{ kind: "user", value: "ana@corp.example" }]);
    expect(updated.grants).toHaveLength(1);
    expect(updated.conditions.mfaRequired).toBe(true);
  });
});

describe("portal access", () => {
  it("names the roles that grant a portal and how many members each has, so a portal nobody can use shows it", async () => {
    const portal = await portals.createPortal(t.db, admin, { slug: "access-portal", name: "Access" });
    await t.db.user.create({ data: { email: "access-ana@corp.example", name: "Ana", role: "viewer" } });
    expect((await portals.getPortal(t.db, admin, portal.id)).roles).toEqual([]);
    const empty = await roles.createRole(t.db, admin, { slug: "access-empty", name: "Budget owners", principals: [], grants: [{ portalId: portal.id, riskClasses: ["read"] }] });
    const held = await roles.createRole(t.db, admin, {
      slug: "access-held",
      name: "Analysts",
      principals: [{ kind: "group", value: "finops-analysts" }, { kind: "user", value: "access-ana@corp.example" }],
      // Two grants on the portal: still one role.
      grants: [{ portalId: portal.id, riskClasses: ["read"] }, { portalId: portal.id, riskClasses: ["write"] }],
    });
    expect((await portals.getPortal(t.db, admin, portal.id)).roles).toEqual([
      { id: held.id, name: "Analysts", members: 2 },
      { id: empty.id, name: "Budget owners", members: 0 },
    ]);
  });
});

describe("users and tokens", () => {
  it("never lets the last active admin be demoted", async () => {
    const onlyAdmin = await t.db.user.create({ data: { email: "solo-admin@t.local", name: "Solo", role: "admin" } });
    await t.db.user.updateMany({ where: { role: "admin", id: { not: onlyAdmin.id } }, data: { disabled: true } });
    expect(await errorOf(users.updateUser(t.db, admin, onlyAdmin.id, { role: "viewer" }))).toMatchObject({ code: "conflict" });
    await t.db.user.updateMany({ where: { role: "admin" }, data: { disabled: false } });
  });

  it("issues a token once, resolves it by hash, and refuses it after revocation", async () => {
    const owner = await userActor(t.db, "auditor", { mfa: false });
    const created = await tokens.createToken(t.db, owner, { name: "export", scopes: ["read"], expiresInDays: 7 });
    expect(created.token).toMatch(/^ptk_/);
    const row = await t.db.apiToken.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(created.token);
    await expect(resolveApiToken(t.db, created.token, {})).resolves.toMatchObject({ type: "api_token", role: "auditor", scopes: ["read"] });
    expect(await errorOf(tokens.revokeToken(t.db, viewer, created.id))).toMatchObject({ code: "not_found" });
    await tokens.revokeToken(t.db, owner, created.id);
    await expect(resolveApiToken(t.db, created.token, {})).resolves.toBeNull();
  });
});

describe("audit chain", () => {
  it("verifies after all these changes and detects an edited row", async () => {
    const rows = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" } });
    expect(rows.length).toBeGreaterThan(10);
    const asEvents = rows.map((r) => ({
      ...r,
      actorType: r.actorType as "user",
      outcome: r.outcome as "success",
      reasons: r.reasons as string[] | null,
      data: r.data as Record<string, unknown> | null,
    }));
    expect(verifyChain(asEvents)).toEqual({ ok: true });
    const tampered = asEvents.map((e, i) => (i === 3 ? { ...e, actorLabel: "someone else" } : e));
    expect(verifyChain(tampered)).toMatchObject({ ok: false, index: 3 });
  });
});
