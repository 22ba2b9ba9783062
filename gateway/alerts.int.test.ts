import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DEMO_RISK_CLASSES } from "@/demo/servers";
import { createAuditSpool, type AuditSpool } from "./audit-spool";
import { GATEWAY_TOKEN, startHarness, type Harness } from "./testing/harness";

// Alerts from real traffic: MCP clients call tools through a real gateway, whose real audit spool
// delivers to the control plane's ingest on a test database, where the alert engine runs as it
// does in the control plane. Each rule fires once per window, and the time from the event at the
// gateway to the alert in the inbox is measured.

process.env.PORTICO_GATEWAY_TOKEN = GATEWAY_TOKEN;
process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
process.env.AUTH_SECRET ??= randomBytes(32).toString("base64url");

const { createTestDatabase } = await import("@/lib/server/db/test-database");
const { ingestAuditEvents } = await import("@/lib/server/audit-ingest");
const { startAlerting } = await import("@/lib/server/alerts/start");
const { runAlertChecks } = await import("@/lib/server/alerts/checks");
const { toAppError } = await import("@/lib/server/errors");
const stepUp = await import("@/lib/server/step-up");
const { createAlertRule } = await import("@/lib/server/alerts/alerts");
const { systemActor } = await import("@/lib/server/auth/actor");
const { runAuditVerification } = await import("@/lib/server/audit-verify");
const { getActiveSigningKey, rotateSigningKey } = await import("@/lib/server/signing-keys");
const { updateServer } = await import("@/lib/server/servers");

const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let ingest: http.Server;
let spool: AuditSpool;
let spoolDir: string;
let h: Harness;
let alerting: Awaited<ReturnType<typeof startAlerting>>;
/** When each call's event left the gateway's audit stage, by request id. */
const emittedAt = new Map<string, number>();

async function alertsOf(key: string) {
  return t.db.alert.findMany({ where: { rule: { key } }, orderBy: { createdAt: "asc" } });
}

async function settle() {
  await spool.flush();
  await alerting.engine.idle();
}

const DAY_MS = 86_400_000;
const admin = systemActor("test admin");

beforeAll(async () => {
  t = await createTestDatabase();
  // The registry as the control plane holds it: the demo servers' tools with their risk classes.
  for (const [slug, tools] of Object.entries(DEMO_RISK_CLASSES)) {
    const server = await t.db.server.create({ data: { slug, name: slug, url: `http://127.0.0.1:9/${slug}` } });
    await t.db.tool.createMany({ data: Object.entries(tools).map(([name, riskClass]) => ({ serverId: server.id, name, inputSchema: {}, definitionHash: name, riskClass })) });
  }
  alerting = await startAlerting(t.db, { checkIntervalMs: 3_600_000, deliveryIntervalMs: 3_600_000 });
  ingest = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] };
      ingestAuditEvents(t.db, body.events).then(
        (result) => reply(200, result),
        (error: unknown) => reply(toAppError(error)?.status ?? 500, { title: toAppError(error)?.message }),
      );
    });
  });
  await new Promise<void>((resolve) => ingest.listen(0, "127.0.0.1", resolve));
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-alerts-"));
  // The spool's production timings (flush 500 ms, gather 50 ms): the latency below is what a deployment sees.
  spool = createAuditSpool({ dir: spoolDir, controlPlaneUrl: `http://127.0.0.1:${(ingest.address() as AddressInfo).port}`, token: GATEWAY_TOKEN });
  h = await startHarness({
    emit: (event) => {
      if (event.requestId) emittedAt.set(event.requestId, performance.now());
      spool.emit(event);
    },
  });
});

