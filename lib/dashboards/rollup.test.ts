import { describe, expect, it } from "vitest";
import { bucketOf, decisionOf, percentileOf, overviewRollups, overviewRollupsOf, overviewTables, rollupDenials, rollupEvents, type OverviewTable } from "./rollup";

const base = {
  id: "00000000-0000-4000-8000-000000000000",
  time: new Date("2026-12-07T10:00:30Z"),
  kind: "mcp.request",
  actorType: "user" as const,
  actorLabel: "alice@example.com",
  action: "tools/call",
  outcome: "allow" as const,
  portal: "finops",
  server: "budgets",
  tool: "get_budget",
};

describe("rollups", () => {
  it.each([
    [{ outcome: "allow" as const, data: { upstreamOutcome: "success" } }, "allowed"],
    [{ outcome: "allow" as const, data: { upstreamOutcome: "timeout" } }, "error"],
    [{ outcome: "allow" as const, data: { httpStatus: 502 } }, "error"],
    [{ outcome: "deny" as const, reasons: ["role Analyst does not allow budgets_*"], data: { httpStatus: 200 } }, "denied"],
    [{ outcome: "deny" as const, reasons: ["step-up required"], data: {} }, "stepup"],
    [{ outcome: "deny" as const, reasons: ["needs financial"], data: { httpStatus: 403 } }, "stepup"],
  ])("classifies %j as %s", (extra, decision) => {
    expect(decisionOf({ ...base, ...extra })).toBe(decision);
  });

  it("groups a batch by minute and dimensions, summing bytes and latency buckets", () => {
    const rows = rollupEvents([
      { ...base, data: { latencyMs: 3, upstreamLatencyMs: 2, requestBytes: 100, responseBytes: 400 } },
      { ...base, time: new Date("2026-12-07T10:00:59Z"), data: { latencyMs: 300, requestBytes: 10, responseBytes: 20 } },
      { ...base, time: new Date("2026-12-07T10:01:00Z"), data: { latencyMs: 7 } },
      { ...base, kind: "auth.sign_in" },
    ]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ minute: "2026-12-07T10:00:00.000Z", count: 2, bytes: 530, latencySumMs: 302, decision: "allowed" });
    expect(rows[0]!.latencyBuckets[bucketOf(2)]).toBe(1);
    expect(rows[0]!.latencyBuckets[bucketOf(300)]).toBe(1);
  });

  it("sums a batch into each overview table by that table's key, at minute, hour and day, keeping only what its chart reads", () => {
    const events = [
      { ...base, data: { latencyMs: 3, requestBytes: 100, responseBytes: 400 } },
      { ...base, time: new Date("2026-12-07T10:20:00Z"), actorLabel: "bob@example.com", data: { latencyMs: 300, requestBytes: 10 } },
      { ...base, time: new Date("2026-12-07T10:59:59Z"), outcome: "deny" as const, reasons: ["no"], data: { latencyMs: 1 } },
      { ...base, time: new Date("2026-12-07T11:00:00Z"), data: { latencyMs: 7, upstreamOutcome: "error" } },
      { ...base, time: new Date("2026-12-07T11:00:00Z"), action: "tools/list", tool: undefined, data: {} },
    ];
    const rows = overviewRollups(rollupEvents(events));
    const total = (table: keyof typeof rows, grain: string) => rows[table].filter((r) => r.grain === grain).reduce((n, r) => n + r.count, 0);
    for (const grain of ["minute", "hour", "day"]) {
      expect([total("TrafficByServer", grain), total("TrafficByActor", grain), total("TrafficByTool", grain), total("TrafficCost", grain)], grain).toEqual([5, 5, 4, 3]);
    }
    // Hourly, per server and decision: the same rows as grouping the events by hour directly.
    const hourly = rows.TrafficByServer.filter((r) => r.grain === "hour").map((r) => [r.start, ...r.key, r.count, r.upstreamErrors, r.latencyBuckets]);
    const direct = rollupEvents(events, 3_600_000);
    const expected = new Map<string, unknown[]>();
    for (const r of direct) {
      const key = `${r.minute}|${r.portal}|${r.server}|${r.decision}`;
      const acc = expected.get(key) as [string, string, string, string, number, number, number[]] | undefined;
      if (acc) {
        acc[4] += r.count;
        acc[5] += r.upstreamErrors;
        r.latencyBuckets.forEach((n, i) => (acc[6][i]! += n));
      } else expected.set(key, [r.minute, r.portal, r.server, r.decision, r.count, r.upstreamErrors, [...r.latencyBuckets]]);
    }
    expect(hourly).toEqual(expect.arrayContaining([...expected.values()]));
    expect(hourly).toHaveLength(expected.size);
    // A day is one row per key; cost keeps the two callers apart and drops the refused call.
    expect(rows.TrafficCost.filter((r) => r.grain === "day").map((r) => [r.key[1], r.count, r.bytes])).toEqual([
      [events[0]!.actorLabel, 2, 500],
      ["bob@example.com", 1, 10],
    ]);
  });

  it("sums a batch in one pass into the same rows, in the same order, as grouping it by minute first", () => {
    // Two days, three hours, many minutes; callers, tools, portals, decisions and kinds mixed.
    const events = Array.from({ length: 600 }, (_, i) => ({
      ...base,
      time: new Date(Date.UTC(2026, 11, 7, 22, 0, 0) + i * 17_000 + (i % 7) * 3_600_000),
      kind: i % 29 === 0 ? "auth.sign_in" : "mcp.request",
      actorLabel: i % 11 === 0 ? null : `user${i % 7}@example.com`,
      actorId: i % 22 === 0 ? null : `usr_${i % 5}`,
      outcome: (i % 13 === 0 ? "deny" : "allow") as "deny" | "allow",
      reasons: i % 26 === 0 ? ["step-up required"] : null,
      portal: i % 17 === 0 ? null : ["finops", "data"][i % 2],
      server: ["budgets", "github", "jira"][i % 3],
      tool: i % 9 === 0 ? null : ["get", "list"][i % 2],
      data: { latencyMs: (i % 40) * 2.5, upstreamLatencyMs: i % 3 === 0 ? 0.5 * (i % 8) : undefined, requestBytes: i % 5, responseBytes: i % 4 === 0 ? -1 : 10.4, upstreamOutcome: i % 31 === 0 ? "timeout" : "success" },
    }));
    const twoStep = overviewRollups(rollupEvents(events));
    const onePass = overviewRollupsOf(events);
    for (const table of Object.keys(overviewTables) as OverviewTable[]) {
      const measures = overviewTables[table].measures as readonly string[];
      const kept = (rows: typeof onePass[OverviewTable]) => rows.map((r) => [r.grain, r.start, ...r.key, ...measures.map((m) => r[m as "count"])]);
      expect(onePass[table].length, table).toBeGreaterThan(3);
      expect(kept(onePass[table]), table).toEqual(kept(twoStep[table]));
    }
  });

  it("estimates percentiles from buckets as their upper bounds", () => {
    const buckets = new Array<number>(12).fill(0);
    buckets[bucketOf(4)] = 90;
    buckets[bucketOf(400)] = 10;
    expect(percentileOf(buckets, 0.5)).toBe(5);
    expect(percentileOf(buckets, 0.95)).toBe(500);
    expect(percentileOf(new Array<number>(12).fill(0), 0.5)).toBeNull();
  });
});

