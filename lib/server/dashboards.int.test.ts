import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

const { createTestDatabase } = await import("./db/test-database");
const { ingestAuditEvents } = await import("./audit-ingest");
const { getDashboards, getCostAttribution, costAttributionCsv } = await import("./dashboards");
const { systemActor } = await import("./auth/actor");
const stepUp = await import("./step-up");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const admin = systemActor("test");
const now = new Date();

const call = (minutesAgo: number, extra: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  time: new Date(now.getTime() - minutesAgo * 60_000).toISOString(),
  kind: "mcp.request",
  actorType: "user",
  actorId: "u1",
  actorLabel: "alice@example.com",
  action: "tools/call",
  outcome: "allow",
  portal: "finops",
  server: "cost-explorer",
  tool: "get_costs",
  data: { httpStatus: 200, latencyMs: 12, upstreamLatencyMs: 8, requestBytes: 100, responseBytes: 900, upstreamOutcome: "success", ...data },
  ...extra,
});

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.user.create({ data: { email: "alice@example.com", name: "Alice", idpGroups: ["finops-analysts", "zz-other"] } });
});

afterAll(async () => {
  await t?.close();
});

describe(`traffic rollups and dashboards (${label})`, () => {
  it("keeps per-minute rollups at ingest, once per event even when a batch is re-sent", async () => {
    const batch = [
      ...Array.from({ length: 18 }, (_, i) => call(i % 3)),
      call(1, { outcome: "deny", reasons: ["role Analyst does not allow budgets_*"], server: "budgets", tool: "set_budget" }, { httpStatus: 200, upstreamOutcome: "not_called" }),
      call(1, { outcome: "deny", reasons: ["step-up required"] }, { httpStatus: 403, upstreamOutcome: "not_called" }),
      call(2, {}, { upstreamOutcome: "timeout", upstreamLatencyMs: 3000 }),
      call(2, { actorLabel: "sa_nightly", actorId: "sa_nightly", actorType: "service_account" }),
      { ...call(0), kind: "auth.sign_in", action: "sign_in.password", outcome: "failure" },
    ];
    await ingestAuditEvents(t.db, batch);
    await ingestAuditEvents(t.db, batch);
    // Each overview table counts every event once per grain (the tool and cost tables only tool calls,
    // cost only those that reached the upstream).
    const perGrain = (rows: { grain: string; count: number }[]) =>
      Object.fromEntries(["minute", "hour", "day"].map((g) => [g, rows.filter((r) => r.grain === g).reduce((n, r) => n + r.count, 0)]));
    expect(perGrain(await t.db.trafficByServer.findMany())).toEqual({ minute: 22, hour: 22, day: 22 });
    expect(perGrain(await t.db.trafficByActor.findMany())).toEqual({ minute: 22, hour: 22, day: 22 });
    expect(perGrain(await t.db.trafficByTool.findMany())).toEqual({ minute: 22, hour: 22, day: 22 });
    expect(perGrain(await t.db.trafficCost.findMany())).toEqual({ minute: 20, hour: 20, day: 20 });
    expect((await t.db.trafficByServer.findMany()).every((r) => r.latencyBuckets.length === 12)).toBe(true);
    const denials = await t.db.denialRollup.findMany({ orderBy: { reason: "asc" } });
    expect(denials.map((d) => [d.reason, d.count])).toEqual([
      ["role Analyst does not allow budgets_*", 1],
      ["step-up required", 1],
    ]);
  });

  it("shapes the overview's charts from the rollups", async () => {
    const d = await getDashboards(t.db, admin, { range: "1h" }, now);
    expect(d.totals).toEqual({ allowed: 19, denied: 1, stepup: 1, error: 1 });
    expect(d.calls.length).toBeGreaterThanOrEqual(60);
    expect(d.topTools[0]).toEqual({ server: "cost-explorer", tool: "get_costs", calls: 21 });
    expect(d.topCallers[0]).toEqual({ actor: "alice@example.com", calls: 21 });
    expect(d.denialsByRule.map((r) => r.reason)).toEqual(expect.arrayContaining(["role Analyst does not allow budgets_*", "step-up required"]));
    const server = d.servers.find((s) => s.server === "cost-explorer")!;
    expect(server).toMatchObject({ calls: 20, p50: 10, p95: 10 });
    expect(server.errorRate).toBeCloseTo(1 / 20);
    expect((await getDashboards(t.db, admin, { range: "1h", portal: "other" }, now)).totals.allowed).toBe(0);
    // A day reads the hourly rollups, and counts the same calls.
    const day = await getDashboards(t.db, admin, { range: "24h" }, now);
    expect(day.totals).toEqual(d.totals);
    expect(day.servers.find((s) => s.server === "cost-explorer")).toMatchObject({ calls: 20, p95: 10 });
    // A month reads whole days (and the hours and minutes before the first one): the same calls, one point per day.
    for (const range of ["6h", "7d", "30d"] as const) {
      const longer = await getDashboards(t.db, admin, { range }, now);
      expect(longer.totals, range).toEqual(d.totals);
      expect(longer.topTools[0], range).toEqual(d.topTools[0]);
      expect(longer.servers.find((s) => s.server === "cost-explorer"), range).toMatchObject({ calls: 20, p50: 10, p95: 10 });
    }
    expect((await getDashboards(t.db, admin, { range: "30d" }, now)).calls.length).toBeLessThanOrEqual(32);
  });

  it("charts step-up: requests by outcome, approval rate, time to decision, grants active now; empty when there were none", async () => {
    const before = await getDashboards(t.db, admin, { range: "24h" }, now);
    expect(before.stepUp).toMatchObject({ total: 0, approvalRate: null, decisionSeconds: { p50: null, p95: null }, activeGrants: [] });
    expect(before.stepUp.requests.every((p) => p.approved + p.denied + p.expired + p.withdrawn + p.pending === 0)).toBe(true);
    const portal = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
    await t.db.portalRole.create({
      data: { slug: "analyst", name: "Analyst", stepUpRiskClasses: ["write"], stepUpMaxMinutes: 60, principals: { create: [{ kind: "user", value: "bob@example.com" }] }, grants: { create: [{ portalId: portal.id, riskClasses: ["read"] }] } },
    });
    const bob = await t.db.user.create({ data: { email: "bob@example.com", name: "Bob", role: "viewer" } });
    const boss = await t.db.user.create({ data: { email: "boss@example.com", name: "Boss", role: "approver" } });
    const approver = { type: "user" as const, userId: boss.id, email: boss.email, name: boss.name, role: "approver" as const, mfa: true };
    const requester = await stepUp.userRequester(t.db, bob.id);
    // Filed 5 h, 3 h and 1 h ago; decided after 2, 10 and (still running) 4 minutes.
    const plan = [
      { ago: 300, after: 2, decide: "approve" },
      { ago: 180, after: 10, decide: "deny" },
      { ago: 60, after: 4, decide: "approve" },
      { ago: 20, after: 0, decide: "none" },
    ] as const;
    for (const p of plan) {
      const filedAt = new Date(now.getTime() - p.ago * 60_000);
      const r = await stepUp.fileStepUpRequest(t.db, requester, { portal: "finops", riskClass: "write", reason: "tagging", durationMinutes: 60 }, filedAt);
      const at = new Date(filedAt.getTime() + p.after * 60_000);
      if (p.decide === "approve") await stepUp.approveStepUpRequest(t.db, approver, r.id, {}, at);
      if (p.decide === "deny") await stepUp.denyStepUpRequest(t.db, approver, r.id, { note: "not this week" }, at);
    }
    const d = (await getDashboards(t.db, admin, { range: "24h" }, now)).stepUp;
    expect(d.total).toBe(4);
    expect(d.requests.reduce((n, p) => n + p.approved, 0)).toBe(2);
    expect(d.requests.reduce((n, p) => n + p.denied + p.pending, 0)).toBe(2);
    // One point per hour of the window, the empty hours as zeros: a bar chart spaces its points
    // evenly, so a left-out hour would put requests 5 h and 3 h apart next to each other.
    const full = await getDashboards(t.db, admin, { range: "24h" }, now);
    const times = d.requests.map((p) => new Date(p.time).getTime());
    expect(times[0]).toBe(new Date(full.from).getTime());
    expect(times.every((time, i) => i === 0 || time - times[i - 1]! === 3_600_000)).toBe(true);
    expect(times.at(-1)).toBeGreaterThan(now.getTime() - 3_600_000);
    expect(full.alertsBySeverity.map((p) => p.time)).toEqual(full.calls.map((p) => p.time));
    expect(d.approvalRate).toBeCloseTo(2 / 3);
    expect(d.decisionSeconds.p50).toBe(240);
    // Only the grant approved an hour ago for 60 minutes is still running at `now`… by 4 minutes.
    expect(d.activeGrants).toEqual([{ riskClass: "write", count: 1 }]);
    expect((await getDashboards(t.db, admin, { range: "1h" }, now)).stepUp.total).toBe(2);
    expect((await getDashboards(t.db, admin, { range: "24h", portal: "other" }, now)).stepUp.total).toBe(0);
  });

  it("attributes cost to teams by IdP group and exports it as CSV", async () => {
    const rows = await getCostAttribution(t.db, admin, { range: "24h" }, now);
    expect(rows).toContainEqual({ team: "finops-analysts", tool: "cost-explorer/get_costs", calls: 19, bytes: 19_000, latencyMs: 8 * 18 + 3000 });
    expect(rows).toContainEqual(expect.objectContaining({ team: "service account sa_nightly", calls: 1 }));
    const csv = costAttributionCsv([...rows, { team: "=HYPERLINK(\"x\")", tool: "t", calls: 1, bytes: 1, latencyMs: 1 }]);
    expect(csv.split("\n")[0]).toBe("team,tool,calls,bytes,upstream_ms");
    expect(csv).toContain("'=HYPERLINK");
  });
});
