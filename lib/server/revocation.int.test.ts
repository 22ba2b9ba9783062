import { createHash, randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { freePort } from "@/gateway/testing/free-port";
import { listenAsControlPlane } from "./testing/control-plane";

/**
 * Revocation end to end, with every part real: the admin's action goes through the /api/v1 route
 * handler (or the sign-in function) into the database, the config publisher signs a new snapshot
 * and pushes it, and a real gateway, verifying tokens the real authorization server issued,
 * refuses the token in hand. Each case measures the time from the admin's request to the first
 * refusal at the gateway, which must be under a second.
 */

// The environment must be complete before any module reads it.
const GATEWAY_TOKEN = "revocation-test-gateway-token-0123456789abcdef";
const GW = `http://127.0.0.1:${await freePort()}`;
const controlPlane = await listenAsControlPlane({ gatewayUrl: GW, gatewayToken: GATEWAY_TOKEN });
const CP = controlPlane.url;
process.env.LOCKOUT_THRESHOLD = "3";

// Route handlers authenticate API tokens, as scripts call the admin API (no next-auth outside Next).
vi.mock("@/lib/server/auth/current", () => import("./testing/api-token-auth"));

const { createProcessTestDatabase } = await import("./testing/process-database");
const { systemActor } = await import("./auth/actor");
const { createToken } = await import("./tokens");
const { createUser } = await import("./users");
const { createServiceAccount } = await import("./service-accounts");
const { createOAuthClient } = await import("./oauth/registered-clients");
const { verifyLocalSignIn } = await import("./auth/local-sign-in");
const { publishConfig, startPeriodicPublish } = await import("./config-publisher");
const { REVOCATION_KEEP_MS } = await import("@/lib/config/revocations");
const { createOAuthProvider } = await import("./oauth");
const { approveAuthorizationRequest, loadAuthorizationRequest } = await import("./oauth/interactions");
const { gatewayRoutes, startInProcessGateway } = await import("./testing/in-process-gateway");
type RouteModule = import("./testing/route-router").RouteModule;

/** The routes this test calls, as the Next.js router would find them. */
const routes: Array<[RegExp, RouteModule]> = [
  ...gatewayRoutes,
  [/^\/api\/v1\/me$/, await import("@/app/api/v1/me/route")],
  [/^\/api\/v1\/service-accounts\/(?<id>[^/]+)$/, await import("@/app/api/v1/service-accounts/[id]/route")],
  [/^\/api\/v1\/service-accounts\/(?<id>[^/]+)\/rotate$/, await import("@/app/api/v1/service-accounts/[id]/rotate/route")],
  [/^\/api\/v1\/users\/(?<id>[^/]+)$/, await import("@/app/api/v1/users/[id]/route")],
  [/^\/api\/v1\/connected-clients\/(?<id>[^/]+)$/, await import("@/app/api/v1/connected-clients/[id]/route")],
  [/^\/api\/v1\/oauth-clients\/(?<id>[^/]+)$/, await import("@/app/api/v1/oauth-clients/[id]/route")],
  [/^\/api\/v1\/tokens\/(?<id>[^/]+)$/, await import("@/app/api/v1/tokens/[id]/route")],
];

type TestDb = Awaited<ReturnType<typeof createProcessTestDatabase>>;
type Provider = Awaited<ReturnType<typeof createOAuthProvider>>;
let t: TestDb;
let provider: Provider;
let gateway: Awaited<ReturnType<typeof startInProcessGateway>>;
let adminToken: string;
let roleId: string;
const PORTAL_URL = `${GW}/mcp/finops`;
const REDIRECT = "http://127.0.0.1:6274/oauth/callback";
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const admin = systemActor("test");

beforeAll(async () => {
  t = await createProcessTestDatabase();
  const portal = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  const role = await t.db.portalRole.create({ data: { slug: "analyst", name: "Analyst", grants: { create: [{ portalId: portal.id }] } } });
  roleId = role.id;
  const adminUser = await t.db.user.create({ data: { email: "admin@example.com", name: "Admin", role: "admin" } });
  const actor = { type: "user" as const, userId: adminUser.id, email: adminUser.email, name: adminUser.name, role: "admin" as const, mfa: true };
  adminToken = (await createToken(t.db, actor, { name: "revocation test", scopes: ["read", "write"], expiresInDays: 1 })).token;

  provider = await createOAuthProvider(t.db);
  await controlPlane.serve({ provider, routes });
  await publishConfig(t.db, "first version");
  gateway = await startInProcessGateway(t.db, { controlPlaneUrl: CP, gatewayUrl: GW, gatewayToken: GATEWAY_TOKEN, name: "gw-revocation" });
});

afterAll(async () => {
  await gateway?.close();
  await controlPlane.close();
  await t?.close();
});

// ---- The admin's side ----

const api = (method: string, pathname: string, body?: unknown, token = adminToken) =>
  fetch(`${CP}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function expectOk(res: Response) {
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return res;
}

// ---- Tokens, from the real authorization server ----

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

async function tokenRequest(form: Record<string, string>, authorization?: string) {
  const res = await fetch(`${CP}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...(authorization ? { authorization } : {}) },
    body: new URLSearchParams(form),
  });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as { access_token: string; refresh_token?: string };
}

