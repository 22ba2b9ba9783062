import { createHmac, randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Actor } from "./auth/actor";

// The receiver below serves the e2e certificate for localhost; vitest runs with NODE_EXTRA_CA_CERTS pointing at it.
process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
const { createTestDatabase } = await import("./db/test-database");
const { ingestAuditEvents } = await import("./audit-ingest");
const { createLogDestination, deliverDue, listLogDestinations, updateLogDestination } = await import("./log-destinations");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const admin: Actor = { type: "user", userId: "u-admin", email: "admin@example.test", name: "Admin", role: "admin", mfa: true };
const auditor: Actor = { ...admin, userId: "u-auditor", role: "auditor" };
const SECRET = "siem-hmac-key-0123456789";
const HEC_TOKEN = "0d3c5a8e-hec-token-4711";

/** A real HTTPS receiver: stores what it acknowledges; `failNext` answers 503 to that many requests. */
type Received = { headers: Record<string, string | string[] | undefined>; body: string };
const receiver = { accepted: [] as Received[], refused: 0, failNext: 0 };
let server: https.Server;
let base: string;

const event = (i: number): AuditEventInput => ({
  id: randomUUID(),
  time: new Date(Date.UTC(2026, 11, 7, 10, 0, 0, i)),
  kind: "mcp.request",
  actorType: "user",
  actorId: "u-bob",
  action: "tools/call",
  outcome: "allow",
  portal: "finops",
  tool: "get_budget",
  data: { arguments: { n: i } },
});

async function ingest(from: number, n: number) {
  for (let start = from; start < from + n; start += 250) await ingestAuditEvents(t.db, Array.from({ length: Math.min(250, from + n - start) }, (_, i) => event(start + i)));
}

const seqsOf = (r: Received) => r.body.trim().split("\n").map((l) => (JSON.parse(l) as { seq?: string; event?: { seq: string } }).seq ?? (JSON.parse(l) as { event: { seq: string } }).event.seq);

