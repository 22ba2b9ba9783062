import { expect, request as playwrightRequest, test } from "@playwright/test";
import { operations } from "../lib/api/operations";
import { E2E_BASE_URL, type Persona } from "./fixtures/constants";
import { signInApi, tokenFor } from "./fixtures/session";

/**
 * Every /api/v1 route × every dashboard role, and anonymous. The expected sets are written out
 * here, independently of lib/auth/permissions.ts, so a change of rights shows up as a failing
 * test that someone has to agree with.
 */
const ALL: Persona[] = ["admin", "approver", "auditor", "viewer"];
const expected: Record<string, Persona[]> = {
  "GET /servers": ALL,
  "POST /servers": ["admin"],
  "GET /servers/{id}": ALL,
  "PATCH /servers/{id}": ["admin"],
  "DELETE /servers/{id}": ["admin"],
  "POST /servers/{id}/sync": ["admin"],
  "GET /tools": ALL,
  "GET /tools/{id}": ALL,
  "PATCH /tools/{id}": ["admin"],
  "POST /tools/{id}/accept": ["admin"],
  "GET /portals": ALL,
  "POST /portals": ["admin"],
  "GET /portals/{id}": ALL,
  "PATCH /portals/{id}": ["admin"],
  "DELETE /portals/{id}": ["admin"],
  "PUT /portals/{id}/servers": ["admin"],
  "GET /portals/{id}/tools": ALL,
  "PATCH /portals/{id}/tools/{toolId}": ["admin"],
  "GET /portals/{id}/catalog": ALL,
  "PATCH /portals/{id}/catalog": ["admin"],
  "GET /roles": ALL,
  "POST /roles": ["admin"],
  "GET /roles/{id}": ALL,
  "PATCH /roles/{id}": ["admin"],
  "DELETE /roles/{id}": ["admin"],
  "GET /service-accounts": ALL,
  "POST /service-accounts": ["admin"],
  "GET /service-accounts/{id}": ALL,
  "PATCH /service-accounts/{id}": ["admin"],
  "DELETE /service-accounts/{id}": ["admin"],
  "POST /service-accounts/{id}/rotate": ["admin"],
  "GET /users": ["admin", "auditor"],
  "POST /users": ["admin"],
  "GET /users/{id}": ["admin", "auditor"],
  "PATCH /users/{id}": ["admin"],
  "DELETE /users/{id}": ["admin"],
  "GET /tokens": ALL,
  "POST /tokens": ALL,
  "DELETE /tokens/{id}": ALL,
  "GET /connected-clients": ALL,
  "DELETE /connected-clients/{id}": ALL,
  "GET /oauth-clients": ["admin"],
  "POST /oauth-clients": ["admin"],
  "DELETE /oauth-clients/{id}": ["admin"],
  "GET /settings": ["admin", "auditor"],
  "PATCH /settings": ["admin"],
  "POST /gateways/{id}/replay-dead-letters": ["admin"],
  "POST /settings/oauth-keys/rotate": ["admin"],
  "GET /config-versions": ["admin", "auditor"],
  "GET /config-versions/{id}": ["admin", "auditor"],
  "GET /config-versions/{id}/diff": ["admin", "auditor"],
  "GET /config-versions/{id}/rollback": ["admin"],
  "POST /config-versions/{id}/rollback": ["admin"],
  "GET /config/export": ["admin", "auditor"],
  "POST /config/import": ["admin"],
  "POST /policy/explain": ["admin", "auditor"],
  "POST /policy/simulate": ["admin", "auditor"],
  "GET /alerts": ["admin", "approver", "auditor"],
  "GET /alerts/{id}": ["admin", "approver", "auditor"],
  "POST /alerts/{id}/acknowledge": ["admin", "approver", "auditor"],
  "POST /alerts/{id}/resolve": ["admin", "approver", "auditor"],
  "POST /alerts/{id}/snooze": ["admin", "approver", "auditor"],
  "GET /alert-rules": ["admin", "approver", "auditor"],
  "POST /alert-rules": ["admin"],
  "PATCH /alert-rules/{id}": ["admin"],
  "DELETE /alert-rules/{id}": ["admin"],
  "GET /alert-channels": ["admin", "approver", "auditor"],
  "POST /alert-channels": ["admin"],
  "PATCH /alert-channels/{id}": ["admin"],
  "DELETE /alert-channels/{id}": ["admin"],
  "POST /alert-channels/{id}/test": ["admin"],
  "GET /dashboards/traffic": ["admin", "auditor"],
  "GET /dashboards/cost-attribution": ["admin", "auditor"],
  "GET /settings/dlp": ["admin", "auditor"],
  "PUT /settings/dlp": ["admin"],
  "POST /settings/dlp/test": ["admin", "auditor"],
  "GET /audit-events": ALL,
  "GET /audit-events/facets": ALL,
  "GET /audit-events/export": ALL,
  "POST /audit-events/verify": ["admin", "auditor"],
  "GET /audit-events/{id}": ALL,
  "GET /audit-verifications": ["admin", "auditor"],
  "POST /audit-verifications": ["admin", "auditor"],
  "GET /audit-verifications/{id}": ["admin", "auditor"],
  "POST /audit-verifications/{id}/cancel": ["admin", "auditor"],
  "GET /audit-retention": ["admin", "auditor"],
  "POST /audit-retention/purge": ["admin"],
  "GET /log-destinations": ["admin", "auditor"],
  "POST /log-destinations": ["admin"],
  "PATCH /log-destinations/{id}": ["admin"],
  "DELETE /log-destinations/{id}": ["admin"],
  "GET /me": ALL,
  "GET /me/attention": ALL,
  "GET /step-up-requests": ALL,
  "POST /step-up-requests": ALL,
  "GET /step-up-requests/{id}": ALL,
  "POST /step-up-requests/{id}/approve": ["admin", "approver"],
  "POST /step-up-requests/{id}/deny": ["admin", "approver"],
  "POST /step-up-requests/{id}/withdraw": ALL,
  "GET /elevated-grants": ["admin", "approver", "auditor"],
  "GET /elevated-grants/{id}": ["admin", "approver", "auditor"],
  "POST /elevated-grants/{id}/revoke": ["admin", "approver"],
};

