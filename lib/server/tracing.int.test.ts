import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { listenAsControlPlane } from "./testing/control-plane";

/**
 * Traces across both planes, to a real OTLP/HTTP receiver (an HTTP server in this test keeping
 * what the official exporters post): an admin's API request, carrying a `traceparent`, goes
 * through the control plane's request wrapper (server.ts's) into the real route handler, which
 * saves, publishes and pushes the new version to a real gateway with tracing on; every span of
 * that, on both planes, is one trace, and the audit events written meanwhile carry its id.
 */

type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: { key: string; value: Record<string, unknown> }[] };
type OtlpExport = { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };

async function listen(server: ReturnType<typeof createServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Every span received, with the service that sent it. */
const received: Array<OtlpSpan & { service: string }> = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OtlpExport;
    for (const rs of body.resourceSpans) {
      const service = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
      for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ ...span, service });
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
const OTLP = await listen(receiver);

const GATEWAY_TOKEN = "tracing-test-gateway-token-0123456789abcdef";
const controlPlane = await listenAsControlPlane({ gatewayToken: GATEWAY_TOKEN });
const CP = controlPlane.url;

// Route handlers authenticate API tokens, as scripts call the admin API (no next-auth outside Next).
vi.mock("@/lib/server/auth/current", () => import("./testing/api-token-auth"));

const { createProcessTestDatabase } = await import("./testing/process-database");
const { createToken } = await import("./tokens");
const { publishConfig } = await import("./config-publisher");
const { startControlPlaneTracing, traceHttpRequests, currentTraceId, withSpan, routeOf } = await import("./tracing");
const { createTracing } = await import("@/gateway/tracing");
const { gatewayRoutes, startInProcessGateway } = await import("./testing/in-process-gateway");
type RouteModule = import("./testing/route-router").RouteModule;

const routes: Array<[RegExp, RouteModule]> = [...gatewayRoutes, [/^\/api\/v1\/portals\/(?<id>[^/]+)$/, await import("@/app/api/v1/portals/[id]/route")]];

type TestDb = Awaited<ReturnType<typeof createProcessTestDatabase>>;
let t: TestDb;
let tracing: Awaited<ReturnType<typeof startControlPlaneTracing>>;
let gateway: Awaited<ReturnType<typeof startInProcessGateway>>;
let adminToken: string;
let portalId: string;

beforeAll(async () => {
  t = await createProcessTestDatabase();
  portalId = (await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } })).id;
  const adminUser = await t.db.user.create({ data: { email: "admin@example.com", name: "Admin", role: "admin" } });
  const actor = { type: "user" as const, userId: adminUser.id, email: adminUser.email, name: adminUser.name, role: "admin" as const, mfa: true };
  adminToken = (await createToken(t.db, actor, { name: "tracing test", scopes: ["read", "write"], expiresInDays: 1 })).token;
  await publishConfig(t.db, "first version");

  tracing = await startControlPlaneTracing({ endpoint: OTLP, serviceName: "portico-control-plane-test" });
  // server.ts in small: its request wrapper around the route handlers Next.js would run.
  await controlPlane.serve({ routes, wrap: traceHttpRequests });
  gateway = await startInProcessGateway(t.db, { controlPlaneUrl: CP, gatewayToken: GATEWAY_TOKEN, name: "gw-traced", tracing: createTracing({ endpoint: OTLP, serviceName: "portico-gateway-test" }) });
});

afterAll(async () => {
  await gateway?.close();
  await tracing?.shutdown();
  await controlPlane.close();
  receiver.close();
  await t?.close();
});

const attr = (span: OtlpSpan, key: string) => Object.values(span.attributes.find((a) => a.key === key)?.value ?? {})[0];
const hex = (bytes: number) => randomBytes(bytes).toString("hex");