const serviceAccountToken = async (clientId: string, secret: string) =>
  (await tokenRequest({ grant_type: "client_credentials", resource: PORTAL_URL }, basic(clientId, secret))).access_token;

async function newServiceAccount(name: string) {
  return createServiceAccount(t.db, admin, { name, portalRoleId: roleId });
}

/** A person connects an MCP client: authorization code with PKCE, approved as `user`. */
async function userToken(clientId: string, user: { id: string; email: string }) {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const query = new URLSearchParams({ client_id: clientId, response_type: "code", redirect_uri: REDIRECT, state: "s", scope: "mcp offline_access", code_challenge: challenge, code_challenge_method: "S256", resource: PORTAL_URL });
  const start = await fetch(`${CP}/oauth/auth?${query}`, { redirect: "manual" });
  const cookies = start.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
  const uid = (start.headers.get("location") ?? "").split("/").pop()!;
  const request = await loadAuthorizationRequest(provider, t.db, uid);
  const returnTo = await approveAuthorizationRequest(provider, t.db, { userId: user.id, email: user.email, mfa: true }, request!);
  const resume = await fetch(returnTo, { redirect: "manual", headers: { cookie: cookies } });
  const code = new URL(resume.headers.get("location")!).searchParams.get("code")!;
  return tokenRequest({ grant_type: "authorization_code", client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT, resource: PORTAL_URL });
}

async function mcpClient() {
  const created = await createOAuthClient(t.db, admin, { name: `Test CLI ${randomBytes(3).toString("hex")}`, redirectUris: [REDIRECT] });
  return created.clientId;
}

// ---- The gateway's side ----

/** One MCP request with the token: the status, and the challenge when refused. */
async function probe(token: string): Promise<{ status: number; challenge: string | null }> {
  const res = await fetch(PORTAL_URL, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "probe", version: "1" } } }),
  });
  await res.arrayBuffer();
  return { status: res.status, challenge: res.headers.get("www-authenticate") };
}