describe("denial rollups", () => {
  it("counts refused calls per hour, portal and first reason, cut to 120 characters; allowed calls and other kinds count nothing", () => {
    const long = "x".repeat(130);
    const rows = rollupDenials([
      { ...base, outcome: "deny", reasons: ["step-up required", "second reason"] },
      { ...base, outcome: "deny", reasons: ["step-up required"], time: new Date("2026-12-07T10:59:59Z") },
      { ...base, outcome: "deny", reasons: ["step-up required"], time: new Date("2026-12-07T11:00:00Z") },
      { ...base, outcome: "deny", reasons: [long], portal: null },
      { ...base, outcome: "deny", reasons: null },
      { ...base },
      { ...base, kind: "auth.sign_in", outcome: "deny", reasons: ["nope"] },
    ]);
    expect(rows).toEqual([
      { hour: "2026-12-07T10:00:00.000Z", portal: "finops", reason: "step-up required", count: 2 },
      { hour: "2026-12-07T11:00:00.000Z", portal: "finops", reason: "step-up required", count: 1 },
      { hour: "2026-12-07T10:00:00.000Z", portal: "", reason: "x".repeat(120), count: 1 },
      { hour: "2026-12-07T10:00:00.000Z", portal: "finops", reason: "(no reason recorded)", count: 1 },
    ]);
  });
});
