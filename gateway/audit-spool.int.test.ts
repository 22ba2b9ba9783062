import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import { createAuditSpool, type AuditSpool, type AuditSpoolLog } from "./audit-spool";

// The spool against the real control-plane side: a node:http stand-in for the ingest route,
// backed by ingestAuditEvents on a test database (PGlite, or Postgres with TEST_DATABASE_URL).

const { createTestDatabase } = await import("@/lib/server/db/test-database");
const { ingestAuditEvents } = await import("@/lib/server/audit-ingest");
const { toAppError } = await import("@/lib/server/errors");
const { verifyChain } = await import("@/lib/audit/event");

const TOKEN = "spool-test-token-0123456789abcdef0123";
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let server: http.Server;
let controlPlaneUrl: string;

/** How the stand-in behaves; each test sets what it needs. */
const standIn = {
  /** Answer 503 without storing: the control plane is down. */
  isDown: false,
  /** Store, then answer 503: the acknowledgement is lost on the way back. */
  isAckLost: false,
  /** Runs after the batch is stored and before the answer (the crash test kills its gateway here). */
  afterStore: null as null | ((call: number) => Promise<void>),
  /** Runs before anything else (the crash test holds a batch until its gateway has emitted everything). */
  beforeStore: null as null | ((call: number) => Promise<void>),
  calls: 0,
  duplicates: 0,
};

function resetStandIn() {
  Object.assign(standIn, { isDown: false, isAckLost: false, afterStore: null, beforeStore: null, calls: 0, duplicates: 0 });
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { "content-type": status === 200 ? "application/json" : "application/problem+json" });
    res.end(JSON.stringify(body));
  };
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (req.url !== "/api/internal/audit/ingest" || req.method !== "POST") return reply(404, { status: 404 });
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return reply(401, { status: 401, code: "unauthorized" });
  const call = ++standIn.calls;
  await standIn.beforeStore?.(call);
  if (standIn.isDown) return reply(503, { status: 503, code: "unavailable", title: "Down for the test" });
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] };
    const result = await ingestAuditEvents(t.db, body.events);
    standIn.duplicates += result.duplicates;
    await standIn.afterStore?.(call);
    if (standIn.isAckLost) return reply(503, { status: 503, code: "unavailable", title: "Ack lost for the test" });
    reply(200, result);
  } catch (error) {
    const known = toAppError(error);
    if (!known) throw error;
    reply(known.status, { status: known.status, code: known.code, title: known.message, errors: known.fieldErrors });
  }
}

const dirs: string[] = [];
const spools: AuditSpool[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-spool-int-"));
  dirs.push(dir);
  return dir;
}

function openSpool(dir: string, log: AuditSpoolLog = () => {}): AuditSpool {
  const spool = createAuditSpool({ dir, controlPlaneUrl, token: TOKEN, batchSize: 200, flushIntervalMs: 20, maxBackoffMs: 100, log });
  spools.push(spool);
  return spool;
}

