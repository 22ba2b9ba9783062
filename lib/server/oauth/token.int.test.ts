import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { listenAsControlPlane } from "../testing/control-plane";

// The control plane's URL must be in the environment before any module reads it.
const GW = "http://127.0.0.1:4999";
const controlPlane = await listenAsControlPlane({ gatewayUrl: GW });
const CP = controlPlane.url;

const { createTestDatabase } = await import("../db/test-database");
const { systemActor } = await import("../auth/actor");
const { createServiceAccount, rotateServiceAccountSecret, updateServiceAccount } = await import("../service-accounts");
const { createOAuthProvider, getOAuthPublicJwks, oauthIssuer, oauthJwksUri } = await import(".");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const admin = systemActor("test");
const PORTAL = `${GW}/mcp/finops`;
let account: { id: string; clientId: string; clientSecret: string };

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

async function token(form: Record<string, string>, auth?: string) {
  const res = await fetch(`${CP}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(auth ? { authorization: auth } : {}) },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const clientCredentials = (resource?: string, secret = account.clientSecret, clientId = account.clientId) =>
  token({ grant_type: "client_credentials", ...(resource ? { resource } : {}) }, basic(clientId, secret));

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  await t.db.portal.create({ data: { slug: "other", name: "Other" } });
  await t.db.portal.create({ data: { slug: "elsewhere", name: "Elsewhere" } });
  const finops = await t.db.portal.findUniqueOrThrow({ where: { slug: "finops" } });
  const other = await t.db.portal.findUniqueOrThrow({ where: { slug: "other" } });
  const role = await t.db.portalRole.create({ data: { slug: "analyst", name: "Analyst", grants: { create: [{ portalId: finops.id }, { portalId: other.id }] } } });
  account = await createServiceAccount(t.db, admin, { name: "nightly report", portalRoleId: role.id });
  const provider = await createOAuthProvider(t.db);
  await controlPlane.serve({ provider });
});

afterAll(async () => {
  await controlPlane.close();
  await t?.close();
});

describe("authorization server metadata", () => {
  it("is served at the RFC 8414 path-inserted URL with the S256-only PKCE method", async () => {
    const res = await fetch(`${CP}/.well-known/oauth-authorization-server/oauth`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      issuer: `${CP}/oauth`,
      token_endpoint: `${CP}/oauth/token`,
      jwks_uri: `${CP}/oauth/jwks`,
      code_challenge_methods_supported: ["S256"],
    });
    expect(meta.grant_types_supported).toContain("client_credentials");
    expect(meta.token_endpoint_auth_methods_supported).toContain("client_secret_basic");
    expect(meta.token_endpoint_auth_methods_supported).not.toContain("client_secret_post");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  it("is served at the OIDC discovery URLs, inserted and appended", async () => {
    for (const url of [`${CP}/.well-known/openid-configuration/oauth`, `${CP}/oauth/.well-known/openid-configuration`]) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      expect(await res.json()).toMatchObject({ issuer: `${CP}/oauth`, code_challenge_methods_supported: ["S256"] });
    }
  });

  it("publishes only public keys, and keeps them across provider restarts", async () => {
    const jwks = (await (await fetch(`${CP}/oauth/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) expect(key).not.toHaveProperty("d");
    const again = await createOAuthProvider(t.db);
    expect(again.issuer).toBe(`${CP}/oauth`);
    const stored = await t.db.setting.findUniqueOrThrow({ where: { key: "oauth.jwks" } });
    expect(JSON.stringify(stored.value)).not.toContain('"d"');
  });
});

describe("what other code reads of the authorization server", () => {
  it("exports the issuer, the JWKS URL and the public JWKS it serves", async () => {
    expect(oauthIssuer()).toBe(`${CP}/oauth`);
    expect(oauthJwksUri()).toBe(`${CP}/oauth/jwks`);
    const exported = await getOAuthPublicJwks(t.db);
    const served = (await (await fetch(oauthJwksUri())).json()) as { keys: { kid: string; alg: string }[] };
    expect(exported.keys.map((k) => k.kid).sort()).toEqual(served.keys.map((k) => k.kid).sort());
    expect(exported.keys.map((k) => k.alg).sort()).toEqual(["ES256", "EdDSA"]);
    for (const key of exported.keys) expect(key).not.toHaveProperty("d");
  });
});

