/**
 * `npx tsx --conditions=react-server bench/overview-queries.ts [--events 10000000] [--callers 40] [--runs 20]`
 *
 * The overview's queries (lib/server/dashboards.ts: the charts, step-up included, and cost
 * attribution) at the traffic of N audit events (default 10M) spread evenly over 30 days, on
 * PostgreSQL when TEST_DATABASE_URL points at a local server (a scratch database is created and
 * dropped), else on PGlite.
 *
 * What is generated is what ingest would have written for those N events: each event draws a
 * portal (4), a tool (6), a caller (`--callers`) and a decision (90% allowed, 5% denied, 2.5%
 * step-up, 2.5% error) at random; the per-minute rollups are those events grouped by minute, the
 * hourly and daily rollups those grouped by hour and day, and the refused ones per hour and reason
 * (as ingest upserts them). No overview query reads the audit events table, so none is generated.
 * The rollup indexes are dropped while loading and built again before measuring: the same end
 * state, reached faster.
 *
 * Prints p50/p95 server time per query and range against the 150 ms bar of issue 12, with the
 * machine's load average: on a busy machine the figures move, so label them with it.
 */
import os from "node:os";
import { parseArgs } from "node:util";

import { createTestDatabase } from "@/lib/server/db/test-database";
import { getCostAttribution, getDashboards } from "@/lib/server/dashboards";
import { systemActor } from "@/lib/server/auth/actor";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "10000000" },
    runs: { type: "string", default: "20" },
    callers: { type: "string", default: "40" },
  },
});
const events = Number(values.events);
const runs = Number(values.runs);
const callers = Number(values.callers);

const t = await createTestDatabase();
const db = t.db;
const actor = systemActor("bench");
const now = new Date();
const DAYS = 30;
const perDay = Math.round(events / DAYS);
const portals = ["finops", "platform", "data", "security"];
const tools = ["cost-explorer/get_daily_costs", "cost-explorer/top_services", "budgets/get_budget_status", "tagging/list_untagged_resources", "tagging/tag_resource", "budgets/update_budget_limit"];
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

// One day of events per statement keeps memory flat: draw each event's dimensions, group by minute.
const drawn = `
  SELECT date_trunc('minute', $1::timestamp + (g * (86400.0 / $2)) * interval '1 second') AS minute,
    ($3::text[])[1 + floor(random() * array_length($3::text[], 1))::int] AS portal,
    ($4::text[])[1 + floor(random() * array_length($4::text[], 1))::int] AS tool,
    'user' || floor(random() * $5)::int || '@example.com' AS actor,
    random() AS r
  FROM generate_series(0, $2 - 1) AS g`;
const decision = `CASE WHEN r < 0.9 THEN 'allowed' WHEN r < 0.95 THEN 'denied' WHEN r < 0.975 THEN 'stepup' ELSE 'error' END`;

