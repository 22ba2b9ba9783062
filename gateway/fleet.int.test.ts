import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import { request as httpRequest } from "node:http";
import os from "node:os";
import path from "node:path";

import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";

import { startDemoServers, type RunningDemoServers } from "@/demo/servers";

import { startFakeControlPlane, type FakeControlPlane } from "./testing/fake-control-plane";
import { freePort, startGatewayProcess, type GatewayProcess } from "./testing/gateway-process";
import { GATEWAY_TOKEN } from "./testing/harness";
import { startLoadBalancer, type LoadBalancer } from "./testing/load-balancer";

// Issue 15, "A fleet behind one URL": three gateway processes (gateway/main.ts, as operators run
// them) behind one load balancer (nginx with deploy/fleet/portico-fleet.conf when installed, else a
// proxy following the same rules), one portal. The control plane's side is real where it decides
// something: the demo seed in a real database, config versions built, signed and pushed by
// lib/server (to each gateway's own address, learnt from its heartbeats), the gateways list read as
// the Gateways page reads it, audit events stored by the real ingest. Only the HTTP routes around
// them (and the OAuth server: tokens are minted here) are stand-ins.

// Before any control-plane module reads the environment.
process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
process.env.PORTICO_GATEWAY_TOKEN = GATEWAY_TOKEN;

const { createTestDatabase } = await import("@/lib/server/db/test-database");
const { seedDemo, DEMO_SERVICE_ACCOUNT_CLIENT_ID } = await import("@/prisma/seed");
const { publishConfig } = await import("@/lib/server/config-publisher");
const { latestSignedConfig, listGateways, recordHeartbeat } = await import("@/lib/server/gateways");
const { publicJwks } = await import("@/lib/server/signing-keys");
const { ingestAuditEvents } = await import("@/lib/server/audit-ingest");
const { systemActor } = await import("@/lib/server/auth/actor");
const { createPortal } = await import("@/lib/server/portals");
const { createServiceAccount, disableServiceAccount } = await import("@/lib/server/service-accounts");
const { toAppError } = await import("@/lib/server/errors");

const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const PORTAL = "finops";
const TOOL = "cost-explorer_list_accounts";
const FLEET = ["g1", "g2", "g3"] as const;
const gatewayName = (route: string) => `gw-${route.slice(1)}`;

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let demo: RunningDemoServers;
let cp: FakeControlPlane;
let lb: LoadBalancer;
let gateways: Map<string, GatewayProcess>;
let mint: (clientId?: string) => Promise<string>;
let dir: string;
const actor = systemActor("fleet test");
const clients: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  t = await createTestDatabase();
  demo = await startDemoServers({ ports: { "cost-explorer": 0, tagging: 0, budgets: 0 } });
  await seedDemo(t.db, { demoPassword: "fleet-demo-password", servers: demo.servers, serviceAccountSecret: randomBytes(24).toString("hex") });
  await publishConfig(t.db, "demo seed");

  const asKeys = await generateKeyPair("RS256", { extractable: true });
  const asJwk: JWK = { ...(await exportJWK(asKeys.publicKey)), kid: "as-1", alg: "RS256", use: "sig" };
  cp = await startFakeControlPlane({
    token: GATEWAY_TOKEN,
    configJwks: await publicJwks(t.db),
    oauthJwks: { keys: [asJwk] },
    heartbeat: async (body) => ({ status: 200, body: await recordHeartbeat(t.db, body) }),
    ingest: async (events) => {
      try {
        return { status: 200, body: await ingestAuditEvents(t.db, events) };
      } catch (error) {
        const known = toAppError(error);
        if (!known) throw error;
        return { status: known.status, body: { status: known.status, code: known.code, title: known.message, errors: known.fieldErrors } };
      }
    },
  });
  cp.latest = await latestSignedConfig(t.db);

  dir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-fleet-"));
  const lbPort = await freePort();
  const ports = await Promise.all(FLEET.map(() => freePort()));
  const publicUrl = `http://127.0.0.1:${lbPort}`;
  const portalUrl = `${publicUrl}/mcp/${PORTAL}`;
  mint = (clientId = DEMO_SERVICE_ACCOUNT_CLIENT_ID) =>
    new SignJWT({ client_id: clientId, scope: "mcp", portico_kind: "service_account" })
      .setProtectedHeader({ alg: "RS256", kid: "as-1" })
      .setSubject(clientId)
      .setIssuer(`${cp.url}/oauth`)
      .setAudience(portalUrl)
      .setIssuedAt()
      .setExpirationTime("15m")
      .sign(asKeys.privateKey);

  const started = await Promise.all(
    FLEET.map((route, i) =>
      startGatewayProcess({
        controlPlaneUrl: cp.url,
        dataDir: path.join(dir, route),
        port: ports[i]!,
        name: gatewayName(route),
        publicUrl,
        env: { PORTICO_GATEWAY_ROUTE: route, PORTICO_DEBUG: "", PORTICO_TRUSTED_PROXIES: "127.0.0.1" },
        startTimeoutMs: 60_000,
      }),
    ),
  );
  gateways = new Map(FLEET.map((route, i) => [route, started[i]!]));
  await Promise.all(started.map((g) => g.waitReady(1, 30_000)));
  // Last: a balancer that found no gateway behind it would hold that against them for a while.
  lb = await startLoadBalancer({ port: lbPort, gatewayPorts: ports, dir });
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all([...(gateways?.values() ?? [])].map((g) => g.kill("SIGKILL")));
  await lb?.close();
  await cp?.close();
  await demo?.close();
  await t?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// ---- helpers ----

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function readyzVersion(g: GatewayProcess): Promise<number | null> {
  const res = await fetch(`${g.url}/readyz`).catch(() => null);
  return res?.ok ? (((await res.json()) as { configVersion?: number }).configVersion ?? null) : null;
}

