import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { listenAsControlPlane } from "./testing/control-plane";

/**
 * A service account checks on and withdraws its own step-up requests with the same
 * client-credentials token it files them with (a real token from the real authorization server,
 * through the real route handlers), and can do nothing more: not read another principal's
 * request, not list them, not withdraw them, not approve.
 */

// The environment must be complete before any module reads it.
const GW = "http://127.0.0.1:4999";
const controlPlane = await listenAsControlPlane({ gatewayUrl: GW, gatewayToken: "sa-step-up-test-gateway-token-0123456789abcdef" });
const CP = controlPlane.url;

// Route handlers authenticate API tokens, as scripts call the admin API (no next-auth outside Next).
vi.mock("@/lib/server/auth/current", () => import("./testing/api-token-auth"));

const { createProcessTestDatabase } = await import("./testing/process-database");
const { systemActor } = await import("./auth/actor");
const { createServiceAccount } = await import("./service-accounts");
const { publishConfig } = await import("./config-publisher");
const stepUp = await import("./step-up");
const { createOAuthProvider } = await import("./oauth");
type RouteModule = import("./testing/route-router").RouteModule;

const routes: Array<[RegExp, RouteModule]> = [
  [/^\/api\/v1\/step-up-requests$/, await import("@/app/api/v1/step-up-requests/route")],
  [/^\/api\/v1\/step-up-requests\/(?<id>[^/]+)$/, await import("@/app/api/v1/step-up-requests/[id]/route")],
  [/^\/api\/v1\/step-up-requests\/(?<id>[^/]+)\/withdraw$/, await import("@/app/api/v1/step-up-requests/[id]/withdraw/route")],
  [/^\/api\/v1\/step-up-requests\/(?<id>[^/]+)\/approve$/, await import("@/app/api/v1/step-up-requests/[id]/approve/route")],
];

type TestDb = Awaited<ReturnType<typeof createProcessTestDatabase>>;
let t: TestDb;
let roleId: string;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const admin = systemActor("test");

beforeAll(async () => {
  t = await createProcessTestDatabase();
  const finops = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  const ops = await t.db.portal.create({ data: { slug: "ops", name: "Ops" } });
  const role = await t.db.portalRole.create({
    data: {
      slug: "automation",
      name: "Automation",
      stepUpRiskClasses: ["write", "financial"],
      principals: { create: [{ kind: "group", value: "analysts" }] },
      grants: { create: [{ portalId: finops.id, riskClasses: ["read"] }, { portalId: ops.id, riskClasses: ["read"] }] },
    },
  });
  roleId = role.id;
  await controlPlane.serve({ provider: await createOAuthProvider(t.db), routes });
  await publishConfig(t.db, "first version");
}, 60_000);

afterAll(async () => {
  await controlPlane.close();
  await t?.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

/** A portal access token by the client-credentials grant, as the automation gets one. */
async function clientCredentialsToken(clientId: string, secret: string, portal = "finops"): Promise<string> {
  const res = await fetch(`${CP}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, secret) },
    body: new URLSearchParams({ grant_type: "client_credentials", resource: `${GW}/mcp/${portal}` }),
  });
  const body = (await res.json()) as { access_token: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.access_token;
}

const call = (token: string, method: string, pathname: string, body?: unknown) =>
  fetch(`${CP}/api/v1${pathname}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

describe(`a service account's own step-up requests, with its client-credentials token (${label})`, () => {
  it("files, reads, lists and withdraws its own request; another principal's is unknown to it and it approves nothing", async () => {
    const nightly = await createServiceAccount(t.db, admin, { name: "nightly-tagger", portalRoleId: roleId });
    const other = await createServiceAccount(t.db, admin, { name: "other-bot", portalRoleId: roleId });
    await publishConfig(t.db, "service accounts");
    const token = await clientCredentialsToken(nightly.clientId, nightly.clientSecret);

    const filed = await call(token, "POST", "/step-up-requests", { riskClass: "write", reason: "nightly tag fix-up", durationMinutes: 15 });
    expect(filed.status, await filed.clone().text()).toBe(201);
    const { id } = (await filed.json()) as { id: string };

    const read = await call(token, "GET", `/step-up-requests/${id}`);
    expect(read.status, await read.clone().text()).toBe(200);
    expect(await read.json()).toMatchObject({ id, status: "pending", requester: { kind: "service_account", id: nightly.clientId }, reason: "nightly tag fix-up" });

    // Another service account's request on the same portal, and its own on another portal's token.
    const theirs = await stepUp.fileStepUpRequest(t.db, { kind: "service_account", clientId: other.clientId, name: "other-bot" }, { portal: "finops", riskClass: "write", reason: "not yours", durationMinutes: 15 });
    const onOps = await stepUp.fileStepUpRequest(t.db, { kind: "service_account", clientId: nightly.clientId, name: "nightly-tagger" }, { portal: "ops", riskClass: "write", reason: "other portal", durationMinutes: 15 });
    expect((await call(token, "GET", `/step-up-requests/${theirs.id}`)).status).toBe(404);
    expect((await call(token, "GET", `/step-up-requests/${onOps.id}`)).status).toBe(404);

    const list = await call(token, "GET", "/step-up-requests?status=pending");
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: { id: string }[] }).items.map((r) => r.id)).toEqual([id]);

    // Nothing more than its own: no withdrawing someone else's, no approving anything.
    expect((await call(token, "POST", `/step-up-requests/${theirs.id}/withdraw`, {})).status).toBe(404);
    expect((await call(token, "POST", `/step-up-requests/${onOps.id}/withdraw`, {})).status).toBe(404);
    expect((await call(token, "POST", `/step-up-requests/${theirs.id}/approve`, {})).status).toBe(401);
    expect(await t.db.stepUpRequest.findUniqueOrThrow({ where: { id: theirs.id } })).toMatchObject({ status: "pending" });

    const withdrawn = await call(token, "POST", `/step-up-requests/${id}/withdraw`, {});
    expect(withdrawn.status, await withdrawn.clone().text()).toBe(200);
    expect(await withdrawn.json()).toMatchObject({ id, status: "withdrawn" });
    expect(await (await call(token, "GET", `/step-up-requests/${id}`)).json()).toMatchObject({ status: "withdrawn" });
    expect(await t.db.auditEvent.count({ where: { kind: "stepup.withdrawn", actorId: nightly.clientId } })).toBe(1);

    // A forged or foreign bearer is not a way in either.
    expect((await call(`${token.slice(0, -4)}AAAA`, "GET", `/step-up-requests/${id}`)).status).toBe(401);
  });
});