const started = performance.now();
await db.$executeRawUnsafe(`DROP INDEX "TrafficRollup_minute_portal_server_tool_actor_decision_key"`);
await db.$executeRawUnsafe(`DROP INDEX "TrafficRollup_minute_idx"`);
const start = new Date(Math.floor((now.getTime() - DAYS * 86_400_000) / 86_400_000) * 86_400_000);
for (let day = 0; day < DAYS; day++) {
  const from = new Date(start.getTime() + day * 86_400_000);
  await db.$executeRawUnsafe(
    `INSERT INTO "TrafficRollup" ("id", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors")
     SELECT gen_random_uuid()::text, minute, portal, split_part(tool, '/', 1), split_part(tool, '/', 2), actor, decision, n, n * 4000, n * 80.0,
       ARRAY[0, 0, n / 2, n - n / 2, 0, 0, 0, 0, 0, 0, 0, 0], CASE WHEN decision = 'error' THEN n ELSE 0 END
     FROM (SELECT minute, portal, tool, actor, ${decision} AS decision, count(*)::int AS n FROM (${drawn}) e GROUP BY 1, 2, 3, 4, 5) x`,
    from,
    perDay,
    portals,
    tools,
    callers,
  );
}
await db.$executeRawUnsafe(`CREATE UNIQUE INDEX "TrafficRollup_minute_portal_server_tool_actor_decision_key" ON "TrafficRollup"("minute", "portal", "server", "tool", "actor", "decision")`);
await db.$executeRawUnsafe(`CREATE INDEX "TrafficRollup_minute_idx" ON "TrafficRollup"("minute")`);
const sumBuckets = Array.from({ length: 12 }, (_, i) => `sum("latencyBuckets"[${i + 1}])::int`).join(", ");
for (const [table, source, grain] of [
  ["TrafficRollupHour", "TrafficRollup", "hour"],
  ["TrafficRollupDay", "TrafficRollupHour", "day"],
] as const) {
  await db.$executeRawUnsafe(
    `INSERT INTO "${table}" ("id", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors")
     SELECT gen_random_uuid()::text, date_trunc('${grain}', "minute"), "portal", "server", "tool", "actor", "decision", sum("count")::int, sum("bytes"), sum("latencySumMs"), ARRAY[${sumBuckets}], sum("upstreamErrors")::int
     FROM "${source}" GROUP BY 2, 3, 4, 5, 6, 7`,
  );
}
const counts = await db.$queryRawUnsafe<Array<{ minutes: bigint; hours: bigint; days: bigint; calls: bigint }>>(
  `SELECT (SELECT count(*) FROM "TrafficRollup") AS minutes, (SELECT count(*) FROM "TrafficRollupHour") AS hours, (SELECT count(*) FROM "TrafficRollupDay") AS days, (SELECT sum("count") FROM "TrafficRollup") AS calls`,
);
const c = counts[0]!;
console.log(`${t.kind}: rollups for ${Number(c.calls).toLocaleString()} calls over ${DAYS} days (${callers} callers): ${Number(c.minutes).toLocaleString()} per-minute, ${Number(c.hours).toLocaleString()} hourly, ${Number(c.days).toLocaleString()} daily rows, built in ${seconds(started)} s (load ${load()})`);

// Refused calls per hour and first reason, as ingest keeps them for the denial chart.
await db.$executeRawUnsafe(
  `INSERT INTO "DenialRollup" ("id", "hour", "portal", "reason", "count")
   SELECT gen_random_uuid()::text, date_trunc('hour', "minute"), "portal",
     CASE WHEN "decision" = 'stepup' THEN 'step-up required' ELSE 'role Analyst does not allow ' || "server" || '/' || "tool" END, sum("count")::int
   FROM "TrafficRollup" WHERE "decision" IN ('denied', 'stepup') GROUP BY 2, 3, 4`,
);
await db.$executeRawUnsafe(`ANALYZE`);

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
console.log(`load average ${load()} on ${os.cpus().length} cores (shared machine)`);
// Same-run baseline: a round trip that does no work, so a loaded machine's figures can be read as ratios.
const baseline: number[] = [];
for (let i = 0; i < runs * 4; i++) {
  const s = performance.now();
  await db.$queryRaw`SELECT 1`;
  baseline.push(performance.now() - s);
}
const base50 = percentile(baseline, 0.5);
console.log(`baseline SELECT 1: p50 ${base50.toFixed(2)} ms, p95 ${percentile(baseline, 0.95).toFixed(2)} ms`);
console.log("range  query              p50 ms   p95 ms   p50/baseline   bar 150 ms");
for (const range of ["1h", "6h", "24h", "7d", "30d"] as const) {
  for (const [name, run] of [
    ["charts", () => getDashboards(db, actor, { range }, now)],
    ["cost attribution", () => getCostAttribution(db, actor, { range }, now)],
  ] as const) {
    await run();
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      await run();
      samples.push(performance.now() - s);
    }
    const p95 = percentile(samples, 0.95);
    const p50 = percentile(samples, 0.5);
    console.log(`${range.padEnd(6)} ${name.padEnd(18)} ${p50.toFixed(1).padStart(7)} ${p95.toFixed(1).padStart(8)} ${`×${(p50 / base50).toFixed(0)}`.padStart(14)}   ${p95 <= 150 ? "PASS" : "FAIL"}`);
  }
}
console.log(`load average at the end ${load()}`);
await t.close();