/**
 * What must reach every gateway, checked at each gateway's own address (not through the balancer,
 * which would show one of them): each config version today, and each revocation once the snapshot
 * carries them (issue 18) — a check of the same shape.
 */
async function onEveryGateway(what: string, check: (g: GatewayProcess) => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const live = [...gateways.values()].filter((g) => !g.hasExited());
  await until(what, () => Promise.all(live.map(check)), (results) => results.every(Boolean), timeoutMs);
}

function printOnFailure() {
  onTestFailed(() => {
    for (const [route, g] of gateways) console.error(`---- ${gatewayName(route)} output ----\n${g.output().slice(-10_000)}`);
    console.error(`---- load balancer (${lb.kind}) ----\n${lb.log().slice(-5_000)}`);
  });
}

/** One MCP call a client made and what it knows of it: acknowledged means the client got its result. */
type Call = { requestId: string; client: string; era: "legacy" | "stateless"; route: string | null; acknowledged: boolean; error?: string };

/** A fetch that tags every tools/call POST with an x-request-id of ours, which the gateway adopts into its audit event. */
function taggingFetch(tag: string, calls: Call[], era: Call["era"], route: () => string | null): typeof fetch {
  return async (url, init) => {
    const body = init?.method === "POST" && typeof init.body === "string" ? (JSON.parse(init.body) as { id?: unknown; method?: string }) : null;
    if (body?.method !== "tools/call") return fetch(url, init);
    const requestId = `${tag}-${calls.filter((c) => c.client === tag).length + 1}`;
    calls.push({ requestId, client: tag, era, route: route(), acknowledged: false });
    const headers = new Headers(init!.headers);
    headers.set("x-request-id", requestId);
    return fetch(url, { ...init, headers });
  };
}

type FleetClient = { tag: string; era: Call["era"]; route(): string | null; call(): Promise<void>; close(): Promise<void> };

