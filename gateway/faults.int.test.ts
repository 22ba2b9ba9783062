import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from "vitest";

import { verifyChain } from "@/lib/audit/event";
import type { ConfigSnapshot } from "@/lib/config/snapshot";
import { ingestAuditEvents } from "@/lib/server/audit-ingest";
import { createTestDatabase } from "@/lib/server/db/test-database";
import { toAppError } from "@/lib/server/errors";
import { startDemoServers, type RunningDemoServers } from "@/demo/servers";

import { demoPortal, startControlPlaneStandIn, type ControlPlaneStandIn } from "./testing/control-plane-stand-in";
import { freePort, startGatewayProcess, type GatewayProcess } from "./testing/gateway-process";
import { GATEWAY_TOKEN, PORTAL, SERVICE_ACCOUNT } from "./testing/harness";

// The fault tests, with real MCP traffic: the gateway runs as its own process
// (gateway/main.ts), the bundled demo servers are its upstreams, SDK clients call tools through it,
// and its audit events land, through a control-plane stand-in, in a real database via the real
// ingest. Every MCP request carries an x-request-id the gateway adopts, so each call is matched to
// its stored event: "exactly once" is checked call by call, not as a total.

const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let demo: RunningDemoServers;
let standIn: ControlPlaneStandIn;
let snapshot: (version: number) => ConfigSnapshot;

const gateways: GatewayProcess[] = [];
const clients: Client[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  demo = await startDemoServers({ ports: { "cost-explorer": 0, tagging: 0, budgets: 0 } });
  standIn = await startControlPlaneStandIn({
    store: (events) => ingestAuditEvents(t.db, events),
    problemOf: (error) => {
      const known = toAppError(error);
      return known ? { status: known.status, body: { status: known.status, code: known.code, title: known.message, errors: known.fieldErrors } } : null;
    },
  });
  snapshot = await demoPortal(demo, standIn.url);
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(gateways.splice(0).map((g) => g.kill("SIGKILL")));
  // Whatever a test did to the stand-in, the next one starts with it up and answering.
  standIn.ingest.isUnavailable = false;
  await standIn.cp.start();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await standIn?.close();
  await demo?.close();
  await t?.close();
});

// ---- helpers ----

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-faults-"));
  dirs.push(dir);
  return dir;
}

/** A gateway process; its log is printed only if the test fails. */
async function startGateway(dataDir: string, port: number): Promise<GatewayProcess> {
  const g = await startGatewayProcess({ controlPlaneUrl: standIn.url, dataDir, port });
  gateways.push(g);
  const started = gateways.length;
  onTestFailed(() => {
    console.error(`---- gateway #${started} (pid ${g.pid}) output ----\n${g.output()}`);
  });
  return g;
}

/** The audit event one MCP request must leave, and nothing else. */
type Expected = { requestId: string; action: string; server: string | null; tool: string | null; outcome: "allow" | "deny" };

/** Calls mixing what the analyst may do, what policy denies, and what needs step-up. */
const PLAN = [
  { name: "cost-explorer_list_accounts", arguments: {}, expect: "allow" },
  { name: "budgets_list_budgets", arguments: {}, expect: "allow" },
  { name: "budgets_delete_budget", arguments: { budget_id: "bgt-snowflake" }, expect: "deny" },
  { name: "tagging_tag_resource", arguments: { resource_id: "i-0abc", key: "team", value: "finops" }, expect: "step_up" },
] as const;

/** Splits `<server>_<tool>` the way the demo portal names its tools. */
function targetOf(exposedName: string): { server: string; tool: string } {
  const server = ["cost-explorer", "budgets", "tagging"].find((s) => exposedName.startsWith(`${s}_`))!;
  return { server, tool: exposedName.slice(server.length + 1) };
}

/**
 * An SDK client on the gateway's portal. Every JSON-RPC request it POSTs gets a request id of
 * ours, and the event it must leave is recorded in `expected` as it is sent.
 */
async function connect(g: GatewayProcess, tag: string, expected: Expected[]): Promise<Client> {
  let n = 0;
  const transport = new StreamableHTTPClientTransport(new URL(g.portalUrl()), {
    requestInit: { headers: { authorization: `Bearer ${await standIn.mintToken(g.portalUrl())}` } },
    fetch: async (url, init) => {
      const message = init?.method === "POST" && typeof init.body === "string" ? (JSON.parse(init.body) as { id?: unknown; method?: string; params?: { name?: string } }) : null;
      if (!message || message.id === undefined || typeof message.method !== "string") return fetch(url, init);
      const requestId = `${tag}-${++n}`;
      const target = message.method === "tools/call" ? targetOf(message.params!.name!) : null;
      const planned = PLAN.find((p) => p.name === message.params?.name);
      expected.push({
        requestId,
        action: message.method,
        server: target?.server ?? null,
        tool: target?.tool ?? null,
        outcome: planned && planned.expect !== "allow" ? "deny" : "allow",
      });
      const headers = new Headers(init!.headers);
      headers.set("x-request-id", requestId);
      return fetch(url, { ...init, headers });
    },
  });
  const client = new Client({ name: `faults-${tag}`, version: "1" });
  await client.connect(transport);
  clients.push(client);
  return client;
}