beforeAll(async () => {
  t = await createTestDatabase();
  server = https.createServer({ key: fs.readFileSync("e2e/fixtures/tls/localhost.key"), cert: fs.readFileSync("e2e/fixtures/tls/localhost.pem") }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (receiver.failNext > 0) {
        receiver.failNext -= 1;
        receiver.refused += 1;
        res.writeHead(503).end("busy");
        return;
      }
      receiver.accepted.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "application/json" }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `https://localhost:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  await t?.close();
});
beforeEach(() => {
  receiver.accepted = [];
  receiver.refused = 0;
  receiver.failNext = 0;
});

describe("SIEM streaming", () => {
  it("refuses a destination the SSRF guard refuses, or one that is not https", async () => {
    await expect(createLogDestination(t.db, admin, { name: "meta", kind: "https", url: "https://169.254.169.254/latest", secret: SECRET })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(createLogDestination(t.db, admin, { name: "plain", kind: "https", url: "http://localhost:9/", secret: SECRET })).rejects.toThrow(/https:\/\//);
    await expect(createLogDestination(t.db, auditor, { name: "x", kind: "https", url: `${base}/in`, secret: SECRET })).rejects.toMatchObject({ code: "forbidden" });
    expect(await t.db.logDestination.count()).toBe(0);
  });

  it("streams JSON Lines in order, HMAC-signed, and after a failing receiver recovers loses nothing and keeps the order", async () => {
    await ingest(0, 700);
    const dest = await createLogDestination(t.db, admin, { name: "Generic SIEM", kind: "https", url: `${base}/in`, secret: SECRET, startFrom: "beginning" });
    expect(dest.lagEvents).toBe(701); // the destination's own creation is an audit event too

    let now = new Date();
    await deliverDue(t.db, now);
    expect(receiver.accepted.map((r) => seqsOf(r).length)).toEqual([500, 201]);
    const first = receiver.accepted[0]!;
    const signature = String(first.headers["x-portico-signature"]);
    const [, ts, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
    expect(v1).toBe(createHmac("sha256", SECRET).update(`${ts}.${first.body}`).digest("hex"));
    expect(first.headers["content-type"]).toBe("application/x-ndjson");

    // The receiver fails: the cursor stays, the status line says why, the next try waits its backoff.
    const delivered = receiver.accepted.flatMap(seqsOf);
    receiver.accepted = [];
    receiver.failNext = 2;
    await ingest(1000, 300);
    await deliverDue(t.db, now);
    let [status] = (await listLogDestinations(t.db, auditor)).items;
    expect(status).toMatchObject({ lastDeliveredSeq: delivered.at(-1), lagEvents: 300, failures: 1, lastError: "the receiver answered HTTP 503" });
    await deliverDue(t.db, now);
    expect(receiver.refused).toBe(1);
    now = new Date(now.getTime() + 1_500);
    await deliverDue(t.db, now); // second failure: backoff doubles
    [status] = (await listLogDestinations(t.db, auditor)).items;
    expect(status).toMatchObject({ failures: 2 });
    expect(new Date(status!.nextAttemptAt).getTime() - now.getTime()).toBe(2000);
    now = new Date(now.getTime() + 2_500);
    await deliverDue(t.db, now);

    const all = [...delivered, ...receiver.accepted.flatMap(seqsOf)];
    const stored = (await t.db.auditEvent.findMany({ orderBy: { seq: "asc" }, select: { seq: true } })).map((r) => r.seq.toString());
    expect(all).toEqual(stored);
    [status] = (await listLogDestinations(t.db, auditor)).items;
    expect(status).toMatchObject({ lastDeliveredSeq: stored.at(-1), lagEvents: 0, failures: 0, lastError: null });

    // Paused: nothing is sent, the lag grows and shows.
    await updateLogDestination(t.db, admin, dest.id, { enabled: false });
    receiver.accepted = [];
    await ingest(2000, 10);
    await deliverDue(t.db, new Date(now.getTime() + 60_000));
    expect(receiver.accepted).toHaveLength(0);
  });

  it("speaks the Splunk HTTP Event Collector format from now on", async () => {
    const dest = await createLogDestination(t.db, admin, { name: "Splunk", kind: "splunk_hec", url: `${base}/services/collector/event`, secret: HEC_TOKEN });
    const before = dest.nextAfterSeq;
    await ingest(3000, 3);
    await deliverDue(t.db, new Date());
    expect(receiver.accepted).toHaveLength(1);
    const hec = receiver.accepted[0]!;
    expect(hec.headers.authorization).toBe(`Splunk ${HEC_TOKEN}`);
    const objects = hec.body.split("\n").map((l) => JSON.parse(l) as { time: number; sourcetype: string; event: { seq: string; kind: string; action: string; data: { arguments?: { n: number } } } });
    // From now on: its own creation (recorded as it was made), then the calls.
    expect(objects.map((o) => o.event.action)).toEqual(["log_destination.create", "tools/call", "tools/call", "tools/call"]);
    expect(objects.slice(1).map((o) => o.event.data.arguments?.n)).toEqual([3000, 3001, 3002]);
    expect(objects.every((o) => o.sourcetype === "portico:audit" && typeof o.time === "number")).toBe(true);
    expect(BigInt(objects[0]!.event.seq)).toBeGreaterThan(BigInt(before));
  });

  it("never claims a delivery to a destination that was never reached", async () => {
    const dest = await createLogDestination(t.db, admin, { name: "Unreachable", kind: "https", url: `${base}/down`, secret: SECRET });
    // From now on: the cursor starts at the head, which is not a delivery.
    expect(dest).toMatchObject({ lastDeliveredSeq: null, lastDeliveredAt: null, lagEvents: 1 });
    receiver.failNext = 100;
    await deliverDue(t.db, new Date());
    expect(receiver.refused).toBeGreaterThan(0);
    const failing = (await listLogDestinations(t.db, admin)).items.find((d) => d.id === dest.id)!;
    expect(failing).toMatchObject({ lastDeliveredSeq: null, nextAfterSeq: dest.nextAfterSeq, lastError: "the receiver answered HTTP 503" });
    // Once it answers, the first acknowledged batch is a delivery.
    receiver.failNext = 0;
    await updateLogDestination(t.db, admin, dest.id, { enabled: true });
    await deliverDue(t.db, new Date(Date.now() + 10 * 60_000));
    const delivered = (await listLogDestinations(t.db, admin)).items.find((d) => d.id === dest.id)!;
    expect(delivered.lastDeliveredSeq).not.toBeNull();
    expect(BigInt(delivered.lastDeliveredSeq!)).toBeGreaterThan(BigInt(dest.nextAfterSeq));
    expect(delivered.lagEvents).toBe(0);
  });
});