// Ids a test can recompute: a per-test random prefix and a counter, in uuid v4 shape.
const idFor = (prefix: string, n: number) => `${prefix}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

function event(prefix: string, n: number): AuditEventInput {
  return {
    id: idFor(prefix, n),
    time: new Date(),
    kind: "mcp.request",
    actorType: "service_account",
    actorId: "svc-analyst",
    action: "tools/call",
    outcome: "allow",
    portal: "finops",
    server: "cost-explorer",
    tool: "cost_explorer_get_costs",
    data: { n, args: { month: "2026-10" }, latencyMs: 3 },
    requestId: `req-${n}`,
  };
}

async function storedIds(prefix: string): Promise<string[]> {
  const rows = await t.db.auditEvent.findMany({ where: { id: { startsWith: prefix } }, select: { id: true } });
  return rows.map((r) => r.id).sort();
}

const expectedIds = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => idFor(prefix, i)).sort();
const newPrefix = () => randomBytes(4).toString("hex");

beforeAll(async () => {
  t = await createTestDatabase();
  server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  controlPlaneUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.all(spools.splice(0).map((s) => s.close()));
  resetStandIn();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
});

describe(`audit spool → ingest (${label})`, () => {
  it("(a) delivers 2,000 events exactly once, on a valid chain", async () => {
    const prefix = newPrefix();
    const spool = openSpool(tempDir());
    for (let i = 0; i < 2_000; i++) spool.emit(event(prefix, i));
    await spool.flush();
    expect(spool.depth()).toBe(0);
    expect(await storedIds(prefix)).toEqual(expectedIds(prefix, 2_000));

    const rows = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" } });
    const chain = rows.map((r) => ({ ...r, actorType: r.actorType as "user", outcome: r.outcome as "success", reasons: r.reasons as string[] | null, data: r.data as Record<string, unknown> | null }));
    expect(verifyChain(chain)).toEqual({ ok: true });
  });

  it("(b) keeps every event while the control plane is down or loses acks, and delivers each once when it is back", async () => {
    const prefix = newPrefix();
    const spool = openSpool(tempDir());
    let n = 0;
    const emitSome = (count: number) => {
      for (let i = 0; i < count; i++) spool.emit(event(prefix, n++));
    };

    standIn.isDown = true;
    for (let round = 0; round < 5; round++) {
      emitSome(100);
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(await storedIds(prefix)).toEqual([]);
    expect(spool.depth()).toBe(500);
    const refusedCalls = standIn.calls;
    expect(refusedCalls).toBeGreaterThan(1);

    // Back, but its answers get lost: stored, yet the gateway must send again.
    standIn.isDown = false;
    standIn.isAckLost = true;
    emitSome(100);
    while (standIn.calls < refusedCalls + 3) await new Promise((r) => setTimeout(r, 10));
    expect(spool.depth()).toBe(600);

    standIn.isAckLost = false;
    emitSome(100);
    await spool.flush();
    expect(spool.depth()).toBe(0);
    expect(await storedIds(prefix)).toEqual(expectedIds(prefix, 700));
    expect(standIn.duplicates).toBeGreaterThan(0);
  });

  it("(e) delivers a backlog at once when told the control plane is back, without waiting out its backoff", async () => {
    const prefix = newPrefix();
    const spool = createAuditSpool({ dir: tempDir(), controlPlaneUrl, token: TOKEN, flushIntervalMs: 20, maxBackoffMs: 60_000, log: () => {} });
    spools.push(spool);
    standIn.isDown = true;
    for (let i = 0; i < 50; i++) spool.emit(event(prefix, i));
    // Refused often enough to be deep in a backoff of tens of seconds.
    while (standIn.calls < 6) await new Promise((r) => setTimeout(r, 20));
    standIn.isDown = false;
    const callsWhileDown = standIn.calls;
    await new Promise((r) => setTimeout(r, 300));
    expect(standIn.calls).toBe(callsWhileDown);
    expect(spool.depth()).toBe(50);

    const start = Date.now();
    spool.retryNow();
    while (spool.depth() > 0 && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 10));
    expect(spool.depth()).toBe(0);
    expect(Date.now() - start).toBeLessThan(2_000);
    expect(await storedIds(prefix)).toEqual(expectedIds(prefix, 50));
  });

  it("(c) a gateway killed with SIGKILL mid-batch: a new spool on its directory delivers the rest, each event once", async () => {
    const prefix = newPrefix();
    const dir = tempDir();
    const total = 3_000;
    const child = startEmitter(dir, prefix, total);
    let emitted!: () => void;
    const allEmitted = new Promise<void>((resolve) => (emitted = resolve));
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("emitted")) emitted();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));

    // The third batch is held until every event is on the child's disk, stored, and then the
    // child is killed before it hears the answer: that batch is delivered but not acknowledged.
    standIn.beforeStore = async (call) => {
      if (call === 3) await allEmitted;
    };
    standIn.afterStore = async (call) => {
      if (call !== 3) return;
      child.kill("SIGKILL");
      await exited;
    };
    expect(await exited).toBe("SIGKILL");
    const beforeRestart = (await storedIds(prefix)).length;
    expect(beforeRestart).toBeGreaterThan(0);
    expect(beforeRestart).toBeLessThan(total);
    standIn.afterStore = null;
    standIn.beforeStore = null;

    const spool = openSpool(dir);
    expect(spool.depth()).toBeGreaterThanOrEqual(total - beforeRestart);
    await spool.flush();
    expect(spool.depth()).toBe(0);
    expect(await storedIds(prefix)).toEqual(expectedIds(prefix, total));
    // The batch stored before the kill came again and was absorbed by the ingest.
    expect(standIn.duplicates).toBeGreaterThan(0);
  });

  it("(d) skips a torn last line with a warning and delivers the whole lines before it", async () => {
    const prefix = newPrefix();
    const dir = tempDir();
    const whole = Array.from({ length: 25 }, (_, i) => JSON.stringify(event(prefix, i)));
    const torn = JSON.stringify(event(prefix, 25)).slice(0, 57);
    fs.writeFileSync(path.join(dir, "seg-000000000001.jsonl"), `${whole.join("\n")}\n${torn}`);
    const warnings: string[] = [];
    const spool = openSpool(dir, (level, message) => {
      if (level === "warn") warnings.push(message);
    });
    expect(spool.depth()).toBe(25);
    await spool.flush();
    expect(await storedIds(prefix)).toEqual(expectedIds(prefix, 25));
    // The warning and the segment's removal follow the delivery asynchronously: wait for them, as
    // a fixed 50 ms sleep lost the race on a loaded machine.
    await vi.waitFor(
      () => {
        expect(warnings).toContain("audit spool skipped a torn line at the end of a segment");
        expect(fs.existsSync(path.join(dir, "seg-000000000001.jsonl"))).toBe(false);
      },
      { timeout: 5_000, interval: 20 },
    );
  });
});

/** A gateway stand-in in its own process: emits `total` events into the spool and says so. */
function startEmitter(dir: string, prefix: string, total: number): ChildProcess {
  const script = path.join(tempDir(), "emitter.ts");
  fs.writeFileSync(
    script,
    `import { createAuditSpool } from ${JSON.stringify(path.resolve("gateway/audit-spool.ts"))};
const spool = createAuditSpool({ dir: ${JSON.stringify(dir)}, controlPlaneUrl: ${JSON.stringify(controlPlaneUrl)}, token: ${JSON.stringify(TOKEN)}, batchSize: 100, flushIntervalMs: 10, log: () => {} });
let n = 0;
function burst() {
  for (let k = 0; k < 50 && n < ${total}; k++, n++) {
    spool.emit({ id: "${prefix}-0000-4000-8000-" + n.toString(16).padStart(12, "0"), time: new Date(), kind: "mcp.request",
      actorType: "service_account", actorId: "svc-analyst", action: "tools/call", outcome: "allow", portal: "finops",
      server: "cost-explorer", tool: "cost_explorer_get_costs", data: { n, args: { month: "2026-10" }, latencyMs: 3 }, requestId: "req-" + n });
  }
  if (n < ${total}) setImmediate(burst);
  else process.stdout.write("emitted\\n");
}
burst();
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return child;
}
