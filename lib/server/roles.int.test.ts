import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf } from "./testing/data-access";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
// Without company SSO every user exists here before anyone can name them (roles-sso.int.test.ts has the other case).
delete process.env.OIDC_ISSUER;

const { createTestDatabase } = await import("./db/test-database");
const { systemActor } = await import("./auth/actor");
const servers = await import("./servers");
const portals = await import("./portals");
const roles = await import("./roles");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const admin = systemActor("test");
let portalId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  const costs = await servers.createServer(t.db, admin, { slug: "costs", name: "Costs", url: "http://127.0.0.1:9/mcp" });
  await servers.createServer(t.db, admin, { slug: "elsewhere", name: "Elsewhere", url: "http://127.0.0.1:9/mcp" });
  for (const [name, state] of [["get_spend", "active"], ["old_report", "removed"]] as const) {
    await t.db.tool.create({ data: { serverId: costs.id, name, inputSchema: {}, definitionHash: name, state } });
  }
  portalId = (await portals.createPortal(t.db, admin, { slug: "finops", name: "FinOps", serverIds: [costs.id] })).id;
  await t.db.user.create({ data: { email: "ana@corp.example", name: "Ana", role: "viewer" } });
});
afterAll(async () => {
  await t?.close();
});

const role = (slug: string, extra: Record<string, unknown>) => ({ slug, name: slug, ...extra });

describe(`role grants and principals name things that exist (${process.env.TEST_DATABASE_URL ? "postgres" : "pglite"})`, () => {
  it("refuses a tool the server does not have, naming the field, and saves nothing", async () => {
    const err = await errorOf(
      roles.createRole(t.db, admin, role("typo", { grants: [{ portalId, riskClasses: ["read"] }, { portalId, serverSlug: "costs", toolName: "get-spend", riskClasses: ["read"] }] })),
    );
    expect(err).toMatchObject({ code: "validation_failed", fieldErrors: [{ field: "grants.1.toolName", message: expect.stringContaining("get-spend") }] });
    expect(await t.db.portalRole.findUnique({ where: { slug: "typo" } })).toBeNull();
  });

  it("refuses a tool removed upstream, a server that does not exist, and a server that is not on the portal", async () => {
    const grants = [
      { portalId, serverSlug: "costs", toolName: "old_report", riskClasses: ["read"] },
      { portalId, serverSlug: "cosst", toolName: null, riskClasses: ["read"] },
      { portalId, serverSlug: "elsewhere", toolName: null, riskClasses: ["read"] },
    ];
    const err = await errorOf(roles.createRole(t.db, admin, role("bad-servers", { grants })));
    expect(err).toMatchObject({
      code: "validation_failed",
      fieldErrors: [{ field: "grants.0.toolName" }, { field: "grants.1.serverSlug" }, { field: "grants.2.serverSlug" }],
    });
  });

  it("refuses a user nobody has, but takes groups, known users by any case, and grants by portal, server, tool or risk class", async () => {
    const err = await errorOf(roles.createRole(t.db, admin, role("nobody", { principals: [{ kind: "group", value: "finops" }, { kind: "user", value: "nobody@nowhere.example" }] })));
    expect(err).toMatchObject({ code: "validation_failed", fieldErrors: [{ field: "principals.1", message: expect.stringContaining("nobody@nowhere.example") }] });

    const ok = await roles.createRole(
      t.db,
      admin,
      role("fine", {
        principals: [{ kind: "group", value: "idp-group-never-seen" }, { kind: "user", value: "Ana@Corp.example" }],
        grants: [
          { portalId, riskClasses: ["read", "write"] },
          { portalId, serverSlug: "costs", riskClasses: ["financial"] },
          { portalId, serverSlug: "costs", toolName: "get_spend", riskClasses: ["read"] },
        ],
      }),
    );
    expect(ok.grants.map((g) => g.toolName)).toEqual([null, null, "get_spend"]);
    expect(ok.principals).toHaveLength(2);
  });

  it("on update checks only what is new: a grant whose tool vanished later does not block renaming the role", async () => {
    const created = await roles.createRole(t.db, admin, role("later", { grants: [{ portalId, serverSlug: "costs", toolName: "get_spend", riskClasses: ["read"] }] }));
    await t.db.tool.updateMany({ where: { name: "get_spend" }, data: { state: "removed" } });
    try {
      const renamed = await roles.updateRole(t.db, admin, created.id, { name: "Later", grants: created.grants.map(({ portalId, serverSlug, toolName, riskClasses }) => ({ portalId, serverSlug, toolName, riskClasses })) });
      expect(renamed.name).toBe("Later");
      const err = await errorOf(roles.updateRole(t.db, admin, created.id, { grants: [{ portalId, serverSlug: "costs", toolName: "old_report", riskClasses: ["write"] }] }));
      expect(err).toMatchObject({ code: "validation_failed", fieldErrors: [{ field: "grants.0.toolName" }] });
      const user = await errorOf(roles.updateRole(t.db, admin, created.id, { principals: [{ kind: "user", value: "eve@corp.example" }] }));
      expect(user).toMatchObject({ code: "validation_failed", fieldErrors: [{ field: "principals.0" }] });
    } finally {
      await t.db.tool.updateMany({ where: { name: "get_spend" }, data: { state: "active" } });
    }
  });
});
