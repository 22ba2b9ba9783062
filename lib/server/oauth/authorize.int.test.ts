import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createTlsServer, type Server as TlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, jwtVerify } from "jose";
import { listenAsControlPlane } from "../testing/control-plane";

// The control plane's URL must be in the environment before any module reads it.
const GW = "http://127.0.0.1:4998";
const controlPlane = await listenAsControlPlane({ gatewayUrl: GW });
const CP = controlPlane.url;

const { createTestDatabase } = await import("../db/test-database");
const { systemActor } = await import("../auth/actor");
const { updateSettings } = await import("../settings");
const { createOAuthProvider, getOAuthPublicJwks, oauthIssuer } = await import(".");
const { approveAuthorizationRequest, denyAuthorizationRequest, loadAuthorizationRequest, noRoleMessage, portalAccessFor } = await import("./interactions");
const { listConnectedClients, revokeConnectedClient } = await import("./consents");
const { settingsCache } = await import("./settings-cache");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
type Provider = Awaited<ReturnType<typeof createOAuthProvider>>;
let t: TestDb;
let provider: Provider;
let user: { id: string; email: string };
const admin = systemActor("test");
const PORTAL = `${GW}/mcp/finops`;
const REDIRECT = "http://127.0.0.1:6274/oauth/callback";

// A TLS server standing in for an MCP client's website, serving its Client ID Metadata Document.
const tlsDir = path.resolve(import.meta.dirname, "../../../e2e/fixtures/tls");
const documents = new Map<string, { body: unknown; status?: number; headers?: Record<string, string> }>();
let metadataServer: TlsServer;
let metadataOrigin = "";

