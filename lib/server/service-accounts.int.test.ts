import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf, userActor } from "./testing/data-access";

// Before any module reads the environment: the key derives the secrets' HMAC key.
process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
process.env.AUTH_SECRET = randomBytes(32).toString("base64url");
process.env.PORTICO_CONTROL_PLANE_URL = "http://127.0.0.1:3999";
process.env.PORTICO_GATEWAY_URL = "http://127.0.0.1:4999";

const { createTestDatabase } = await import("./db/test-database");
const sa = await import("./service-accounts");
const roles = await import("./roles");
const { serviceAccountClientMetadata } = await import("./oauth/clients");
import type { Actor } from "./auth/actor";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let admin: Actor;
let viewer: Actor;
let analystRoleId: string;
let auditorRoleId: string;

/** What the token endpoint does with a presented secret: the account must be usable and the hash must match. */
async function secretWorks(clientId: string, secret: string): Promise<boolean> {
  const client = await serviceAccountClientMetadata(t.db, clientId);
  if (!client) return false;
  return (await sa.presentedSecretHash(t.db, clientId, secret)) === client.client_secret;
}

const principalsOf = (clientId: string) => t.db.rolePrincipal.findMany({ where: { kind: "service_account", value: clientId }, select: { roleId: true } });

beforeAll(async () => {
  t = await createTestDatabase();
  admin = await userActor(t.db, "admin");
  viewer = await userActor(t.db, "viewer");
  analystRoleId = (await t.db.portalRole.create({ data: { slug: "analyst", name: "Analyst" } })).id;
  auditorRoleId = (await t.db.portalRole.create({ data: { slug: "auditor", name: "Auditor" } })).id;
});

afterAll(async () => {
  await t?.close();
});

