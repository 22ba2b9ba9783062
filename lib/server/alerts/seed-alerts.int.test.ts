import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

const { createTestDatabase } = await import("../db/test-database");
const { seedDemoTraffic } = await import("@/prisma/seed-alerts");
const { getDashboards } = await import("../dashboards");
const { systemActor } = await import("../auth/actor");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const users = { analyst: "", manager: "" };

beforeAll(async () => {
  t = await createTestDatabase();
  // The registry's risk classes, as the demo seed sets them.
  const budgets = await t.db.server.create({ data: { slug: "budgets", name: "Budgets", url: "http://127.0.0.1:9/mcp" } });
  await t.db.tool.create({ data: { serverId: budgets.id, name: "update_budget_limit", inputSchema: {}, definitionHash: "x", riskClass: "financial" } });
  // The demo users, as prisma/seed.ts creates them before the traffic.
  users.analyst = (await t.db.user.create({ data: { email: "analyst@portico.local", name: "Ana Analyst", role: "viewer" } })).id;
  users.manager = (await t.db.user.create({ data: { email: "manager@portico.local", name: "Max Manager", role: "approver" } })).id;
  await t.db.user.create({ data: { email: "auditor@portico.local", name: "Audrey Auditor", role: "auditor" } });
});

afterAll(async () => {
  await t?.close();
});

describe("demo traffic seed", () => {
  it("writes a day of traffic through ingest, with the alerts the rules raise on it, once", async () => {
    const first = await seedDemoTraffic(t.db);
    // About 490 calls whatever the hour: the day's busy half is 12 hours wherever "now" falls.
    expect(first.events).toBeGreaterThan(400);
    const alerts = await t.db.alert.findMany({ include: { rule: true } });
    expect(alerts.map((a) => a.rule.key).sort()).toEqual(["failed-auth-account", "failed-auth-ip", "lookback-over-a-year", "risky-tool-financial-destructive"]);
    expect(alerts.every((a) => a.status === "open")).toBe(true);
    const d = await getDashboards(t.db, systemActor("test"), { range: "24h" });
    // The day's calls (not the 6 failed sign-ins), and the explorer demo's two calls of the last
    // 24 hours (5 h and 2 h ago), stored in the same stream.
    expect(d.totals.allowed + d.totals.denied + d.totals.stepup + d.totals.error).toBe(first.events - 6 + 2);
    // Stored as a gateway would store them: arrival (seq) order is time order, so the explorer's
    // newest first reads newest first, the explorer demo's week included.
    const stored = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" }, select: { time: true, requestId: true } });
    expect(stored.filter((e) => e.requestId?.startsWith("demo-req-")).length).toBe(7);
    expect(stored.every((e, i) => i === 0 || e.time >= stored[i - 1]!.time)).toBe(true);
    expect(d.totals.stepup).toBeGreaterThan(0);
    expect(await seedDemoTraffic(t.db)).toEqual({ events: 0, alerts: 0 });
  });

  it("credits each person's calls to their real account, and denies only what the demo's roles deny", async () => {
    const calls = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", actorType: "user" }, select: { actorId: true, actorLabel: true, outcome: true, reasons: true } });
    const byLabel = (label: string) => calls.filter((c) => c.actorLabel === label);
    // The analyst's own audit view (by her id) and the overview's per-person counts are one set.
    expect(byLabel("analyst@portico.local").length).toBeGreaterThan(100);
    expect(new Set(byLabel("analyst@portico.local").map((c) => c.actorId))).toEqual(new Set([users.analyst]));
    expect(new Set(byLabel("manager@portico.local").map((c) => c.actorId))).toEqual(new Set([users.manager]));
    expect(await t.db.auditEvent.count({ where: { actorId: { startsWith: "demo-" } } })).toBe(0);
    // The Analyst role reads budgets freely: no denial says otherwise. Each denial is worded as the
    // policy words it, naming the role's condition that failed.
    // (The day of traffic; the explorer demo's week, requestId demo-req-*, is seed-audit.ts's.)
    const denied = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", outcome: "deny", NOT: { requestId: { startsWith: "demo-req-" } } }, select: { reasons: true } });
    const reasons = denied.flatMap((e) => e.reasons as string[]);
    expect(reasons.length).toBeGreaterThan(3);
    for (const reason of reasons) expect(reason).toMatch(/^role "Analyst"(: requires a sign-in with MFA|: looks back 705 days, more than its limit of 365| needs approved elevated access for write tool "tag_resource" on tagging)$/);
  });
});