/** `count` calls from the plan, each checked as the client sees it. */
async function callSome(client: Client, count: number, offset = 0): Promise<void> {
  for (let i = 0; i < count; i++) {
    const plan = PLAN[(offset + i) % PLAN.length]!;
    const call = client.callTool({ name: plan.name, arguments: { ...plan.arguments } });
    if (plan.expect === "step_up") {
      await expect(call).rejects.toThrow(/403|elevated access/);
    } else {
      const result = await call;
      expect(result.isError ?? false, `${plan.name} → ${JSON.stringify(result.content)}`).toBe(plan.expect === "deny");
    }
  }
}

async function storedCount(expected: Expected[]): Promise<number> {
  return t.db.auditEvent.count({ where: { requestId: { in: expected.map((e) => e.requestId) } } });
}

const spoolDepth = (g: GatewayProcess) => g.metric("portico_gateway_audit_spool_depth");

/** Until the gateway's spool is empty and (at least) every expected event is stored. */
async function waitDelivered(g: GatewayProcess, expected: Expected[]): Promise<void> {
  await until(`all ${expected.length} events are stored and the spool is empty`, async () => (await storedCount(expected)) >= expected.length && (await spoolDepth(g)) === 0);
}

/**
 * Waits until the gateway's spool is empty and every expected event is stored, then checks
 * that each request left exactly its one event and that the whole chain still verifies.
 */
async function expectDeliveredExactlyOnce(g: GatewayProcess, expected: Expected[]): Promise<void> {
  // On a timeout, compare anyway: the diff names the missing events.
  await waitDelivered(g, expected).catch((error: unknown) => console.error(error));
  const rows = await t.db.auditEvent.findMany({
    where: { requestId: { in: expected.map((e) => e.requestId) } },
    select: { requestId: true, action: true, server: true, tool: true, outcome: true, kind: true, actorType: true, actorId: true, portal: true },
  });
  const byRequest = (a: { requestId: string | null }, b: { requestId: string | null }) => (a.requestId! < b.requestId! ? -1 : a.requestId! > b.requestId! ? 1 : 0);
  // Equal arrays: a lost event is a missing row, a duplicated one (a second row for one request) an extra row.
  expect(rows.sort(byRequest)).toEqual(
    [...expected].sort(byRequest).map((e) => ({ ...e, kind: "mcp.request", actorType: "service_account", actorId: SERVICE_ACCOUNT, portal: PORTAL })),
  );
  expect(standIn.ingest.errors).toEqual([]);

  const chain = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" } });
  expect(chain.length).toBeGreaterThanOrEqual(expected.length);
  expect(
    verifyChain(
      chain.map((r) => ({ ...r, actorType: r.actorType as "user", outcome: r.outcome as "allow", reasons: r.reasons as string[] | null, data: r.data as Record<string, unknown> | null })),
    ),
  ).toEqual({ ok: true });
}

