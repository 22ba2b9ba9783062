import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createAuditSpool, type AuditSpool } from "./audit-spool";
import { GATEWAY_TOKEN, startHarness, type Harness } from "./testing/harness";

// Dead letters, seen and replayed: a control plane that refuses events (an older or broken
// ingest), the count and reason the gateway reports and the Gateways page shows, and an admin's
// replay through the control plane to the real gateway, whose spool sends them again.

process.env.PORTICO_GATEWAY_TOKEN = GATEWAY_TOKEN;

const { createTestDatabase } = await import("@/lib/server/db/test-database");
const { ingestAuditEvents } = await import("@/lib/server/audit-ingest");
const { listGateways, recordHeartbeat, replayGatewayDeadLetters } = await import("@/lib/server/gateways");
const { toAppError } = await import("@/lib/server/errors");
const { ensureBuiltInAlertRules } = await import("@/lib/server/alerts/start");
const { runAlertChecks } = await import("@/lib/server/alerts/checks");

const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let ingest: http.Server;
let spool: AuditSpool;
let spoolDir: string;
let h: Harness;
/** While set, the ingest refuses every batch as invalid, naming its first event. */
let isIngestBroken = false;

const admin = { type: "user" as const, userId: "u-admin", email: "admin@test", name: "Admin", role: "admin" as const, mfa: true };
const viewer = { ...admin, userId: "u-viewer", email: "viewer@test", role: "viewer" as const };

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.user.create({ data: { id: admin.userId, email: admin.email, name: admin.name, role: "admin" } });
  ingest = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (isIngestBroken) return reply(422, { title: "Audit event 0 is not valid", errors: [{ field: "events.0.data", message: "Refused by this test" }] });
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] };
      ingestAuditEvents(t.db, body.events).then(
        (result) => reply(200, result),
        (error: unknown) => reply(toAppError(error)?.status ?? 500, { title: toAppError(error)?.message }),
      );
    });
  });
  await new Promise<void>((resolve) => ingest.listen(0, "127.0.0.1", resolve));
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-dead-letters-"));
  spool = createAuditSpool({ dir: spoolDir, controlPlaneUrl: `http://127.0.0.1:${(ingest.address() as AddressInfo).port}`, token: GATEWAY_TOKEN, flushIntervalMs: 20, maxBackoffMs: 50 });
  h = await startHarness({ emit: (event) => spool.emit(event), deadLetters: spool.deadLetters, replayDeadLetters: spool.replayDeadLetters });
});

afterAll(async () => {
  await h?.close();
  await spool?.close();
  await new Promise<void>((resolve) => ingest?.close(() => resolve()));
  await t?.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

describe(`dead letters (${label})`, () => {
  it("are shown with their count and reason, raise a critical alert, and an admin's replay puts them in the trail and clears it", async () => {
    await ensureBuiltInAlertRules(t.db);
    const deadLetterAlerts = () => t.db.alert.findMany({ where: { rule: { key: "audit-dead-letters" } } });
    isIngestBroken = true;
    const client = await h.connect(await h.mintToken());
    for (const n of [1, 2, 3]) await client.callTool({ name: "probe_echo", arguments: { text: `dead ${n}` } });
    await client.close();
    await spool.flush();
    const reported = spool.deadLetters();
    expect(reported.count).toBeGreaterThanOrEqual(3);
    expect(reported.lastReason).toBe("Audit event 0 is not valid");

    // The gateway's heartbeat carries the report (its first one, at start, had none to report);
    // the control plane stores what it carries.
    expect(h.cp.heartbeats[0]).toMatchObject({ deadLetters: { count: 0, lastReason: null, lastAt: null } });
    await recordHeartbeat(t.db, { name: "test-gateway", url: h.gateway.url, runningVersion: 1, deadLetters: reported });
    const [shown] = await listGateways(t.db, admin);
    expect(shown!.deadLetters).toMatchObject({ count: reported.count, lastReason: "Audit event 0 is not valid", lastAt: expect.any(String) });
    expect(await t.db.auditEvent.count({ where: { kind: "mcp.request", action: "tools/call" } })).toBe(0);
    // The alert engine's scheduled checks read the same report.
    await runAlertChecks(t.db);
    expect(await deadLetterAlerts()).toMatchObject([{ status: "open", severity: "critical", title: expect.stringContaining(`${reported.count} dead-lettered audit events`) }]);

    // Only an admin may replay.
    await expect(replayGatewayDeadLetters(t.db, viewer, shown!.id)).rejects.toMatchObject({ code: "forbidden" });

    isIngestBroken = false;
    expect(await replayGatewayDeadLetters(t.db, admin, shown!.id)).toEqual({ replayed: reported.count });
    await spool.flush();
    const calls = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", action: "tools/call" } });
    expect(calls.map((c) => (c.data as { arguments?: { text?: string } }).arguments?.text).sort()).toEqual(["dead 1", "dead 2", "dead 3"]);
    expect(spool.deadLetters()).toEqual({ count: 0, lastReason: null, lastAt: null });
    const [after] = await listGateways(t.db, admin);
    expect(after!.deadLetters.count).toBe(0);
    // The next heartbeat reports none, and the alert resolves itself.
    await recordHeartbeat(t.db, { name: "test-gateway", url: h.gateway.url, runningVersion: 1, deadLetters: spool.deadLetters() });
    await runAlertChecks(t.db);
    expect(await deadLetterAlerts()).toMatchObject([{ status: "resolved" }]);
    // The replay itself is on the record.
    expect(await t.db.auditEvent.count({ where: { action: "gateway.replay_dead_letters", actorId: admin.userId } })).toBe(1);
  });

  it("answers 502 when the gateway cannot be reached, and keeps the count", async () => {
    const gone = await t.db.gateway.create({ data: { name: "gone", url: "http://127.0.0.1:9", deadLetterCount: 2, deadLetterReason: "r" } });
    const error = await replayGatewayDeadLetters(t.db, admin, gone.id).catch((e: unknown) => toAppError(e));
    expect(error).toMatchObject({ status: 502 });
    expect((await t.db.gateway.findUniqueOrThrow({ where: { id: gone.id } })).deadLetterCount).toBe(2);
  });
});
