import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

const { createTestDatabase } = await import("../db/test-database");
const { seedDemoTraffic } = await import("@/prisma/seed-alerts");
const { getDashboards } = await import("../dashboards");
const { systemActor } = await import("../auth/actor");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;

beforeAll(async () => {
  t = await createTestDatabase();
  // The registry's risk classes, as the demo seed sets them.
  const budgets = await t.db.server.create({ data: { slug: "budgets", name: "Budgets", url: "http://127.0.0.1:9/mcp" } });
  await t.db.tool.create({ data: { serverId: budgets.id, name: "update_budget_limit", inputSchema: {}, definitionHash: "x", riskClass: "financial" } });
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
});