afterAll(async () => {
  // Control-plane events written by the last test are still being evaluated.
  await alerting?.engine.idle();
  alerting?.stop();
  await h?.close();
  await spool?.close();
  await new Promise<void>((resolve) => ingest?.close(() => resolve()));
  await t?.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

describe(`alerts from gateway traffic (${label})`, () => {
  it("a financial tool call raises one alert per caller and tool; repeats add to it; read tools raise none", async () => {
    const client = await h.connect(await h.mintToken());
    await client.callTool({ name: "cost-explorer_list_accounts", arguments: {} });
    await client.callTool({ name: "budgets_create_budget", arguments: { name: "q4", amount: 1000, period: "monthly" } });
    await client.callTool({ name: "budgets_create_budget", arguments: { name: "q1", amount: 2000, period: "monthly" } });
    await client.close();
    await settle();
    const alerts = await alertsOf("risky-tool-financial-destructive");
    expect(alerts).toHaveLength(1);
    // The analyst's role does not allow financial tools: the attempt is what the rule is about.
    expect(alerts[0]).toMatchObject({ subject: "tool:finops/budgets/create_budget|sa-analyst", count: 2, status: "open" });
    expect(alerts[0]!.title).toBe("sa-analyst called financial tool budgets/create_budget (denied)");
    const occurrences = await t.db.alertOccurrence.findMany({ where: { alertId: alerts[0]!.id } });
    const events = await t.db.auditEvent.findMany({ where: { id: { in: occurrences.map((o) => o.eventId!) } } });
    expect(events.map((e) => e.tool)).toEqual(["create_budget", "create_budget"]);
  });

  it("a cost query looking back over a year raises the look-back alert", async () => {
    const client = await h.connect(await h.mintToken());
    const start = new Date(Date.now() - 500 * 86_400_000).toISOString().slice(0, 10);
    const end = new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10);
    await client.callTool({ name: "cost-explorer_get_daily_costs", arguments: { start, end } });
    await client.close();
    await settle();
    const [alert] = await alertsOf("lookback-over-a-year");
    expect(alert?.title).toMatch(/^sa-analyst queried costs 50\d days back with get_daily_costs$/);
  });

  it("five requests with a bad token in ten minutes raise one refused-requests alert, not five", async () => {
    for (let i = 0; i < 7; i++) {
      const res = await fetch(h.portalUrl(), {
        method: "POST",
        headers: { authorization: "Bearer not-a-token", "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      });
      expect(res.status).toBe(401);
    }
    await settle();
    const alerts = await alertsOf("mcp-refused");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ subject: "client:address 127.0.0.1", count: 7 });
    // After a quiet window it resolves itself.
    await runAlertChecks(t.db, new Date(Date.now() + 11 * 60_000));
    expect((await alertsOf("mcp-refused"))[0]?.status).toBe("resolved");
  });

  it("dead letters in a gateway's heartbeat raise the dead-letter alert, which clears after the replay", async () => {
    const { recordHeartbeat } = await import("@/lib/server/gateways");
    await recordHeartbeat(t.db, { name: "test-gateway", url: h.gateway.url, runningVersion: 1, deadLetters: { count: 3, lastReason: "Audit event 0 is not valid", lastAt: new Date().toISOString() } });
    await runAlertChecks(t.db);
    const [alert] = await alertsOf("audit-dead-letters");
    expect(alert).toMatchObject({ status: "open", severity: "critical", title: "Gateway test-gateway holds 3 dead-lettered audit events" });
    await recordHeartbeat(t.db, { name: "test-gateway", url: h.gateway.url, runningVersion: 1, deadLetters: { count: 0, lastReason: null, lastAt: null } });
    await runAlertChecks(t.db);
    expect((await alertsOf("audit-dead-letters"))[0]).toMatchObject({ status: "resolved", resolvedBy: "auto" });
  });

  it("a step-up grant asked for one tool and used for another raises one misuse alert; the tool asked for raises none; a rule scoped to the role fires, one scoped to another role does not", async () => {
    // The control plane's side, through its own functions: the analyst (a service account) asks
    // for destructive access to tagging/remove_tag, a manager approves.
    const portal = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
    await t.db.portalRole.create({
      data: {
        slug: "analyst",
        name: "Analyst",
        stepUpRiskClasses: ["destructive"],
        stepUpMaxMinutes: 60,
        principals: { create: [{ kind: "service_account", value: "sa-analyst" }] },
        grants: { create: [{ portalId: portal.id, riskClasses: ["read"] }] },
      },
    });
    const manager = await t.db.user.create({ data: { email: "manager@example.com", name: "Manager", role: "approver" } });
    const requester = { kind: "service_account" as const, clientId: "sa-analyst", name: "sa-analyst" };
    const request = await stepUp.fileStepUpRequest(t.db, requester, { portal: "finops", riskClass: "destructive", server: "tagging", tool: "remove_tag", reason: "drop a stale tag", durationMinutes: 30 });
    await stepUp.approveStepUpRequest(t.db, { type: "user", userId: manager.id, email: manager.email, name: manager.name, role: "approver", mfa: true }, request.id, {});
    const scoped = await createAlertRule(t.db, admin, { detector: "risky_tool", name: "Destructive calls by analysts", severity: "high", params: { riskClasses: ["destructive"] }, scope: { role: "analyst" } });
    const elsewhere = await createAlertRule(t.db, admin, { detector: "risky_tool", name: "Destructive calls by engineers", severity: "high", params: { riskClasses: ["destructive"] }, scope: { role: "engineer" } });

    // The gateway receives the active grant on a signed snapshot, as the publisher sends it; the role lists destructive under step-up.
    const snapshot = h.snapshot(40);
    snapshot.roles[0]!.stepUpRiskClasses = ["write", "destructive"];
    const withGrant = { ...snapshot, elevatedGrants: await stepUp.activeGrantsForSnapshot(t.db) };
    h.cp.latest = { version: 40, jws: await h.sign(withGrant) };
    await h.gateway.store.accept(h.cp.latest);
    await h.waitForConfig(40);
    try {
      const client = await h.connect(await h.mintToken());
      // The demo upstream answers "no such resource" (a tool error): what counts is that the gateway allowed the calls under the grant.
      await client.callTool({ name: "tagging_remove_tag", arguments: { resource_id: "i-1", key: "stale" } });
      await settle();
      expect(await alertsOf("stepup-grant-misuse")).toHaveLength(0);
      for (let i = 0; i < 2; i++) await client.callTool({ name: "budgets_delete_budget", arguments: { budget_id: `b-misuse-${i}` } });
      await client.close();
      await settle();
      const calls = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", tool: { in: ["remove_tag", "delete_budget"] }, reasons: { array_contains: [`under elevated grant ${(await t.db.elevatedGrant.findFirstOrThrow()).id}`] } } });
      expect(calls.map((c) => `${c.tool} ${c.outcome}`).sort()).toEqual(["delete_budget allow", "delete_budget allow", "remove_tag allow"]);
      const alerts = await alertsOf("stepup-grant-misuse");
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ count: 2, severity: "high", status: "open" });
      expect(alerts[0]!.title).toBe("sa-analyst used a step-up grant asked for tagging/remove_tag to call budgets/delete_budget");
      const scopedAlerts = await t.db.alert.findMany({ where: { ruleId: scoped.id } });
      expect(scopedAlerts.map((a) => a.subject).sort()).toEqual(["tool:finops/budgets/delete_budget|sa-analyst", "tool:finops/tagging/remove_tag|sa-analyst"]);
      expect(await t.db.alert.count({ where: { ruleId: elsewhere.id } })).toBe(0);
    } finally {
      h.cp.latest = { version: 41, jws: await h.sign(h.snapshot(41)) };
      await h.gateway.store.accept(h.cp.latest);
      await h.waitForConfig(41);
    }
  });

  it("five step-up requests from one person within an hour raise one alert; a sixth adds to it", async () => {
    const alice = await t.db.user.create({ data: { email: "alice@example.com", name: "Alice", role: "viewer", idpGroups: ["analysts"] } });
    await t.db.rolePrincipal.create({ data: { role: { connect: { slug: "analyst" } }, kind: "group", value: "analysts" } });
    const requester = await stepUp.userRequester(t.db, alice.id);
    // Spread over 50 minutes: under the filing rate limit (5 in 10 min), over the rule's 5 in 60.
    const start = Date.now() - 55 * 60_000;
    for (let i = 0; i < 6; i++) {
      const at = new Date(start + i * 10 * 60_000);
      const filed = await stepUp.fileStepUpRequest(t.db, requester, { portal: "finops", riskClass: "destructive", reason: `attempt ${i}`, durationMinutes: 15 }, at);
      await stepUp.withdrawStepUpRequest(t.db, requester, filed.id, new Date(at.getTime() + 1000));
      await alerting.engine.idle();
      expect(await alertsOf("stepup-flood"), `after request ${i + 1}`).toHaveLength(i < 4 ? 0 : 1);
    }
    const [alert] = await alertsOf("stepup-flood");
    expect(alert).toMatchObject({ subject: "requester:alice@example.com", count: 6, status: "open" });
  });

  it("a failed audit chain verification raises one critical alert; a second failure adds to it", async () => {
    const auditor = systemActor("test auditor");
    await settle();
    expect(await alertsOf("audit-verify-failed")).toHaveLength(0);
    const victim = await t.db.auditEvent.findFirstOrThrow({ where: { kind: "mcp.request", outcome: "deny" }, orderBy: { seq: "asc" } });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = 'allow', "reasons" = NULL WHERE "seq" = ${victim.seq}`;
    try {
      for (let i = 0; i < 2; i++) expect((await runAuditVerification(t.db, auditor)).ok).toBe(false);
      await alerting.engine.idle();
      const alerts = await alertsOf("audit-verify-failed");
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ severity: "critical", count: 2, subject: "audit-chain" });
      expect(alerts[0]!.title).toContain(`at seq ${victim.seq}`);
    } finally {
      await t.db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = ${victim.outcome}, "reasons" = ${JSON.stringify(victim.reasons)}::jsonb WHERE "seq" = ${victim.seq}`;
    }
    // Repaired, the chain verifies again, and a passing verification raises nothing.
    expect((await runAuditVerification(t.db, auditor)).ok).toBe(true);
    await alerting.engine.idle();
    expect(await alertsOf("audit-verify-failed")).toEqual([expect.objectContaining({ count: 2 })]);
  });

  it("an upstream credential older than 90 days raises one alert, cleared by rotating it", async () => {
    const server = await t.db.server.create({ data: { slug: "billing-api", name: "Billing API", url: "https://billing.example/mcp", credentialKind: "reference", headerName: "authorization", secretRef: "env:BILLING_TOKEN" } });
    await t.db.server.create({ data: { slug: "open-data", name: "Open data", url: "https://open.example/mcp" } });
    const later = new Date(Date.now() + 91 * DAY_MS);
    await runAlertChecks(t.db, new Date(Date.now() + 89 * DAY_MS));
    expect(await alertsOf("upstream-credential-age")).toHaveLength(0);
    await runAlertChecks(t.db, later);
    await runAlertChecks(t.db, later);
    const alerts = await alertsOf("upstream-credential-age");
    // Only the server with a static credential, once however often the schedule looks.
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ subject: "server-credential:billing-api", status: "open" });
    // Saving the same reference again is not a rotation; a new value is.
    await updateServer(t.db, admin, server.id, { credential: { kind: "reference", headerName: "authorization", ref: "env:BILLING_TOKEN" } });
    await runAlertChecks(t.db, later);
    expect((await alertsOf("upstream-credential-age"))[0]?.status).toBe("open");
    await updateServer(t.db, admin, server.id, { credential: { kind: "header", headerName: "authorization", value: "Bearer rotated-0123456789" } });
    await runAlertChecks(t.db, new Date(Date.now() + 30 * DAY_MS));
    expect((await alertsOf("upstream-credential-age"))[0]).toMatchObject({ status: "resolved", resolvedBy: "auto" });
  });

  it("a signing key older than 90 days raises one alert, cleared by rotating the key", async () => {
    // The verification above signed the chain head, so a key exists (and earlier checks "in 91 days" may have seen it).
    const key = await getActiveSigningKey(t.db);
    const open = async () => (await alertsOf("signing-key-age")).filter((a) => a.status !== "resolved");
    const later = new Date(Date.now() + 91 * DAY_MS);
    await runAlertChecks(t.db);
    expect(await open()).toHaveLength(0);
    await runAlertChecks(t.db, later);
    await runAlertChecks(t.db, later);
    expect(await open()).toEqual([expect.objectContaining({ subject: `signing-key:${key.kid}`, status: "open" })]);
    const [raised] = await open();
    await rotateSigningKey(t.db, admin);
    await runAlertChecks(t.db);
    expect(await open()).toHaveLength(0);
    expect(await t.db.alert.findUniqueOrThrow({ where: { id: raised!.id } })).toMatchObject({ status: "resolved", resolvedBy: "auto" });
  });

  it("measures the time from the event at the gateway to the alert in the inbox", async () => {
    const client = await h.connect(await h.mintToken());
    const samples: number[] = [];
    const base = (await t.db.alert.findFirst({ where: { subject: "tool:finops/budgets/delete_budget|sa-analyst", rule: { key: "risky-tool-financial-destructive" } }, select: { count: true } }))?.count ?? 0;
    for (let i = 0; i < 20; i++) {
      await client.callTool({ name: "budgets_delete_budget", arguments: { budget_id: `b-${i}` } });
      const requestId = [...emittedAt.keys()].at(-1)!;
      const emitted = emittedAt.get(requestId)!;
      for (;;) {
        const alert = await t.db.alert.findFirst({ where: { subject: "tool:finops/budgets/delete_budget|sa-analyst", rule: { key: "risky-tool-financial-destructive" } }, select: { count: true } });
        if (alert && alert.count >= base + i + 1) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      samples.push(performance.now() - emitted);
    }
    await client.close();
    samples.sort((a, b) => a - b);
    const p = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(0);
    console.log(`[${label}] alert latency, event at gateway → alert visible, 20 calls: p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, max ${samples.at(-1)!.toFixed(0)} ms (spool gather 50 ms; shared 2-core machine)`);
    expect(samples).toHaveLength(20);
  });
});