describe("traces across both planes", () => {
  it("one trace from the admin's request through publish and push to the gateway applying the version, with the trace id on the audit events", async () => {
    // The admin's tool (or a proxy in front) started the trace.
    const clientTrace = hex(16);
    const clientSpan = hex(8);
    const res = await fetch(`${CP}/api/v1/portals/${portalId}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json", traceparent: `00-${clientTrace}-${clientSpan}-01` },
      body: JSON.stringify({ name: "FinOps (traced)" }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const inTrace = () => received.filter((s) => s.traceId === clientTrace);
    // Each span is exported when it ends: the push's ends after the gateway's answer, so wait for all.
    const names = ["PATCH /api/v1/portals/{id}", "config.publish", "config.push", "POST /internal/config", "config.apply"];
    await expect.poll(() => names.filter((n) => !inTrace().some((s) => s.name === n)), { timeout: 10_000 }).toEqual([]);

    const one = (name: string) => {
      const matches = inTrace().filter((s) => s.name === name);
      expect(matches, name).toHaveLength(1);
      return matches[0]!;
    };
    const request = one("PATCH /api/v1/portals/{id}");
    expect(request).toMatchObject({ service: "portico-control-plane-test", parentSpanId: clientSpan, kind: 2 });
    await expect.poll(() => attr(one("PATCH /api/v1/portals/{id}"), "http.response.status_code"), { timeout: 5_000 }).toBe(200);
    const publish = one("config.publish");
    expect(publish.parentSpanId).toBe(request.spanId);
    expect(attr(publish, "portico.config_new")).toBe(true);
    const version = attr(publish, "portico.config_version");
    const push = one("config.push");
    expect(push.parentSpanId).toBe(publish.spanId);
    const post = one("POST /internal/config");
    expect(post).toMatchObject({ parentSpanId: push.spanId, kind: 3 });
    expect(attr(post, "portico.gateway")).toBe("gw-traced");
    // The gateway continued the control plane's trace: its span's parent is the push's client span.
    const apply = one("config.apply");
    expect(apply).toMatchObject({ service: "portico-gateway-test", parentSpanId: post.spanId, kind: 2 });
    expect(attr(apply, "http.response.status_code")).toBe(200);
    expect(attr(apply, "portico.config_version")).toBe(version);
    expect(gateway.state()?.version).toBe(version);

    // The audit events the control plane wrote for that request carry its trace id.
    const events = await t.db.auditEvent.findMany({ where: { kind: "config.change", action: { in: ["portal.update", "config.publish"] } }, orderBy: { seq: "asc" } });
    const traced = events.filter((e) => (e.data as { traceId?: string } | null)?.traceId === clientTrace).map((e) => e.action);
    expect(traced).toEqual(["portal.update", "config.publish"]);
  });

  it("starts a new trace for a request that brings none, and its audit events name that one", async () => {
    const before = received.length;
    const res = await fetch(`${CP}/api/v1/portals/${portalId}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "FinOps (traced again)" }),
    });
    expect(res.status).toBe(200);
    await expect.poll(() => received.slice(before).find((s) => s.name === "PATCH /api/v1/portals/{id}"), { timeout: 10_000 }).toBeDefined();
    const request = received.slice(before).find((s) => s.name === "PATCH /api/v1/portals/{id}")!;
    expect(request.parentSpanId ?? "").toBe("");
    const event = await t.db.auditEvent.findFirstOrThrow({ where: { action: "portal.update" }, orderBy: { seq: "desc" } });
    expect((event.data as { traceId?: string }).traceId).toBe(request.traceId);
  });

  it("names spans by route, not by id", () => {
    expect(routeOf("/api/v1/portals/cmabc123def456ghi789jkl0")).toBe("/api/v1/portals/{id}");
    expect(routeOf("/api/v1/config/versions/12/diff")).toBe("/api/v1/config/versions/{id}/diff");
    expect(routeOf("/api/v1/portals")).toBe("/api/v1/portals");
  });
});

describe("without an OTLP endpoint", () => {
  it("starts nothing, and every helper calls straight through", async () => {
    await tracing?.shutdown();
    tracing = null;
    expect(await startControlPlaneTracing({ endpoint: undefined })).toBeNull();
    const handler = () => undefined;
    expect(traceHttpRequests(handler)).toBe(handler);
    expect(await withSpan("x", {}, async (span) => span)).toBeNull();
    expect(currentTraceId()).toBeUndefined();
  });
});
