import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Before any module reads the environment.
process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
const TOKEN = "publisher-test-gateway-token-0123456789abcdef";
process.env.PORTICO_GATEWAY_TOKEN = TOKEN;

const { createTestDatabase } = await import("./db/test-database");
const { systemActor } = await import("./auth/actor");
const portals = await import("./portals");
const { changesConfig, publishConfig } = await import("./config-publisher");
const { listGateways, recordHeartbeat } = await import("./gateways");
const { publicJwks } = await import("./signing-keys");
const { verifySnapshot } = await import("@/lib/config/signing");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let gateway: http.Server;
let gatewayUrl: string;
/** What the stand-in gateway received, and how it answers next. */
const received: Array<{ authorization: string | undefined; body: { version: number; jws: string } }> = [];
let failuresToSimulate = 0;

beforeAll(async () => {
  t = await createTestDatabase();
  gateway = http.createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/internal/config") return void res.writeHead(404).end();
      if (failuresToSimulate > 0) {
        failuresToSimulate--;
        return void res.writeHead(503).end();
      }
      received.push({ authorization: req.headers.authorization, body: JSON.parse(text) as { version: number; jws: string } });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => gateway.close(() => resolve()));
  await t?.close();
});

async function until<T>(read: () => T, ok: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("publishing config after a change", () => {
  it("knows which API writes change what gateways serve", () => {
    expect(changesConfig("PATCH", "/api/v1/portals/p1/tools/t1")).toBe(true);
    expect(changesConfig("POST", "/api/v1/servers")).toBe(true);
    expect(changesConfig("DELETE", "/api/v1/roles/r1")).toBe(true);
    expect(changesConfig("POST", "/api/v1/service-accounts/s1/rotate")).toBe(true);
    // Ending someone's access publishes a revocation.
    expect(changesConfig("PATCH", "/api/v1/users/u1")).toBe(true);
    expect(changesConfig("DELETE", "/api/v1/connected-clients/c1")).toBe(true);
    expect(changesConfig("DELETE", "/api/v1/oauth-clients/pc_1")).toBe(true);
    expect(changesConfig("GET", "/api/v1/portals")).toBe(false);
    expect(changesConfig("POST", "/api/v1/tokens")).toBe(false);
    expect(changesConfig("POST", "/api/v1/serverstuff")).toBe(false);
  });

  it("publishes a signed version and pushes it to every registered gateway, retrying when it is down", async () => {
    await recordHeartbeat(t.db, { name: "gw-1", url: gatewayUrl, runningVersion: null });
    await portals.createPortal(t.db, systemActor("test"), { name: "FinOps", slug: "finops", serverIds: [] });
    failuresToSimulate = 2;

    await publishConfig(t.db, "POST /api/v1/portals by admin@test");

    const [push] = await until(() => received, (r) => r.length === 1);
    expect(push!.authorization).toBe(`Bearer ${TOKEN}`);
    const snapshot = await verifySnapshot(push!.body.jws, await publicJwks(t.db));
    expect(snapshot.version).toBe(push!.body.version);
    expect(snapshot.portals.map((p) => p.slug)).toEqual(["finops"]);
    expect(failuresToSimulate).toBe(0);
  });

  it("publishes nothing new, and pushes nothing, when the config says the same", async () => {
    const before = await t.db.configVersion.count();
    await publishConfig(t.db, "PATCH /api/v1/settings by admin@test");
    await new Promise((r) => setTimeout(r, 200));
    expect(await t.db.configVersion.count()).toBe(before);
    expect(received).toHaveLength(1);
  });

  it("shows a gateway as behind until it reports the latest version", async () => {
    await portals.createPortal(t.db, systemActor("test"), { name: "Sales", slug: "sales", serverIds: [] });
    await publishConfig(t.db, "POST /api/v1/portals by admin@test");
    const latest = (await until(() => received, (r) => r.length === 2))[1]!.body.version;

    const behind = await listGateways(t.db, systemActor("test"));
    expect(behind).toMatchObject([{ name: "gw-1", runningVersion: null, latestVersion: latest, isBehind: true, isOnline: true }]);
    await recordHeartbeat(t.db, { name: "gw-1", url: gatewayUrl, runningVersion: latest });
    expect(await listGateways(t.db, systemActor("test"))).toMatchObject([{ runningVersion: latest, isBehind: false }]);
  });

  it("shows a gateway offline after three missed heartbeats, and back with its restart once it reports again", async () => {
    const firstStart = new Date(Date.now() - 3_600_000).toISOString();
    await recordHeartbeat(t.db, { name: "gw-1", url: gatewayUrl, runningVersion: 1, startedAt: firstStart });
    await t.db.gateway.update({ where: { name: "gw-1" }, data: { createdAt: new Date(Date.now() - 7_200_000) } });
    expect(await listGateways(t.db, systemActor("test"))).toMatchObject([{ isOnline: true, startedAt: firstStart, hasRestartedRecently: false }]);

    // Killed: no heartbeat for 31 s.
    await t.db.gateway.update({ where: { name: "gw-1" }, data: { lastSeenAt: new Date(Date.now() - 31_000) } });
    expect(await listGateways(t.db, systemActor("test"))).toMatchObject([{ isOnline: false }]);

    // Restarted: the new process reports its own start.
    const restart = new Date().toISOString();
    await recordHeartbeat(t.db, { name: "gw-1", url: gatewayUrl, runningVersion: 1, startedAt: restart });
    expect(await listGateways(t.db, systemActor("test"))).toMatchObject([{ isOnline: true, startedAt: restart, hasRestartedRecently: true }]);
    // A gateway too old to report when it started keeps what was known.
    await recordHeartbeat(t.db, { name: "gw-1", url: gatewayUrl, runningVersion: 1 });
    expect(await listGateways(t.db, systemActor("test"))).toMatchObject([{ startedAt: restart }]);
  });

  it("refuses a heartbeat that is not well formed, and changes nothing", async () => {
    await expect(recordHeartbeat(t.db, { name: "bad name!", url: gatewayUrl, runningVersion: 1 })).rejects.toThrow();
    await expect(recordHeartbeat(t.db, { name: "gw-2", url: "not a url", runningVersion: 1 })).rejects.toThrow();
    await expect(recordHeartbeat(t.db, { name: "gw-2", url: gatewayUrl, runningVersion: 1, startedAt: "yesterday" })).rejects.toThrow();
    expect(await t.db.gateway.count()).toBe(1);
  });
});