/** A legacy (SDK 1.x, 2025-11-25) client through the balancer; its session id names its gateway. */
async function legacyClient(tag: string, calls: Call[]): Promise<FleetClient> {
  let transport: StreamableHTTPClientTransport;
  let client: Client;
  const route = () => transport.sessionId?.split(".")[0] ?? null;
  const connect = async () => {
    transport = new StreamableHTTPClientTransport(new URL(`${lb.url}/mcp/${PORTAL}`), {
      requestInit: { headers: { authorization: `Bearer ${await mint()}` } },
      fetch: taggingFetch(tag, calls, "legacy", route),
    });
    client = new Client({ name: `fleet-${tag}`, version: "1" });
    await client.connect(transport);
  };
  await connect();
  const self: FleetClient = {
    tag,
    era: "legacy",
    route,
    async call() {
      try {
        await callOnce(client as ToolCaller, calls, tag);
      } catch (error) {
        // The spec's rule for a 404 on a request with a session id: start a new session. An SDK
        // application does it as here: a new transport, initialize, and the call again.
        if (!(error instanceof StreamableHTTPError) || error.code !== 404) throw error;
        expect(error.message).toContain("Session not found");
        await client.close().catch(() => undefined);
        await connect();
        await callOnce(client as ToolCaller, calls, tag);
      }
    },
    close: () => client.close(),
  };
  clients.push(self);
  return self;
}

/** A 2026-07-28 client (SDK 2.x): no session, so any gateway will do for any request. */
async function statelessClient(tag: string, calls: Call[]): Promise<FleetClient> {
  const client = new ModernClient({ name: `fleet-${tag}`, version: "2" }, { versionNegotiation: { mode: "auto" } });
  await client.connect(
    new ModernTransport(new URL(`${lb.url}/mcp/${PORTAL}`), {
      requestInit: { headers: { authorization: `Bearer ${await mint()}` } },
      fetch: taggingFetch(tag, calls, "stateless", () => null),
    }),
  );
  expect(client.getProtocolEra()).toBe("modern");
  const self: FleetClient = { tag, era: "stateless", route: () => null, call: () => callOnce(client as ToolCaller, calls, tag), close: () => client.close() };
  clients.push(self);
  return self;
}

/** What the 1.x and 2.x clients have in common here. */
type ToolCaller = { callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<{ isError?: boolean; content?: unknown }> };

async function callOnce(client: ToolCaller, calls: Call[], tag: string): Promise<void> {
  const result = await client.callTool({ name: TOOL, arguments: {} });
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false);
  // A client makes one call at a time: the one it just made is the last it tagged.
  calls.findLast((c) => c.client === tag)!.acknowledged = true;
}

/** The stored audit events of these calls, by request id; waits until every acknowledged one is there. */
async function storedEvents(calls: Call[]): Promise<Map<string, Array<{ gateway: unknown; outcome: string }>>> {
  const ids = calls.map((c) => c.requestId);
  const acknowledged = calls.filter((c) => c.acknowledged).length;
  await until(
    `the events of ${acknowledged} acknowledged calls are stored`,
    () => t.db.auditEvent.count({ where: { requestId: { in: calls.filter((c) => c.acknowledged).map((c) => c.requestId) } } }),
    (n) => n >= acknowledged,
    20_000,
  ).catch((error: unknown) => console.error(error));
  const rows = await t.db.auditEvent.findMany({ where: { requestId: { in: ids } }, select: { requestId: true, data: true, outcome: true } });
  const byRequest = new Map<string, Array<{ gateway: unknown; outcome: string }>>();
  for (const row of rows) {
    const list = byRequest.get(row.requestId!) ?? [];
    list.push({ gateway: (row.data as { gateway?: unknown } | null)?.gateway, outcome: row.outcome });
    byRequest.set(row.requestId!, list);
  }
  return byRequest;
}

// ---- the tests ----