/** Replaces the signed payload of a JWS with another one, keeping header and signature. */
function tamper(jws: string, payload: unknown): string {
  const [header, , signature] = jws.split(".");
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`;
}

// ---- the tests ----

describe(`gateway process faults, real MCP traffic → real ingest (${label})`, () => {
  it("control plane down during traffic (503, then connections refused): every call's event arrives exactly once", async () => {
    await standIn.publish(snapshot(1));
    const g = await startGateway(tempDir(), await freePort());
    await g.waitReady(1);
    const expected: Expected[] = [];
    const client = await connect(g, "down", expected);

    await callSome(client, 10);
    await waitDelivered(g, expected);
    const storedBeforeOutage = await storedCount(expected);

    // The ingest answers 503: the control plane is up, its ingest is not.
    standIn.ingest.isUnavailable = true;
    await callSome(client, 20, 10);
    await until("the gateway has tried to deliver and been refused", () => standIn.ingest.refused > 0);

    // Nothing listens any more: every connection is refused, heartbeat and config pull included.
    const logFrom = g.output().length;
    await standIn.cp.stop();
    await callSome(client, 20, 30);
    await until("a delivery attempt has hit the closed port", () =>
      g.logs(logFrom).some((l) => l.msg === "audit delivery failed; retrying" && l.status === undefined && l.detail === "fetch failed"),
    );
    expect(await spoolDepth(g)).toBe(40);
    expect(await storedCount(expected)).toBe(storedBeforeOutage);

    // Back: listening again, then answering again; calls go on meanwhile.
    await standIn.cp.start();
    await callSome(client, 5, 50);
    standIn.ingest.isUnavailable = false;
    await callSome(client, 5, 55);

    expect(expected.filter((e) => e.action === "tools/call")).toHaveLength(60);
    await expectDeliveredExactlyOnce(g, expected);
    expect(expected.filter((e) => e.outcome === "deny").length).toBe(30);
  });

  it("gateway SIGKILLed mid-batch: a new process on the same data dir delivers the rest, each call's event once", async () => {
    await standIn.publish(snapshot(1));
    const dataDir = tempDir();
    const port = await freePort();
    const g1 = await startGateway(dataDir, port);
    await g1.waitReady(1);
    const expected: Expected[] = [];
    const client = await connect(g1, "kill", expected);
    await callSome(client, 10);
    await waitDelivered(g1, expected);
    const storedBefore = await storedCount(expected);

    // The next batch is held: stored only once more calls are on the gateway's disk behind it,
    // and its acknowledgement never reaches the gateway, which is killed first.
    const held = standIn.holdNextIngest();
    await callSome(client, 20, 10);
    const heldSize = await held.arrived;
    await callSome(client, 20, 30);
    await held.store();
    const exit = await g1.kill("SIGKILL");
    held.answer();
    expect(exit.signal).toBe("SIGKILL");
    expect(heldSize).toBeGreaterThan(0);
    expect(await storedCount(expected)).toBe(storedBefore + heldSize);
    expect(storedBefore + heldSize).toBeLessThan(expected.length);

    const duplicatesBefore = standIn.ingest.duplicates;
    const g2 = await startGateway(dataDir, port);
    await g2.waitReady(1);
    const again = await connect(g2, "kill-after", expected);
    await callSome(again, 8);
    await expectDeliveredExactlyOnce(g2, expected);
    // The held batch was sent again and absorbed by the ingest, and nothing else was.
    expect(standIn.ingest.duplicates - duplicatesBefore).toBe(heldSize);
  });

  it("restart with the control plane down: serves from the last good snapshot on disk, and delivers its events later", async () => {
    await standIn.publish(snapshot(1));
    const dataDir = tempDir();
    const port = await freePort();
    const g1 = await startGateway(dataDir, port);
    await g1.waitReady(1);
    const expected: Expected[] = [];
    await callSome(await connect(g1, "restart", expected), 4);
    await waitDelivered(g1, expected);
    expect((await g1.kill("SIGTERM")).code).toBe(0);

    await standIn.cp.stop();
    const g2 = await startGateway(dataDir, port);
    expect(await g2.waitReady(1)).toBe(1);
    const before = expected.length;
    await callSome(await connect(g2, "restart-down", expected), 20);
    expect(await spoolDepth(g2)).toBe(expected.length - before);
    expect(await storedCount(expected)).toBe(before);

    await standIn.cp.start();
    await expectDeliveredExactlyOnce(g2, expected);
  });

  it("refuses a tampered or stale snapshot, pushed, pulled or found on disk, and keeps serving the last good one", async () => {
    await standIn.publish(snapshot(2));
    const dataDir = tempDir();
    const port = await freePort();
    const g1 = await startGateway(dataDir, port);
    await g1.waitReady(2);

    // A forged version: a validly signed snapshot's signature over a payload granting more.
    const generous = (version: number) => {
      const forged = snapshot(version);
      forged.roles[0]!.grants[0]!.riskClasses = ["read", "write", "financial", "destructive"];
      return forged;
    };
    const forge = async (version: number) => tamper(await standIn.sign(snapshot(version)), generous(version));
    const push = (g: GatewayProcess, body: unknown) =>
      fetch(`${g.url}/internal/config`, { method: "POST", headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await push(g1, { version: 1, jws: await standIn.sign(snapshot(1)) })).status).toBe(409);
    expect((await push(g1, { version: 3, jws: await forge(3) })).status).toBe(422);
    expect(await g1.waitReady(2)).toBe(2);
    const expected: Expected[] = [];
    // Still the signed policy: the destructive tool stays denied (the forged one would allow it).
    await callSome(await connect(g1, "tamper", expected), 4);
    await expectDeliveredExactlyOnce(g1, expected);
    expect((await g1.kill("SIGTERM")).code).toBe(0);

    // Nothing good anywhere: the saved snapshot is altered on disk, the control plane offers a forgery.
    const file = path.join(dataDir, "snapshot.json");
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as { version: number; jws: string };
    expect(saved.version).toBe(2);
    fs.writeFileSync(file, JSON.stringify({ version: 2, jws: tamper(saved.jws, generous(2)) }));
    standIn.cp.latest = { version: 3, jws: await forge(3) };
    const g2 = await startGateway(dataDir, port);
    await until("the saved and the pulled snapshot are refused", () => {
      const logs = g2.logs();
      return (
        logs.some((l) => l.msg === "the saved config snapshot was refused") &&
        logs.some((l) => l.msg === "config refused: verification failed" && l.source === "pull" && l.version === 3)
      );
    });
    const readyz = await fetch(`${g2.url}/readyz`);
    expect(readyz.status).toBe(503);
    await readyz.text();

    // The control plane pushes a good version: served at once.
    const good = await standIn.publish(snapshot(3));
    expect((await push(g2, good)).status).toBe(200);
    expect(await g2.waitReady(3)).toBe(3);
    const after: Expected[] = [];
    await callSome(await connect(g2, "tamper-after", after), 4);
    await expectDeliveredExactlyOnce(g2, after);
  });
});