/** A browser's cookie jar, just enough for the provider's own cookies. */
class Jar {
  private cookies = new Map<string, string>();
  take(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      this.cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
  }
  get(name: string) {
    return this.cookies.get(name);
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

async function register(metadata: Record<string, unknown> = {}) {
  const res = await fetch(`${CP}/oauth/reg`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "Test CLI", scope: "mcp", redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], ...metadata }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

type AuthorizeOptions = { clientId: string; challenge?: string | null; method?: string | null; redirectUri?: string; resource?: string | null; scope?: string; jar?: Jar };

async function authorize(o: AuthorizeOptions) {
  const jar = o.jar ?? new Jar();
  const query = new URLSearchParams({ client_id: o.clientId, response_type: "code", redirect_uri: o.redirectUri ?? REDIRECT, state: "st-123" });
  if (o.scope !== "") query.set("scope", o.scope ?? "mcp offline_access");
  if (o.challenge !== null) query.set("code_challenge", o.challenge ?? pkce().challenge);
  if (o.method !== null) query.set("code_challenge_method", o.method ?? "S256");
  if (o.resource !== null) query.set("resource", o.resource ?? PORTAL);
  const res = await fetch(`${CP}/oauth/auth?${query}`, { redirect: "manual", headers: { cookie: jar.header() } });
  jar.take(res);
  return { res, jar, location: res.headers.get("location") ?? "" };
}

/** The whole browser leg: authorize, sign in and approve as `user`, follow back to the client's redirect. */
async function codeFor(clientId: string, options: { verifier?: string; challenge?: string; decision?: "approve" | "deny"; scope?: string } = {}) {
  const { challenge } = options.challenge ? { challenge: options.challenge } : pkce();
  const start = await authorize({ clientId, challenge, scope: options.scope });
  expect(start.res.status, start.location).toBe(303);
  const uid = start.location.split("/").pop()!;
  expect(start.location).toBe(`/oauth/interaction/${uid}`);
  expect(start.jar.get("_interaction")).toBe(uid);
  const request = await loadAuthorizationRequest(provider, t.db, uid);
  expect(request).not.toBeNull();
  const approver = { userId: user.id, email: user.email, mfa: true };
  const returnTo = options.decision === "deny" ? await denyAuthorizationRequest(t.db, approver, request!) : await approveAuthorizationRequest(provider, t.db, approver, request!);
  const resume = await fetch(returnTo, { redirect: "manual", headers: { cookie: start.jar.header() } });
  expect(resume.status).toBe(303);
  const back = new URL(resume.headers.get("location")!);
  return { back, request: request!, code: back.searchParams.get("code") };
}

async function token(form: Record<string, string>) {
  const res = await fetch(`${CP}/oauth/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const exchange = (clientId: string, code: string, verifier: string, extra: Record<string, string> = {}) =>
  token({ grant_type: "authorization_code", client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT, resource: PORTAL, ...extra });

const refresh = (clientId: string, refreshToken: string) => token({ grant_type: "refresh_token", client_id: clientId, refresh_token: refreshToken, resource: PORTAL });

async function signedIn(clientId: string) {
  const { verifier, challenge } = pkce();
  const { code } = await codeFor(clientId, { challenge });
  const res = await exchange(clientId, code!, verifier);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { access_token: string; refresh_token: string; expires_in: number; scope: string };
}

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  await t.db.portal.create({ data: { slug: "other", name: "Other" } });
  user = await t.db.user.create({ data: { email: "analyst@example.com", name: "Ana Lyst", idpGroups: ["finops-analysts"] } });
  provider = await createOAuthProvider(t.db, { settings: settingsCache(t.db) });
  await controlPlane.serve({ provider });
  metadataServer = createTlsServer({ key: readFileSync(path.join(tlsDir, "localhost.key")), cert: readFileSync(path.join(tlsDir, "localhost.pem")) }, (req, res) => {
    const doc = documents.get(req.url ?? "");
    if (!doc) return void res.writeHead(404).end();
    res.writeHead(doc.status ?? 200, { "content-type": "application/json", ...doc.headers }).end(JSON.stringify(doc.body));
  });
  await new Promise<void>((resolve) => metadataServer.listen(0, "127.0.0.1", resolve));
  metadataOrigin = `https://localhost:${(metadataServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await controlPlane.close();
  await new Promise((resolve) => metadataServer?.close(resolve));
  await t?.close();
});

describe("metadata for MCP clients", () => {
  it("advertises S256 only, CIMD, registration, revocation and the RFC 9207 iss parameter, and no implicit grant", async () => {
    const meta = (await (await fetch(`${CP}/.well-known/oauth-authorization-server/oauth`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      code_challenge_methods_supported: ["S256"],
      client_id_metadata_document_supported: true,
      registration_endpoint: `${CP}/oauth/reg`,
      revocation_endpoint: `${CP}/oauth/token/revocation`,
      authorization_response_iss_parameter_supported: true,
      response_types_supported: ["code"],
    });
    expect(meta.grant_types_supported).toEqual(expect.arrayContaining(["authorization_code", "refresh_token", "client_credentials"]));
    expect(meta.grant_types_supported).not.toContain("implicit");
    expect(meta.token_endpoint_auth_methods_supported).toContain("none");
  });
});

describe("authorization code with PKCE, for a dynamically registered client", () => {
  let clientId = "";

  beforeAll(async () => {
    const reg = await register();
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    clientId = String(reg.body.client_id);
    expect(clientId).toMatch(/^dyn_/);
  });

  it("issues a 15-minute JWT for exactly the portal, with the user's identity and groups, and a refresh token", async () => {
    const { verifier, challenge } = pkce();
    const { back, code } = await codeFor(clientId, { challenge });
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get("state")).toBe("st-123");
    expect(back.searchParams.get("iss")).toBe(oauthIssuer());
    const res = await exchange(clientId, code!, verifier);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    expect(String(res.body.scope).split(" ")).toContain("mcp");
    expect(typeof res.body.refresh_token).toBe("string");
    const { payload } = await jwtVerify(String(res.body.access_token), createLocalJWKSet(await getOAuthPublicJwks(t.db)), { issuer: oauthIssuer(), audience: PORTAL });
    expect(payload).toMatchObject({ sub: user.id, client_id: clientId, email: user.email, groups: ["finops-analysts"], amr: ["mfa"] });
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it("gives the portal's base scope to a client that asks for no scope", async () => {
    const { verifier, challenge } = pkce();
    const { code } = await codeFor(clientId, { challenge, scope: "" });
    const res = await exchange(clientId, code!, verifier);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.scope).toBe("mcp");
  });

  it("remembers the consent as a connected client, with its last use", async () => {
    const { items: mine } = await listConnectedClients(t.db, { type: "user", userId: user.id, email: user.email, name: "Ana", role: "viewer", mfa: true });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ clientId, clientName: "Test CLI", portal: "finops" });
    expect(mine[0]!.lastUsedAt).not.toBeNull();
  });

  it("refuses a request without PKCE, or with the plain method, and issues nothing", async () => {
    const missing = await authorize({ clientId, challenge: null, method: null });
    const plain = await authorize({ clientId, method: "plain" });
    for (const { res, location } of [missing, plain]) {
      expect(res.status).toBe(303);
      const back = new URL(location);
      expect(back.origin + back.pathname).toBe(REDIRECT);
      expect(back.searchParams.get("error")).toBe("invalid_request");
      expect(back.searchParams.get("code")).toBeNull();
    }
    expect(new URL(plain.location).searchParams.get("error_description")).toMatch(/S256|code_challenge_method/);
  });

  it("refuses a wrong verifier, and the code is gone after", async () => {
    const { challenge } = pkce();
    const { code } = await codeFor(clientId, { challenge });
    const wrong = await exchange(clientId, code!, pkce().verifier);
    expect(wrong).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("refuses a redirect URI that is not registered exactly, without redirecting to it", async () => {
    for (const redirectUri of ["http://127.0.0.1:6274/oauth/callback/", "http://127.0.0.1:6274/oauth/callback?x=1", "https://evil.example/cb"]) {
      const { res } = await authorize({ clientId, redirectUri });
      expect(res.status, redirectUri).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(await res.text()).toContain("redirect_uri");
    }
  });

  it("refuses an unknown client", async () => {
    const { res } = await authorize({ clientId: "dyn_nobody" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("invalid_client");
  });

  it("requires the resource on authorize and on the token request, and only portals", async () => {
    const none = await authorize({ clientId, resource: null });
    expect(new URL(none.location).searchParams.get("error")).toBe("invalid_target");
    const elsewhere = await authorize({ clientId, resource: "https://evil.example/mcp" });
    expect(new URL(elsewhere.location).searchParams.get("error")).toBe("invalid_target");

    const { verifier, challenge } = pkce();
    const { code } = await codeFor(clientId, { challenge });
    const withoutResource = await token({ grant_type: "authorization_code", client_id: clientId, code: code!, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(withoutResource).toMatchObject({ status: 400, body: { error: "invalid_target" } });
  });

  it("refuses a reused authorization code", async () => {
    const { verifier, challenge } = pkce();
    const { code } = await codeFor(clientId, { challenge });
    expect((await exchange(clientId, code!, verifier)).status).toBe(200);
    expect(await exchange(clientId, code!, verifier)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("rotates the refresh token on every use; a reused one revokes the whole family", async () => {
    const first = await signedIn(clientId);
    const second = await refresh(clientId, first.refresh_token);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    const { payload } = await jwtVerify(String(second.body.access_token), createLocalJWKSet(await getOAuthPublicJwks(t.db)), { issuer: oauthIssuer(), audience: PORTAL });
    expect(payload).toMatchObject({ sub: user.id, amr: ["mfa"] });

    // The old one again: refused, and the newest one dies with it.
    expect(await refresh(clientId, first.refresh_token)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect(await refresh(clientId, String(second.body.refresh_token))).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    const reuse = await t.db.auditEvent.findMany({ where: { kind: "auth.token", action: "token.refresh_reuse" } });
    expect(reuse.length).toBe(1);
    expect(reuse[0]).toMatchObject({ actorType: "user", actorId: user.id, outcome: "failure" });
  });

  it("revokes a refresh token at the revocation endpoint", async () => {
    const tokens = await signedIn(clientId);
    const res = await fetch(`${CP}/oauth/token/revocation`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: tokens.refresh_token, client_id: clientId }) });
    expect(res.status).toBe(200);
    expect(await refresh(clientId, tokens.refresh_token)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect(await t.db.auditEvent.count({ where: { action: "token.revoke", outcome: "success" } })).toBeGreaterThan(0);
  });

  it("revoking a connected client in the dashboard kills its refresh tokens", async () => {
    const tokens = await signedIn(clientId);
    const me = { type: "user" as const, userId: user.id, email: user.email, name: "Ana", role: "viewer" as const, mfa: true };
    const { items: [connected] } = await listConnectedClients(t.db, me);
    // Not someone else's to see or revoke.
    const stranger = { ...me, userId: "someone-else", email: "x@example.com" };
    expect((await listConnectedClients(t.db, stranger)).items).toHaveLength(0);
    await expect(revokeConnectedClient(t.db, stranger, connected!.id)).rejects.toMatchObject({ code: "not_found" });
    await revokeConnectedClient(t.db, me, connected!.id);
    expect((await listConnectedClients(t.db, me)).items).toHaveLength(0);
    expect(await refresh(clientId, tokens.refresh_token)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect(await t.db.auditEvent.count({ where: { kind: "auth.consent", action: "consent.revoke" } })).toBe(1);
  });

  it("keeps a step-up request's interaction (and the browser's resume cookie) for as long as the step-up request may stay pending", async () => {
    // Whole minutes the cookie lives (oidc-provider writes its lifetime as `expires`).
    const maxAgeOf = (res: Response, name: string) => {
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`)) ?? "";
      return Math.round((Date.parse(/expires=([^;]+)/i.exec(cookie)?.[1] ?? "") - Date.now()) / 60_000) * 60;
    };
    const plain = await authorize({ clientId, scope: "mcp" });
    expect(maxAgeOf(plain.res, "_interaction_resume")).toBe(15 * 60);
    const elevated = await authorize({ clientId, scope: "mcp mcp:elevated:write" });
    expect(elevated.res.status, elevated.location).toBe(303);
    // 15 minutes to sign in and file, then the request's 30 pending minutes.
    expect(maxAgeOf(elevated.res, "_interaction_resume")).toBe(45 * 60);
    expect(maxAgeOf(elevated.res, "_interaction")).toBe(45 * 60);
  });

  it("sends access_denied to the client when the person denies", async () => {
    const { back, code } = await codeFor(clientId, { decision: "deny" });
    expect(code).toBeNull();
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("state")).toBe("st-123");
  });

  it("tells a person with no role on the portal so, names admins to ask, and the client gets access_denied in the same words", async () => {
    const newcomer = await t.db.user.create({ data: { email: "newcomer@example.com", name: "New Comer", idpGroups: ["everyone"] } });
    await t.db.user.create({ data: { email: "root@example.com", name: "Root", role: "admin" } });
    await t.db.user.create({ data: { email: "former-admin@example.com", name: "Former", role: "admin", disabled: true } });
    const finops = await t.db.portal.findUniqueOrThrow({ where: { slug: "finops" } });
    await t.db.portalRole.create({ data: { slug: "analysts", name: "Analysts", principals: { create: [{ kind: "group", value: "finops-analysts" }] }, grants: { create: [{ portalId: finops.id }] } } });
    // Named by an IdP group, on this portal only.
    expect(await portalAccessFor(t.db, user.id, "finops")).toEqual({ hasRole: true });
    expect(await portalAccessFor(t.db, user.id, "other")).toEqual({ hasRole: false, helpers: ["root@example.com"] });
    const access = await portalAccessFor(t.db, newcomer.id, "finops");
    expect(access).toEqual({ hasRole: false, helpers: ["root@example.com"] });
    const message = noRoleMessage("FinOps", access.hasRole ? [] : access.helpers);
    expect(message).toBe("You hold no role on FinOps; ask a Portico admin for access (root@example.com).");

    // Named by email: has a role.
    await t.db.portalRole.create({ data: { slug: "newcomers", name: "Newcomers", principals: { create: [{ kind: "user", value: "NewComer@example.com" }] }, grants: { create: [{ portalId: finops.id }] } } });
    expect(await portalAccessFor(t.db, newcomer.id, "finops")).toEqual({ hasRole: true });

    const start = await authorize({ clientId });
    const uid = start.location.split("/").pop()!;
    const request = await loadAuthorizationRequest(provider, t.db, uid);
    const returnTo = await denyAuthorizationRequest(t.db, { userId: newcomer.id, email: newcomer.email, mfa: true }, request!, message);
    const resume = await fetch(returnTo, { redirect: "manual", headers: { cookie: start.jar.header() } });
    const back = new URL(resume.headers.get("location")!);
    expect(back.searchParams.get("code")).toBeNull();
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("error_description")).toBe(message);
  });

  it("can be switched off by an admin: no registration endpoint, registration refused", async () => {
    await updateSettings(t.db, admin, { oauthDynamicRegistration: false });
    try {
      await new Promise((r) => setTimeout(r, 2_100));
      const meta = (await (await fetch(`${CP}/.well-known/oauth-authorization-server/oauth`)).json()) as Record<string, unknown>;
      expect(meta.registration_endpoint).toBeUndefined();
      expect(await register()).toMatchObject({ status: 403, body: { error: "access_denied" } });
    } finally {
      await updateSettings(t.db, admin, { oauthDynamicRegistration: true });
      await new Promise((r) => setTimeout(r, 2_100));
    }
  });
});

describe("Client ID Metadata Documents", () => {
  const documentFor = (p: string, extra: Record<string, unknown> = {}) => ({
    client_id: `${metadataOrigin}${p}`,
    client_name: "Metadata CLI",
    redirect_uris: [REDIRECT],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...extra,
  });

  it("refuses loopback, link-local and private addresses unless an admin allows them", async () => {
    documents.set("/client.json", { body: documentFor("/client.json") });
    for (const clientId of [`${metadataOrigin}/client.json`, "https://127.0.0.1/client.json", "https://169.254.169.254/latest/meta-data", "https://10.1.2.3/client.json"]) {
      const { res } = await authorize({ clientId });
      expect(res.status, clientId).toBe(400);
      const text = await res.text();
      expect(text, clientId).toContain("invalid_client");
      expect(text, clientId).toMatch(/loopback|linkLocal|private/);
    }
  });

  describe("with private addresses allowed (the test's metadata server is on localhost)", () => {
    beforeAll(async () => {
      await updateSettings(t.db, admin, { oauthCimdAllowPrivate: true });
      await new Promise((r) => setTimeout(r, 2_100));
    });
    afterAll(async () => {
      await updateSettings(t.db, admin, { oauthCimdAllowPrivate: false });
    });

    it("fetches the document, names the client from it, and signs the person in", async () => {
      documents.set("/good.json", { body: documentFor("/good.json"), headers: { "cache-control": "max-age=300" } });
      const clientId = `${metadataOrigin}/good.json`;
      const { verifier, challenge } = pkce();
      const { code, request } = await codeFor(clientId, { challenge });
      expect(request.view.client).toMatchObject({ id: clientId, name: "Metadata CLI", kind: "metadata_document" });
      expect(request.view.redirectIsLoopback).toBe(true);
      const res = await exchange(clientId, code!, verifier);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    });

    it("refuses a document whose client_id is not its URL", async () => {
      documents.set("/liar.json", { body: documentFor("/someone-else.json") });
      const { res } = await authorize({ clientId: `${metadataOrigin}/liar.json` });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("client_id");
    });

    it("refuses a redirect URI the document does not list", async () => {
      documents.set("/narrow.json", { body: documentFor("/narrow.json") });
      const { res } = await authorize({ clientId: `${metadataOrigin}/narrow.json`, redirectUri: "http://127.0.0.1:9999/elsewhere" });
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
    });

    it("does not follow redirects, and honours the domain allowlist", async () => {
      documents.set("/moved.json", { body: {}, status: 302, headers: { location: `${metadataOrigin}/good.json` } });
      expect((await authorize({ clientId: `${metadataOrigin}/moved.json` })).res.status).toBe(400);
      await updateSettings(t.db, admin, { oauthCimdDomains: ["*.example.com"] });
      await new Promise((r) => setTimeout(r, 2_100));
      try {
        documents.set("/fresh.json", { body: documentFor("/fresh.json") });
        const { res } = await authorize({ clientId: `${metadataOrigin}/fresh.json` });
        expect(res.status).toBe(400);
        expect(await res.text()).toContain("allowlist");
      } finally {
        await updateSettings(t.db, admin, { oauthCimdDomains: [] });
      }
    });
  });
});

describe("signing key rotation", () => {
  it("signs new tokens with the new key while tokens signed before keep verifying", async () => {
    const { rotateOAuthSigningKeys, RETIRE_AFTER_MS } = await import("./keys");
    const reg = await register({ client_name: "Rotation CLI" });
    const clientId = String(reg.body.client_id);
    const before = await signedIn(clientId);
    const oldKid = JSON.parse(Buffer.from(before.access_token.split(".")[0]!, "base64url").toString()).kid as string;

    const { added } = await rotateOAuthSigningKeys(t.db);
    // What server.ts does when the keys change: a provider built from them.
    provider = await createOAuthProvider(t.db, { settings: settingsCache(t.db) });
    await controlPlane.serve({ provider });

    const after = await refresh(clientId, before.refresh_token);
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    const newKid = JSON.parse(Buffer.from(String(after.body.access_token).split(".")[0]!, "base64url").toString()).kid as string;
    expect(added).toContain(newKid);
    expect(newKid).not.toBe(oldKid);

    const published = (await (await fetch(`${CP}/oauth/jwks`)).json()) as { keys: { kid: string }[] };
    expect(published.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    const jwks = createLocalJWKSet(published as Parameters<typeof createLocalJWKSet>[0]);
    await expect(jwtVerify(before.access_token, jwks, { issuer: oauthIssuer(), audience: PORTAL })).resolves.toBeTruthy();
    await expect(jwtVerify(String(after.body.access_token), jwks, { issuer: oauthIssuer(), audience: PORTAL })).resolves.toBeTruthy();

    // Retired only once the newer key has been around longer than any token lives.
    const later = await rotateOAuthSigningKeys(t.db, new Date(Date.now() + RETIRE_AFTER_MS + 60_000));
    expect(later.retired).toContain(oldKid);
    expect(later.retired).not.toContain(newKid);
  });
});