describe("service accounts", () => {
  it("creates an account whose secret works, shown once and never stored", async () => {
    const created = await sa.createServiceAccount(t.db, admin, { name: "nightly report", portalRoleId: analystRoleId });
    expect(created.clientId).toMatch(/^sa_[0-9a-f]{20}$/);
    expect(created.clientSecret).toMatch(/^sas_/);
    expect(created.role).toMatchObject({ id: analystRoleId, slug: "analyst" });
    const days = (new Date(created.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(true);
    expect(await secretWorks(created.clientId, "sas_not-it")).toBe(false);

    const row = await t.db.serviceAccount.findUniqueOrThrow({ where: { id: created.id } });
    expect(JSON.stringify(row)).not.toContain(created.clientSecret);
    expect(row.secretHash).toBe(sa.hashClientSecret(created.clientSecret));
    const audit = await t.db.auditEvent.findMany({ where: { targetId: created.id } });
    expect(audit.map((e) => e.action)).toEqual(["service_account.create"]);
    expect(JSON.stringify(audit.map((e) => e.data))).not.toContain(created.clientSecret);

    // Reads never carry the secret or its hash.
    const view = await sa.getServiceAccount(t.db, viewer, created.id);
    expect(JSON.stringify(view)).not.toContain(created.clientSecret);
    expect(JSON.stringify(view)).not.toContain(row.secretHash);
    const list = await sa.listServiceAccounts(t.db, viewer, {});
    expect(list.items.map((i) => i.id)).toContain(created.id);
    expect(list.items.every((i) => !("clientSecret" in i))).toBe(true);
  });

  it("keeps the role principal in step with role changes, disabling and deletion", async () => {
    const created = await sa.createServiceAccount(t.db, admin, { name: "ci check", portalRoleId: analystRoleId, expiresInDays: 30 });
    expect(await principalsOf(created.clientId)).toEqual([{ roleId: analystRoleId }]);
    await sa.updateServiceAccount(t.db, admin, created.id, { portalRoleId: auditorRoleId });
    expect(await principalsOf(created.clientId)).toEqual([{ roleId: auditorRoleId }]);
    const disabled = await sa.disableServiceAccount(t.db, admin, created.id);
    expect(disabled.disabledAt).not.toBeNull();
    expect(await principalsOf(created.clientId)).toEqual([]);
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(false);
    await sa.updateServiceAccount(t.db, admin, created.id, { disabled: false });
    expect(await principalsOf(created.clientId)).toEqual([{ roleId: auditorRoleId }]);
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(true);
    await sa.deleteServiceAccount(t.db, admin, created.id);
    expect(await principalsOf(created.clientId)).toEqual([]);
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(false);
    const actions = (await t.db.auditEvent.findMany({ where: { targetId: created.id }, orderBy: { seq: "asc" } })).map((e) => e.action);
    expect(actions).toEqual(["service_account.create", "service_account.update", "service_account.disable", "service_account.enable", "service_account.delete"]);
  });

  it("accepts both secrets during the rotation grace period, and only the new one after", async () => {
    const created = await sa.createServiceAccount(t.db, admin, { name: "rotating", portalRoleId: null });
    const rotated = await sa.rotateServiceAccountSecret(t.db, admin, created.id);
    expect(rotated.clientSecret).not.toBe(created.clientSecret);
    const graceHours = (new Date(rotated.previousSecretExpiresAt!).getTime() - Date.now()) / 3_600_000;
    expect(graceHours).toBeGreaterThan(23.9);
    expect(graceHours).toBeLessThanOrEqual(24);
    expect(await secretWorks(created.clientId, rotated.clientSecret)).toBe(true);
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(true);

    await t.db.serviceAccount.update({ where: { id: created.id }, data: { previousSecretExpiresAt: new Date(Date.now() - 1000) } });
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(false);
    expect(await secretWorks(created.clientId, rotated.clientSecret)).toBe(true);
    expect((await sa.getServiceAccount(t.db, admin, created.id)).previousSecretExpiresAt).toBeNull();

    // A second rotation with no grace: the secret it replaces stops at once.
    const again = await sa.rotateServiceAccountSecret(t.db, admin, created.id, { graceHours: 0 });
    expect(await secretWorks(created.clientId, rotated.clientSecret)).toBe(false);
    expect(await secretWorks(created.clientId, again.clientSecret)).toBe(true);
    const row = await t.db.serviceAccount.findUniqueOrThrow({ where: { id: created.id } });
    for (const secret of [created.clientSecret, rotated.clientSecret, again.clientSecret]) expect(JSON.stringify(row)).not.toContain(secret);
  });

  it("renews the expiry on rotation, without reviving an expired secret", async () => {
    const created = await sa.createServiceAccount(t.db, admin, { name: "renewed", portalRoleId: null, expiresInDays: 1 });
    await t.db.serviceAccount.update({ where: { id: created.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(false);
    const rotated = await sa.rotateServiceAccountSecret(t.db, admin, created.id, { graceHours: 24, expiresInDays: 30 });
    const days = (new Date(rotated.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(rotated.previousSecretExpiresAt).toBeNull();
    expect(await secretWorks(created.clientId, rotated.clientSecret)).toBe(true);
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(false);

    // A grace period never outlives the replaced secret's own expiry.
    const soon = new Date(Date.now() + 3_600_000);
    await t.db.serviceAccount.update({ where: { id: created.id }, data: { expiresAt: soon } });
    const again = await sa.rotateServiceAccountSecret(t.db, admin, created.id, { graceHours: 24 });
    expect(new Date(again.previousSecretExpiresAt!).getTime()).toBe(soon.getTime());
  });

  it("refuses disabled and expired accounts", async () => {
    const created = await sa.createServiceAccount(t.db, admin, { name: "short-lived", portalRoleId: null, expiresInDays: 1 });
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(true);
    await t.db.serviceAccount.update({ where: { id: created.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await secretWorks(created.clientId, created.clientSecret)).toBe(false);
    expect(await sa.findUsableServiceAccount(t.db, created.clientId)).toBeNull();
  });

  it("authorizes every operation and validates input", async () => {
    const created = await sa.createServiceAccount(t.db, admin, { name: "guarded", portalRoleId: null });
    for (const attempt of [
      sa.createServiceAccount(t.db, viewer, { name: "nope" }),
      sa.updateServiceAccount(t.db, viewer, created.id, { disabled: true }),
      sa.rotateServiceAccountSecret(t.db, viewer, created.id),
      sa.deleteServiceAccount(t.db, viewer, created.id),
    ]) {
      expect(await errorOf(attempt)).toMatchObject({ code: "forbidden" });
    }
    expect(await errorOf(sa.createServiceAccount(t.db, admin, { name: "", portalRoleId: null }))).toMatchObject({ code: "validation_failed" });
    expect(await errorOf(sa.createServiceAccount(t.db, admin, { name: "x", expiresInDays: 400 }))).toMatchObject({ code: "validation_failed" });
    expect(await errorOf(sa.createServiceAccount(t.db, admin, { name: "x", portalRoleId: "nope" }))).toMatchObject({
      code: "validation_failed",
      fieldErrors: [{ field: "portalRoleId", message: "Unknown role" }],
    });
    expect(await errorOf(sa.getServiceAccount(t.db, admin, "missing"))).toMatchObject({ code: "not_found" });
  });
});

describe("seeded service accounts", () => {
  it("creates one with a fixed client id and the given secret, and resets only the secret on a re-run", async () => {
    const secret = "seeded-secret-0123456789abcdef-0123456789";
    const first = await sa.seedServiceAccount(t.db, admin, { clientId: "sa_demo_seeded", name: "Seeded", portalRoleId: analystRoleId, clientSecret: secret });
    expect(first).toMatchObject({ clientId: "sa_demo_seeded", role: { id: analystRoleId } });
    expect(await secretWorks("sa_demo_seeded", secret)).toBe(true);
    expect(await principalsOf("sa_demo_seeded")).toEqual([{ roleId: analystRoleId }]);

    // The same secret again: nothing to write, nothing to audit.
    await sa.seedServiceAccount(t.db, admin, { clientId: "sa_demo_seeded", name: "Seeded", portalRoleId: analystRoleId, clientSecret: secret });
    expect((await t.db.auditEvent.findMany({ where: { targetId: first.id } })).map((e) => e.action)).toEqual(["service_account.create"]);

    // An admin's changes stay; a new secret (and an expired account) is reset.
    await sa.updateServiceAccount(t.db, admin, first.id, { name: "Renamed", portalRoleId: auditorRoleId });
    await t.db.serviceAccount.update({ where: { id: first.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const other = "another-seeded-secret-0123456789abcdef";
    const again = await sa.seedServiceAccount(t.db, admin, { clientId: "sa_demo_seeded", name: "Seeded", portalRoleId: analystRoleId, clientSecret: other });
    expect(again).toMatchObject({ id: first.id, name: "Renamed", role: { id: auditorRoleId } });
    expect(new Date(again.expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(await secretWorks("sa_demo_seeded", other)).toBe(true);
    expect(await secretWorks("sa_demo_seeded", secret)).toBe(false);
    const row = await t.db.serviceAccount.findUniqueOrThrow({ where: { id: first.id } });
    expect(JSON.stringify(row)).not.toContain(other);
  });

  it("refuses a short secret, a client id outside the service accounts' space, and a caller who may not write", async () => {
    expect(await errorOf(sa.seedServiceAccount(t.db, admin, { clientId: "sa_short", name: "x", clientSecret: "too-short" }))).toMatchObject({ code: "validation_failed" });
    expect(await errorOf(sa.seedServiceAccount(t.db, admin, { clientId: "other_client", name: "x", clientSecret: "x".repeat(40) }))).toMatchObject({ code: "validation_failed" });
    expect(await errorOf(sa.seedServiceAccount(t.db, viewer, { clientId: "sa_viewer", name: "x", clientSecret: "x".repeat(40) }))).toMatchObject({ code: "forbidden" });
  });
});

describe("roles and the service accounts that hold them", () => {
  it("keeps a role's service accounts when its principals are replaced", async () => {
    const role = await roles.createRole(t.db, admin, { slug: "ci-checks", name: "CI checks", principals: [{ kind: "group", value: "finops" }] });
    const member = await sa.createServiceAccount(t.db, admin, { name: "ci member", portalRoleId: role.id });
    const disabled = await sa.createServiceAccount(t.db, admin, { name: "ci disabled", portalRoleId: role.id });
    await sa.disableServiceAccount(t.db, admin, disabled.id);

    // What a form or an API client sends: its own list, without (or with) the mirrored account.
    await t.db.user.create({ data: { email: "ana@corp.example", name: "Ana", role: "viewer" } });
    const updated = await roles.updateRole(t.db, admin, role.id, { principals: [{ kind: "user", value: "ana@corp.example" }] });
    expect(updated.principals).toEqual([
      { kind: "user", value: "ana@corp.example" },
      { kind: "service_account", value: member.clientId },
    ]);
    const roundTrip = await roles.updateRole(t.db, admin, role.id, { principals: updated.principals });
    expect(roundTrip.principals).toEqual(updated.principals);
    expect(await principalsOf(member.clientId)).toEqual([{ roleId: role.id }]);
    // The disabled account is not a member, and comes back only when enabled.
    expect(await principalsOf(disabled.clientId)).toEqual([]);
    await sa.updateServiceAccount(t.db, admin, disabled.id, { disabled: false });
    expect(await principalsOf(disabled.clientId)).toEqual([{ roleId: role.id }]);

    // Unmanaged service-account principals (a client id Portico does not manage) are kept as given.
    const withExternal = await roles.updateRole(t.db, admin, role.id, { principals: [{ kind: "service_account", value: "external-ci" }] });
    expect(withExternal.principals.map((p) => p.value).sort()).toEqual([disabled.clientId, member.clientId, "external-ci"].sort());
  });

  it("refuses to make a service account a member of a role other than its own", async () => {
    const own = await roles.createRole(t.db, admin, { slug: "own-role", name: "Own" });
    const other = await roles.createRole(t.db, admin, { slug: "other-role", name: "Other" });
    const account = await sa.createServiceAccount(t.db, admin, { name: "loyal", portalRoleId: own.id });
    expect(await errorOf(roles.updateRole(t.db, admin, other.id, { principals: [{ kind: "group", value: "g" }, { kind: "service_account", value: account.clientId }] }))).toMatchObject({
      code: "validation_failed",
      fieldErrors: [{ field: "principals.1" }],
    });
    expect(
      await errorOf(roles.createRole(t.db, admin, { slug: "new-role", name: "New", principals: [{ kind: "service_account", value: account.clientId }] })),
    ).toMatchObject({ code: "validation_failed" });
    expect(await principalsOf(account.clientId)).toEqual([{ roleId: own.id }]);
  });
});