test("the matrix covers exactly the routes the API has", () => {
  expect(Object.keys(expected).sort()).toEqual(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort());
});

test("each role reaches exactly its routes; anonymous reaches none", async () => {
  const tokens = {} as Record<Persona, string>;
  for (const persona of ALL) {
    const ctx = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });
    tokens[persona] = await tokenFor(ctx, persona);
    await ctx.dispose();
  }
  const api = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });

  // Ids that do not exist and bodies that do not validate: an allowed caller gets 404 or 422,
  // a forbidden one 403, and nothing is changed either way.
  const call = (method: string, path: string, token?: string) =>
    api.fetch(`/api/v1${path.replace(/\{\w+\}/g, "does-not-exist")}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(method === "GET" || method === "DELETE" ? {} : { data: { unknownField: true, name: "" } }),
    });

  const failures: string[] = [];
  for (const op of operations) {
    const key = `${op.method.toUpperCase()} ${op.path}`;
    const anonymous = await call(op.method.toUpperCase(), op.path);
    if (anonymous.status() !== 401) failures.push(`${key} anonymous → ${anonymous.status()}, expected 401`);
    for (const persona of ALL) {
      const res = await call(op.method.toUpperCase(), op.path, tokens[persona]);
      const allowed = expected[key]!.includes(persona);
      const status = res.status();
      if (allowed ? status === 401 || status === 403 || status >= 500 : status !== 403) {
        failures.push(`${key} as ${persona} → ${status}, expected ${allowed ? "allowed" : "403"}`);
      }
      if (status >= 400) expect(res.headers()["content-type"]).toContain("application/problem+json");
    }
  }
  expect(failures).toEqual([]);
  await api.dispose();
});

test("a read-only token cannot write even for an admin", async () => {
  const ctx = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });
  const token = await tokenFor(ctx, "admin", ["read"]);
  const api = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  expect((await api.get("/api/v1/servers")).status()).toBe(200);
  const refused = await api.post("/api/v1/portals", { data: { slug: "ro-test", name: "RO" } });
  expect(refused.status()).toBe(403);
  expect(((await refused.json()) as { title: string }).title).toBe("This API token lacks the `write` scope");
  await Promise.all([ctx.dispose(), api.dispose()]);
});

test("a revoked or garbage token is refused", async () => {
  const ctx = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });
  const token = await tokenFor(ctx, "viewer");
  const list = (await (await ctx.get("/api/v1/tokens")).json()) as { items: { id: string; prefix: string }[] };
  const mine = list.items.find((t) => token.startsWith(t.prefix))!;
  expect((await ctx.delete(`/api/v1/tokens/${mine.id}`)).status()).toBe(204);
  const api = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });
  for (const bad of [token, "ptk_garbage", "not-a-token"]) {
    const res = await api.get("/api/v1/me", { headers: { authorization: `Bearer ${bad}` } });
    expect(res.status(), bad.slice(0, 8)).toBe(401);
  }
  await Promise.all([ctx.dispose(), api.dispose()]);
});

test("the OpenAPI document is served and lists every operation", async ({ request }) => {
  const res = await request.get("/api/v1/openapi.json");
  expect(res.status()).toBe(200);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.values(doc.paths).reduce((n, m) => n + Object.keys(m).length, 0)).toBe(operations.length);
});

test("a cookie-authenticated write from another site is refused", async ({ request }) => {
  await signInApi(request, "admin@portico.local");
  const res = await request.post("/api/v1/portals", {
    data: { slug: "csrf-test", name: "CSRF" },
    headers: { origin: "https://evil.example" },
  });
  expect(res.status()).toBe(403);
  expect((await request.get("/api/v1/portals?q=csrf-test").then((r) => r.json())).items).toHaveLength(0);
  const page = await request.get("/sign-in");
  expect(page.headers()["x-frame-options"]).toBe("DENY");
});