describe("client credentials for service accounts", () => {
  it("issues a 15-minute JWT for exactly the portal named by `resource`", async () => {
    const res = await clientCredentials(PORTAL);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: "Bearer", expires_in: 900, scope: "mcp" });
    const jwt = String(res.body.access_token);
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
    const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(`${CP}/oauth/jwks`)), { issuer: `${CP}/oauth`, audience: PORTAL });
    expect(payload.aud).toBe(PORTAL);
    // Offline, as a gateway does: the exported keys and issuer verify the same token.
    const offline = await jwtVerify(jwt, createLocalJWKSet(await getOAuthPublicJwks(t.db)), { issuer: oauthIssuer(), audience: PORTAL });
    expect(offline.payload.sub).toBe(account.clientId);
    // Good at this portal only.
    await expect(jwtVerify(jwt, createLocalJWKSet(await getOAuthPublicJwks(t.db)), { issuer: oauthIssuer(), audience: `${GW}/mcp/other` })).rejects.toThrow();
    expect(payload).toMatchObject({ iss: `${CP}/oauth`, sub: account.clientId, client_id: account.clientId, scope: "mcp", portico_kind: "service_account" });
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it("records the issue in the audit log and the account's last use", async () => {
    const events = await t.db.auditEvent.findMany({ where: { kind: "auth.token", actorId: account.clientId, outcome: "success" } });
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ actorType: "service_account", portal: "finops", targetId: PORTAL });
    expect(JSON.stringify(events, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(account.clientSecret);
    const row = await t.db.serviceAccount.findUniqueOrThrow({ where: { id: account.id } });
    expect(row.lastUsedAt).not.toBeNull();
  });

  it("refuses a request without `resource`", async () => {
    const res = await clientCredentials();
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_target");
  });

  it("refuses a portal where the account holds no role", async () => {
    const res = await clientCredentials(`${GW}/mcp/elsewhere`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_target", error_description: "this service account holds no role on that portal" });
    expect(res.body.access_token).toBeUndefined();
  });

  it("refuses a resource that is not a portal URL", async () => {
    for (const resource of [`${GW}/mcp/unknown`, `${GW}/mcp/finops/`, `${GW}/mcp/finops?x=1`, "https://evil.example/mcp/finops", `${GW}/mcp/`]) {
      const res = await clientCredentials(resource);
      expect(res.status, resource).toBe(400);
      expect(res.body.error, resource).toBe("invalid_target");
    }
    const failures = await t.db.auditEvent.count({ where: { kind: "auth.token", outcome: "failure", actorId: account.clientId } });
    expect(failures).toBeGreaterThan(0);
  });

  it("refuses a wrong secret, an unknown client and the stored hash itself", async () => {
    expect(await clientCredentials(PORTAL, "sas_wrong")).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(await clientCredentials(PORTAL, account.clientSecret, "sa_doesnotexist")).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(await clientCredentials(PORTAL, account.clientSecret, "not-a-service-account")).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect((await token({ grant_type: "client_credentials", resource: PORTAL }, "Basic %%%")).status).toBe(400);
    const failed = await clientCredentials(PORTAL, "sas_wrong");
    expect(JSON.stringify(failed.body)).not.toContain("sas_wrong");
    const { secretHash } = await t.db.serviceAccount.findUniqueOrThrow({ where: { id: account.id } });
    expect(await clientCredentials(PORTAL, secretHash)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    // client_secret_post is not offered: a secret (or the stored hash) in the body authenticates nothing.
    const posted = await token({ grant_type: "client_credentials", resource: PORTAL, client_id: account.clientId, client_secret: secretHash });
    expect(posted.status).toBe(401);
    expect(posted.body.error).toBe("invalid_client");
  });

  it("keeps the previous secret working during the rotation grace period only", async () => {
    const rotated = await rotateServiceAccountSecret(t.db, admin, account.id, { graceHours: 24 });
    expect((await clientCredentials(PORTAL, rotated.clientSecret)).status).toBe(200);
    expect((await clientCredentials(PORTAL, account.clientSecret)).status).toBe(200);
    await t.db.serviceAccount.update({ where: { id: account.id }, data: { previousSecretExpiresAt: new Date(Date.now() - 1000) } });
    expect(await clientCredentials(PORTAL, account.clientSecret)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect((await clientCredentials(PORTAL, rotated.clientSecret)).status).toBe(200);

    // Without a grace period the replaced secret stops at once.
    const abrupt = await rotateServiceAccountSecret(t.db, admin, account.id, { graceHours: 0 });
    expect(await clientCredentials(PORTAL, rotated.clientSecret)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect((await clientCredentials(PORTAL, abrupt.clientSecret)).status).toBe(200);
    account = { ...account, clientSecret: abrupt.clientSecret };
  });

  it("refuses a disabled or expired account", async () => {
    await updateServiceAccount(t.db, admin, account.id, { disabled: true });
    expect(await clientCredentials(PORTAL)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    await updateServiceAccount(t.db, admin, account.id, { disabled: false });
    expect((await clientCredentials(PORTAL)).status).toBe(200);
    await t.db.serviceAccount.update({ where: { id: account.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await clientCredentials(PORTAL)).toMatchObject({ status: 401, body: { error: "invalid_client" } });
  });
});

describe("the demo's service account", () => {
  it("gets tokens with the secret the seed was given, across re-seeds", async () => {
    const { seedDemo, DEMO_SERVICE_ACCOUNT_CLIENT_ID } = await import("@/prisma/seed");
    const first = "demo-secret-0123456789abcdef-0123456789abcdef";
    const seeded = await seedDemo(t.db, { demoPassword: "demo-password-123", servers: [], sync: false, serviceAccountSecret: first });
    expect(seeded).toEqual({ portalSlug: "finops", serviceAccountClientId: DEMO_SERVICE_ACCOUNT_CLIENT_ID });
    const res = await clientCredentials(PORTAL, first, DEMO_SERVICE_ACCOUNT_CLIENT_ID);
    expect(res.status).toBe(200);
    const role = await t.db.portalRole.findUniqueOrThrow({ where: { slug: "finops-analyst" }, include: { principals: true } });
    expect(role.principals).toContainEqual(expect.objectContaining({ kind: "service_account", value: DEMO_SERVICE_ACCOUNT_CLIENT_ID }));

    // A restart with another secret: the printed one works, the old one no longer.
    const second = "demo-secret-second-0123456789abcdef-0123456789";
    await seedDemo(t.db, { demoPassword: "demo-password-123", servers: [], sync: false, serviceAccountSecret: second });
    expect((await clientCredentials(PORTAL, second, DEMO_SERVICE_ACCOUNT_CLIENT_ID)).status).toBe(200);
    expect((await clientCredentials(PORTAL, first, DEMO_SERVICE_ACCOUNT_CLIENT_ID)).status).toBe(401);
    expect(await t.db.serviceAccount.count({ where: { clientId: DEMO_SERVICE_ACCOUNT_CLIENT_ID } })).toBe(1);

    // Without a secret, no account is seeded or reported.
    expect(await seedDemo(t.db, { demoPassword: "demo-password-123", servers: [], sync: false })).toEqual({ portalSlug: "finops" });
  });
});
