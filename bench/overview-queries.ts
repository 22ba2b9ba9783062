/**
 * `npx tsx --conditions=react-server bench/overview-queries.ts [--events 10000000] [--callers 8] [--runs 20]`
 *
 * The overview's chart queries (lib/server/dashboards.ts) at the traffic of N audit events spread
 * over 30 days (default 10M). The charts read the per-minute rollups, not the events, so what
 * matters is how many rollup rows N events make: here every minute of the 30 days has rows for
 * 4 portals × 6 tools × `--callers` callers (one decision each), summing to N calls, plus the newest
 * 50,000 denials as events (the one chart that reads events, capped at the newest 5,000 in range).
 * Ranges of a day and more read the hourly rollups. Prints p50/p95 server time per range against the 150 ms bar of issue 12. Uses PGlite, or
 * Postgres when TEST_DATABASE_URL points at a local server (a scratch database is created and
 * dropped). The load of the machine is printed with the figures: a busy machine moves them.
 */
import os from "node:os";
import { parseArgs } from "node:util";

import { createTestDatabase } from "@/lib/server/db/test-database";
import { getCostAttribution, getDashboards } from "@/lib/server/dashboards";
import { systemActor } from "@/lib/server/auth/actor";

const { values } = parseArgs({ options: { events: { type: "string", default: "10000000" }, runs: { type: "string", default: "20" }, callers: { type: "string", default: "8" } } });
const events = Number(values.events);
const runs = Number(values.runs);

const t = await createTestDatabase();
const db = t.db;
const actor = systemActor("bench");
const now = new Date();
const minutes = 30 * 24 * 60;
const portals = ["finops", "platform", "data", "security"];
const tools = [["cost-explorer", "get_daily_costs"], ["cost-explorer", "top_services"], ["budgets", "get_budget_status"], ["tagging", "list_untagged_resources"], ["tagging", "tag_resource"], ["budgets", "update_budget_limit"]];
const callers = Array.from({ length: Number(values.callers) }, (_, i) => `user${i}@example.com`);
const combos = portals.length * tools.length * callers.length;
const perRow = Math.max(1, Math.round(events / (minutes * combos)));

const started = performance.now();
// Rollup rows generated in SQL: one statement per day keeps memory flat.
for (let day = 0; day < 30; day++) {
  const from = new Date(now.getTime() - (30 - day) * 86_400_000);
  await db.$executeRawUnsafe(
    `INSERT INTO "TrafficRollup" ("id", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors")
     SELECT md5(random()::text || m::text || p || t || a), date_trunc('minute', $1::timestamp) + (m || ' minutes')::interval, p, split_part(t, '/', 1), split_part(t, '/', 2), a,
       CASE WHEN random() < 0.9 THEN 'allowed' WHEN random() < 0.5 THEN 'denied' WHEN random() < 0.5 THEN 'stepup' ELSE 'error' END,
       $2::int, $2::int * 4000, $2::int * 80.0, ARRAY[0, 0, $2::int / 2, $2::int - $2::int / 2, 0, 0, 0, 0, 0, 0, 0, 0], 0
     FROM generate_series(0, 1439) AS m, unnest($3::text[]) AS p, unnest($4::text[]) AS t, unnest($5::text[]) AS a
     ON CONFLICT DO NOTHING`,
    from,
    perRow,
    portals,
    tools.map(([s, n]) => `${s}/${n}`),
    callers,
  );
}
// The hourly rollups ingest keeps beside them (the ranges of a day and more read those).
await db.$executeRawUnsafe(
  `INSERT INTO "TrafficRollupHour" ("id", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors")
   SELECT md5(random()::text || h::text || portal || tool || actor || decision), h, portal, server, tool, actor, decision, sum("count")::int, sum("bytes"), sum("latencySumMs"),
     ARRAY[0, 0, sum("count")::int / 2, sum("count")::int - sum("count")::int / 2, 0, 0, 0, 0, 0, 0, 0, 0], 0
   FROM (SELECT date_trunc('hour', "minute") AS h, * FROM "TrafficRollup") r GROUP BY h, portal, server, tool, actor, decision`,
);
await db.$executeRawUnsafe(
  `INSERT INTO "AuditEvent" ("id", "time", "kind", "actorType", "actorId", "action", "outcome", "portal", "server", "tool", "reasons", "prevHash", "hash")
   SELECT gen_random_uuid()::text, $1::timestamp - (g || ' seconds')::interval, 'mcp.request', 'user', 'u' || (g % 8), 'tools/call', 'deny', 'finops', 'budgets', 'update_budget_limit',
     jsonb_build_array('role Analyst does not allow budgets/update_budget_limit ' || (g % 5)), '', ''
   FROM generate_series(1, 50000) AS g`,
  now,
);
const rows = await db.trafficRollup.count();
const calls = await db.$queryRaw<Array<{ n: bigint }>>`SELECT sum("count") AS n FROM "TrafficRollup"`;
console.log(`${t.kind}: ${rows.toLocaleString()} rollup rows standing for ${Number(calls[0]!.n).toLocaleString()} calls over 30 days, built in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} on ${os.cpus().length} cores`);
console.log("range  query              p50 ms   p95 ms   bar 150 ms");
for (const range of ["1h", "24h", "7d", "30d"] as const) {
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
    console.log(`${range.padEnd(6)} ${name.padEnd(18)} ${percentile(samples, 0.5).toFixed(1).padStart(7)} ${p95.toFixed(1).padStart(8)}   ${p95 <= 150 ? "PASS" : "FAIL"}`);
  }
}
await t.close();