describe(`three gateways behind one URL (${label})`, () => {
  it("every gateway gets each config version at its own address, and the gateways list shows the three running it", async () => {
    printOnFailure();
    const pushMs: number[] = [];
    for (const slug of ["fleet-sales", "fleet-ops"]) {
      await createPortal(t.db, actor, { name: slug, slug, serverIds: [] });
      const started = performance.now();
      await publishConfig(t.db, `POST /api/v1/portals (${slug})`);
      const latest = (await latestSignedConfig(t.db))!;
      cp.latest = latest;
      await onEveryGateway(`every gateway runs config ${latest.version}`, async (g) => (await readyzVersion(g)) === latest.version);
      pushMs.push(Math.round(performance.now() - started));
      // The fleet serves it, whichever gateway answers.
      for (let i = 0; i < FLEET.length * 2; i++) {
        const res = await fetch(`${lb.url}/.well-known/oauth-protected-resource/mcp/${slug}`);
        expect(res.status).toBe(200);
        await res.text();
      }
    }
    console.info(JSON.stringify({ configPushToAllThreeMs: pushMs, balancer: lb.kind }));

    const latest = (await latestSignedConfig(t.db))!.version;
    // As the Gateways page shows them: each at its own address (where pushes go), running the latest.
    const list = await until(
      "the gateways list shows the three on the latest version",
      () => listGateways(t.db, actor),
      (rows) => rows.length === 3 && rows.every((g) => g.runningVersion === latest),
    );
    expect(list.map((g) => ({ name: g.name, url: g.url, runningVersion: g.runningVersion, isBehind: g.isBehind, isOnline: g.isOnline }))).toEqual(
      FLEET.map((route) => ({ name: gatewayName(route), url: gateways.get(route)!.url, runningVersion: latest, isBehind: false, isOnline: true })),
    );
    // Pushes reach each gateway itself: the public URL never carries them.
    const viaPublicUrl = await fetch(`${lb.url}/internal/config`, { method: "POST", headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, "content-type": "application/json" }, body: "{}" });
    expect(viaPublicUrl.status).toBe(404);
    await viaPublicUrl.text();
  });

  it("a revocation reaches all three gateways within a second: a disabled service account's live token is refused by each", async () => {
    printOnFailure();
    const account = await createServiceAccount(t.db, actor, { name: "fleet nightly report" });
    const token = await mint(account.clientId);
    // A stateless tools/list sent to one gateway's own address, as a balancer would forward it.
    const status = async (g: GatewayProcess) => {
      const res = await fetch(`${g.url}/mcp/${PORTAL}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/list",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/list",
          params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} } },
        }),
      });
      await res.text();
      return res.status;
    };
    await onEveryGateway("every gateway accepts the live token", async (g) => (await status(g)) === 200);
    // Tokens carry whole seconds: revoke from a second the token was issued before.
    await new Promise((r) => setTimeout(r, 1_100));

    const started = performance.now();
    await disableServiceAccount(t.db, actor, account.id);
    await publishConfig(t.db, `PATCH /api/v1/service-accounts/${account.id}`);
    cp.latest = (await latestSignedConfig(t.db))!;
    await onEveryGateway("every gateway refuses the revoked token", async (g) => (await status(g)) === 401, 1_000);
    console.info(JSON.stringify({ revocationToRefusalOnAllThreeMs: Math.round(performance.now() - started) }));
  });

  it("legacy sessions stay on the gateway that opened them, stateless clients need no stickiness, and each call's event arrives once, naming its gateway", async () => {
    printOnFailure();
    const calls: Call[] = [];
    // One at a time, so round robin hands the initializes to each gateway in turn.
    const legacy: FleetClient[] = [];
    for (let i = 0; i < 6; i++) legacy.push(await legacyClient(`pin-L${i}`, calls));
    const stateless = await Promise.all(Array.from({ length: 6 }, (_, i) => statelessClient(`pin-S${i}`, calls)));
    expect(new Set(legacy.map((c) => c.route()))).toEqual(new Set(FLEET));

    for (let round = 0; round < 5; round++) await Promise.all([...legacy, ...stateless].map((c) => c.call()));
    expect(calls).toHaveLength(60);
    expect(calls.every((c) => c.acknowledged)).toBe(true);

    const events = await storedEvents(calls);
    // Once each: a lost event is a missing entry, a duplicate a list of two.
    expect(calls.filter((c) => events.get(c.requestId)?.length !== 1).map((c) => c.requestId)).toEqual([]);
    for (const c of calls.filter((x) => x.era === "legacy")) expect(events.get(c.requestId)![0]!.gateway, c.requestId).toBe(gatewayName(c.route!));
    const statelessGateways = calls.filter((c) => c.era === "stateless").map((c) => events.get(c.requestId)![0]!.gateway);
    expect(new Set(statelessGateways)).toEqual(new Set(FLEET.map(gatewayName)));
    // One stateless client alone: its consecutive calls are served by different gateways, and all succeed.
    const alone = calls.length;
    for (let i = 0; i < 6; i++) await stateless[0]!.call();
    const own = await storedEvents(calls.slice(alone));
    expect(new Set(calls.slice(alone).map((c) => own.get(c.requestId)?.[0]?.gateway)).size).toBeGreaterThan(1);
  });

  it("behind the balancer, the audit trail names the client's address, not the balancer's nor one the client wrote", async () => {
    printOnFailure();
    const requestId = `xff-${randomUUID()}`;
    const token = await mint();
    // From 127.0.0.2, which the gateways do not trust: only the balancer (127.0.0.1) is a proxy to them.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${lb.url}/mcp/${PORTAL}`,
        {
          method: "POST",
          localAddress: "127.0.0.2",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            "x-request-id": requestId,
            "x-forwarded-for": "198.51.100.66",
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
    });
    expect(status).toBeGreaterThanOrEqual(200);
    const event = await until("the request's audit event is stored", () => t.db.auditEvent.findFirst({ where: { requestId }, select: { sourceIp: true } }), (row) => row !== null);
    expect(event!.sourceIp).toBe("127.0.0.2");
  });

  it("stopping one gateway mid-traffic: no acknowledged call loses its event, stateless clients go on through the others, legacy ones get 404 Session not found and re-initialize", async () => {
    printOnFailure();
    const calls: Call[] = [];
    const legacy: FleetClient[] = [];
    for (let i = 0; i < 6; i++) legacy.push(await legacyClient(`stop-L${i}`, calls));
    const stateless = await Promise.all(Array.from({ length: 6 }, (_, i) => statelessClient(`stop-S${i}`, calls)));
    const pinnedToStopped = legacy.filter((c) => c.route() === "g2").map((c) => c.tag);
    expect(pinnedToStopped.length).toBeGreaterThan(0);

    const stopped = gateways.get("g2")!;
    const failures: Array<{ client: string; at: number; error: string }> = [];
    const trafficUntil = { value: Infinity };
    const loops = [...legacy, ...stateless].map(async (c) => {
      while (Date.now() < trafficUntil.value) {
        const at = Date.now();
        await c.call().catch((error: unknown) => failures.push({ client: c.tag, at, error: error instanceof Error ? error.message.slice(0, 200) : String(error) }));
      }
    });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await stopped.kill("SIGTERM")).code).toBe(0);
    trafficUntil.value = Date.now() + 2_000;
    await Promise.all(loops);

    // Every call succeeded: those in flight finished on the stopping gateway (it drains before it
    // closes), later stateless ones went to the others, and legacy ones after their one 404 and a
    // new session (inside call()).
    expect(failures).toEqual([]);
    for (const tag of pinnedToStopped) {
      const client = legacy.find((c) => c.tag === tag)!;
      expect(client.route(), `${tag} re-initialized on another gateway`).not.toBe("g2");
      const after = calls.filter((c) => c.client === tag && c.acknowledged && c.route !== "g2");
      expect(after.length, `${tag} called again after the stop`).toBeGreaterThan(0);
    }
    for (const s of stateless) expect(calls.some((c) => c.client === s.tag && c.acknowledged)).toBe(true);

    // Every acknowledged call's event arrives exactly once, those the stopped gateway served
    // included (its spool was delivered before it exited); an unacknowledged one at most once.
    const events = await storedEvents(calls);
    const acknowledged = calls.filter((c) => c.acknowledged);
    expect(acknowledged.filter((c) => events.get(c.requestId)?.length !== 1).map((c) => ({ ...c, events: events.get(c.requestId) }))).toEqual([]);
    expect(calls.filter((c) => (events.get(c.requestId)?.length ?? 0) > 1).map((c) => c.requestId)).toEqual([]);
    const servedByStopped = acknowledged.filter((c) => events.get(c.requestId)![0]!.gateway === gatewayName("g2"));
    expect(servedByStopped.length).toBeGreaterThan(0);
    expect(stopped.logs().some((l) => l.msg === "audit events left in the spool at shutdown")).toBe(false);
    console.info(
      JSON.stringify({
        calls: calls.length,
        acknowledged: acknowledged.length,
        servedByStoppedGateway: servedByStopped.length,
        failed: failures,
        legacyClientsReinitialized: pinnedToStopped.length,
      }),
    );
  });
});