/** Lists tools through a real MCP client: the token is live. */
async function listsTools(token: string) {
  const client = new Client({ name: "revocation-test", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(PORTAL_URL), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  const { tools } = await client.listTools();
  return { client, tools };
}

/**
 * Runs the admin's action and polls the gateway until it refuses the token: milliseconds from the
 * action's start, or from `since` (epoch ms) for an end that comes by itself.
 */
async function refusedWithin(token: string, action: () => Promise<unknown>, expectedReason: string, since?: number): Promise<number> {
  const ms = await timeToRefusal(token, action, expectedReason, since);
  if (!quiet) console.log(`[${label}] ${expectedReason} -> refused at the gateway in ${ms} ms`);
  return ms;
}

let quiet = false;

async function timeToRefusal(token: string, action: () => Promise<unknown>, expectedReason: string, since?: number): Promise<number> {
  // Warm: the token verified and in the gateway's cache, so the refusal has to beat the cache.
  expect((await probe(token)).status).toBe(200);
  const started = since ?? Date.now();
  await action();
  for (;;) {
    const { status, challenge } = await probe(token);
    const elapsed = Date.now() - started;
    if (status === 401) {
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain(`error_description="the token was revoked (${expectedReason}); get a new one"`);
      return elapsed;
    }
    expect(status).toBe(200);
    if (elapsed > 5_000) throw new Error(`still accepted ${Math.round(elapsed)} ms after the action`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The bar is one second. A single trial on a shared 2-core machine can miss it by a scheduling
 * hiccup, so single trials are held to twice the bar (what this catches is a token that keeps
 * working until it expires, minutes later) and the 20-trial median to the bar itself; the measured
 * figures are printed for the record.
 */
const BAR_MS = 1_000;
const TRIAL_CEILING_MS = 2 * BAR_MS;

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: sorted[Math.floor((sorted.length - 1) / 2)]!, worst: sorted[sorted.length - 1]! };
};

describe(`revocation reaches the gateway within a second (${label})`, () => {
  it("service account disabled: the token in hand, cached at the gateway, is refused; 20 trials", async () => {
    const accounts = await Promise.all(Array.from({ length: 20 }, (_, i) => newServiceAccount(`nightly ${i}`)));
    const warmUp = await newServiceAccount("warm-up");
    await publishConfig(t.db, "accounts created");
    // One untimed round first: a running control plane has its route and publish paths compiled
    // and its queries planned; the first call of this process has not.
    await refusedWithin(await serviceAccountToken(warmUp.clientId, warmUp.clientSecret), async () => expectOk(await api("PATCH", `/api/v1/service-accounts/${warmUp.id}`, { disabled: true })), "service account disabled");
    const times: number[] = [];
    quiet = true;
    const tokens: string[] = [];
    const apiTimes: number[] = [];
    for (const account of accounts) {
      const token = await serviceAccountToken(account.clientId, account.clientSecret);
      tokens.push(token);
      times.push(
        await refusedWithin(
          token,
          async () => {
            const t0 = Date.now();
            await expectOk(await api("PATCH", `/api/v1/service-accounts/${account.id}`, { disabled: true }));
            apiTimes.push(Date.now() - t0);
          },
          "service account disabled",
        ),
      );
    }
    quiet = false;
    const { p50, worst } = stats(times);
    console.log(`[${label}] service account disabled -> refused at the gateway: p50 ${p50.toFixed(0)} ms, worst ${worst.toFixed(0)} ms (20 trials: ${times.map((ms) => ms.toFixed(0)).join(" ")}; of which the API call, publish included: ${apiTimes.join(" ")})`);
    expect(p50).toBeLessThan(BAR_MS);
    expect(worst).toBeLessThan(TRIAL_CEILING_MS);

    // A new session with the same token is refused too, and enabling again does not bring it back.
    const [first] = accounts;
    await expect(listsTools(tokens[0]!)).rejects.toThrow(/401|invalid_token|Unauthorized/i);
    await expectOk(await api("PATCH", `/api/v1/service-accounts/${first!.id}`, { disabled: false }));
    await new Promise((r) => setTimeout(r, 1_100)); // iat has whole seconds: a token from the next one
    const fresh = await serviceAccountToken(first!.clientId, first!.clientSecret);
    const { client, tools } = await listsTools(fresh);
    expect(tools).toEqual([]);
    await client.close();
  });

  it("service account disabled: an open MCP session stops on its next request", async () => {
    const account = await newServiceAccount("session holder");
    await publishConfig(t.db, "account created");
    const token = await serviceAccountToken(account.clientId, account.clientSecret);
    const { client } = await listsTools(token);
    await expectOk(await api("PATCH", `/api/v1/service-accounts/${account.id}`, { disabled: true }));
    await new Promise((r) => setTimeout(r, 1_000));
    await expect(client.listTools()).rejects.toThrow(/401|invalid_token|Unauthorized/i);
    await client.close().catch(() => undefined);
  });

  it("service account deleted", async () => {
    const account = await newServiceAccount("to delete");
    await publishConfig(t.db, "account created");
    const token = await serviceAccountToken(account.clientId, account.clientSecret);
    const ms = await refusedWithin(token, async () => expectOk(await api("DELETE", `/api/v1/service-accounts/${account.id}`)), "service account deleted");
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
  });

  it("service account expired: refused at its expiry by an entry published in advance, with no publish at that time", async () => {
    const account = await newServiceAccount("expiring");
    const token = await serviceAccountToken(account.clientId, account.clientSecret);
    // No API sets an expiry in seconds: the row is moved, as time would move it, then published once.
    const expiresAt = new Date(Date.now() + 1_500);
    await t.db.serviceAccount.update({ where: { id: account.id }, data: { expiresAt } });
    await publishConfig(t.db, "expiry moved");
    const versionBefore = (await t.db.configVersion.findFirstOrThrow({ orderBy: { version: "desc" } })).version;
    await new Promise((r) => setTimeout(r, 300));
    expect((await probe(token)).status).toBe(200);
    const ms = await refusedWithin(token, () => new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now())), "service account expired", expiresAt.getTime());
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
    expect((await t.db.configVersion.findFirstOrThrow({ orderBy: { version: "desc" } })).version).toBe(versionBefore);
  });

  it("secret rotated without grace: the old secret's tokens stop, the new secret's work", async () => {
    const account = await newServiceAccount("rotating");
    await publishConfig(t.db, "account created");
    const oldToken = await serviceAccountToken(account.clientId, account.clientSecret);
    let newSecret = "";
    const ms = await refusedWithin(
      oldToken,
      async () => {
        const res = await expectOk(await api("POST", `/api/v1/service-accounts/${account.id}/rotate`, { graceHours: 0 }));
        newSecret = ((await res.json()) as { clientSecret: string }).clientSecret;
      },
      "service account secret replaced",
    );
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
    const newToken = await serviceAccountToken(account.clientId, newSecret);
    expect(decodeJwt(newToken).portico_secret).not.toBe(decodeJwt(oldToken).portico_secret);
    expect((await probe(newToken)).status).toBe(200);
  });

  it("secret rotated with grace: the old secret's tokens work until the grace ends, then stop; the new secret's never do", async () => {
    const account = await newServiceAccount("graceful");
    await publishConfig(t.db, "account created");
    const oldToken = await serviceAccountToken(account.clientId, account.clientSecret);
    const rotated = await expectOk(await api("POST", `/api/v1/service-accounts/${account.id}/rotate`, { graceHours: 1 }));
    const newSecret = ((await rotated.json()) as { clientSecret: string }).clientSecret;
    // Minted with the old secret during its grace: named by the old secret too.
    const graceToken = await serviceAccountToken(account.clientId, account.clientSecret);
    const newToken = await serviceAccountToken(account.clientId, newSecret);
    await new Promise((r) => setTimeout(r, 300));
    for (const token of [oldToken, graceToken, newToken]) expect((await probe(token)).status).toBe(200);
    // The grace end, brought forward as time would bring it (no API sets it in seconds).
    const graceEnds = new Date(Date.now() + 1_500);
    await t.db.serviceAccount.update({ where: { id: account.id }, data: { previousSecretExpiresAt: graceEnds } });
    await publishConfig(t.db, "grace moved");
    const ms = await refusedWithin(graceToken, () => new Promise((r) => setTimeout(r, graceEnds.getTime() - Date.now())), "service account secret replaced", graceEnds.getTime());
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
    expect((await probe(oldToken)).status).toBe(401);
    expect((await probe(newToken)).status).toBe(200);
  });

  it("secret rotated again during a grace: the secret replaced twice stops at once, the one in grace goes on", async () => {
    const account = await newServiceAccount("rotating twice");
    await publishConfig(t.db, "account created");
    const first = await serviceAccountToken(account.clientId, account.clientSecret);
    const once = await expectOk(await api("POST", `/api/v1/service-accounts/${account.id}/rotate`, { graceHours: 1 }));
    const secondSecret = ((await once.json()) as { clientSecret: string }).clientSecret;
    const second = await serviceAccountToken(account.clientId, secondSecret);
    await new Promise((r) => setTimeout(r, 300));
    expect((await probe(second)).status).toBe(200);
    const ms = await refusedWithin(first, async () => expectOk(await api("POST", `/api/v1/service-accounts/${account.id}/rotate`, { graceHours: 1 })), "service account secret replaced");
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
    expect((await probe(second)).status).toBe(200);
  });

  it("user disabled", async () => {
    const user = await t.db.user.create({ data: { email: "ana@example.com", name: "Ana" } });
    const { access_token } = await userToken(await mcpClient(), user);
    const ms = await refusedWithin(access_token, async () => expectOk(await api("PATCH", `/api/v1/users/${user.id}`, { disabled: true })), "user disabled");
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
  });

  it("user removed: their MCP token is refused, and they cannot remove themselves", async () => {
    const user = await t.db.user.create({ data: { email: "gone@example.com", name: "Gone" } });
    const { access_token } = await userToken(await mcpClient(), user);
    const ms = await refusedWithin(access_token, async () => expect((await api("DELETE", `/api/v1/users/${user.id}`)).status).toBe(204), "user removed");
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
    expect(await t.db.user.findUnique({ where: { id: user.id } })).toBeNull();
    expect(await t.db.oAuthConsent.count({ where: { userId: user.id } })).toBe(0);
    const me = (await (await api("GET", "/api/v1/me")).json()) as { userId: string };
    const self = await api("DELETE", `/api/v1/users/${me.userId}`);
    expect(self.status).toBe(409);
    expect(((await self.json()) as { title: string }).title).toBe("You cannot remove your own account");
  });

  it("user locked out by failed sign-ins", async () => {
    const created = await createUser(t.db, admin, { email: "locked@example.com", name: "Lou", role: "viewer", password: "correct horse battery" });
    const lockedClient = await mcpClient();
    const { access_token, refresh_token } = await userToken(lockedClient, created);
    // Timed from the sign-in attempt that locks the account (each one checks a slow password hash).
    for (let i = 0; i < 2; i++) await verifyLocalSignIn(t.db, { email: "locked@example.com", password: "wrong password!" });
    const ms = await refusedWithin(
      access_token,
      async () => expect(await verifyLocalSignIn(t.db, { email: "locked@example.com", password: "wrong password!" })).toEqual({ ok: false, reason: "locked" }),
      "user locked",
    );
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
    // Nor can the client mint a new token with its refresh token while the lock lasts.
    const refreshed = await fetch(`${CP}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: lockedClient, refresh_token: refresh_token!, resource: PORTAL_URL }),
    });
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe("invalid_grant");
  });

  it("connected client disconnected: its access token, not only its refresh token", async () => {
    const user = await t.db.user.create({ data: { email: "dis@example.com", name: "Dis" } });
    const clientId = await mcpClient();
    const { access_token } = await userToken(clientId, user);
    const other = await userToken(await mcpClient(), user);
    expect(decodeJwt(access_token).portico_grant).toEqual(expect.any(String));
    const consent = await t.db.oAuthConsent.findFirstOrThrow({ where: { userId: user.id, clientId } });
    const ms = await refusedWithin(access_token, async () => expectOk(await api("DELETE", `/api/v1/connected-clients/${consent.id}`)), "client disconnected");
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
    // Only that connection: the same person's other client keeps working.
    expect((await probe(other.access_token)).status).toBe(200);
  });

  it("OAuth client deleted", async () => {
    const user = await t.db.user.create({ data: { email: "del@example.com", name: "Del" } });
    const clientId = await mcpClient();
    const { access_token } = await userToken(clientId, user);
    const ms = await refusedWithin(access_token, async () => expectOk(await api("DELETE", `/api/v1/oauth-clients/${clientId}`)), "client deleted");
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
  });

  it("OAuth grant revoked by the client itself (RFC 7009 on its refresh token)", async () => {
    const user = await t.db.user.create({ data: { email: "rev@example.com", name: "Rev" } });
    const clientId = await mcpClient();
    const tokens = await userToken(clientId, user);
    const ms = await refusedWithin(
      tokens.access_token,
      async () => {
        const res = await fetch(`${CP}/oauth/token/revocation`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token: tokens.refresh_token!, token_type_hint: "refresh_token", client_id: clientId }),
        });
        expect(res.status).toBe(200);
      },
      "grant revoked",
    );
    expect(ms).toBeLessThan(TRIAL_CEILING_MS);
  });

  it("admin API token revoked: checked against the database on every request, so refused at once with no revocation entry", async () => {
    const owner = await t.db.user.create({ data: { email: "script@example.com", name: "Script", role: "admin" } });
    const actor = { type: "user" as const, userId: owner.id, email: owner.email, name: owner.name, role: "admin" as const, mfa: true };
    const created = await createToken(t.db, actor, { name: "ci", scopes: ["read"], expiresInDays: 1 });
    expect((await api("GET", "/api/v1/me", undefined, created.token)).status).toBe(200);
    const entriesBefore = await t.db.revocation.count();
    await expectOk(await api("DELETE", `/api/v1/tokens/${created.id}`));
    expect((await api("GET", "/api/v1/me", undefined, created.token)).status).toBe(401);
    expect(await t.db.revocation.count()).toBe(entriesBefore);
  });
});

describe("keeping the list short", () => {
  it("drops an entry from the next snapshot once no token it could refuse is alive, and deletes its row", async () => {
    const old = new Date(Date.now() - 2 * 3_600_000);
    await t.db.revocation.create({ data: { kind: "subject", value: "long-gone", at: old, reason: "user disabled", keepUntil: new Date(old.getTime() + 3_660_000) } });
    await t.db.revocation.create({ data: { kind: "subject", value: "recent", at: new Date(), reason: "user disabled", keepUntil: new Date(Date.now() + 3_660_000) } });
    await publishConfig(t.db, "periodic republish");
    const latest = await t.db.configVersion.findFirstOrThrow({ orderBy: { version: "desc" } });
    const ids = (latest.snapshot as { revocations: Array<{ id: string }> }).revocations.map((r) => r.id);
    expect(ids).toContain("recent");
    expect(ids).not.toContain("long-gone");
    expect(await t.db.revocation.count({ where: { value: "long-gone" } })).toBe(0);
  });

  it("the periodic republish drops an entry when its time is up, and makes no version when nothing changed", async () => {
    // An entry whose last token could be alive for 400 ms more.
    const at = new Date(Date.now() - REVOCATION_KEEP_MS + 400);
    await t.db.revocation.create({ data: { kind: "client", value: "fading", at, reason: "client deleted", keepUntil: new Date(at.getTime() + REVOCATION_KEEP_MS) } });
    await publishConfig(t.db, "entry added");
    const latestIds = async () => {
      const latest = await t.db.configVersion.findFirstOrThrow({ orderBy: { version: "desc" } });
      return { version: latest.version, ids: (latest.snapshot as { revocations: Array<{ id: string }> }).revocations.map((r) => r.id) };
    };
    expect((await latestIds()).ids).toContain("fading");
    const stop = startPeriodicPublish(t.db, 100);
    try {
      const deadline = Date.now() + 5_000;
      while ((await latestIds()).ids.includes("fading")) {
        if (Date.now() > deadline) throw new Error("the expired entry was never dropped");
        await new Promise((r) => setTimeout(r, 50));
      }
      const dropped = (await latestIds()).version;
      await new Promise((r) => setTimeout(r, 600));
      expect((await latestIds()).version).toBe(dropped);
      // The gateway follows: it runs the version without the entry.
      const until = Date.now() + 2_000;
      while ((gateway.state()?.version ?? 0) < dropped && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(gateway.state()?.version).toBe(dropped);
    } finally {
      stop();
      // Queued behind any publish the timer started, so none outlives the test.
      await publishConfig(t.db, "settle");
    }
  });
});
