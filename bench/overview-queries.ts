/**
 * `npx tsx --conditions=react-server bench/overview-queries.ts [--events 10000000] [--callers 40] [--runs 20] [--keep]`
 *
 * The overview's queries (lib/server/dashboards.ts: the charts, step-up included, and cost
 * attribution) at the traffic of N audit events (default 10M) spread evenly over 30 days, on
 * PostgreSQL when TEST_DATABASE_URL points at a local server (a scratch database is created and
 * dropped), else on PGlite.
 *
 * What is generated is what ingest would have written for those N events: each event draws a
 * portal (4), a tool (6), a caller (`--callers`) and a decision (90% allowed, 5% denied, 2.5%
 * step-up, 2.5% error) at random; a day at a time, the events are grouped by minute and every
 * dimension (as `rollupEvents` groups a batch), and each overview table gets those rows summed by
 * its own key at minute, hour and day grain, keeping what its `keeps` keeps (as
 * `overviewRollupUpserts` adds them), and the refused ones per hour and reason. No overview query
 * reads the audit events table, so none is generated. The tables' keys are dropped while loading
 * and built again before measuring: the same end state, reached faster. `--keep` leaves the
 * scratch database behind for EXPLAIN ANALYZE.
 *
 * Prints p50/p95 server time per query and range against the 150 ms bar of issue 12, with the
 * machine's load average: on a busy machine the figures move, so label them with it.
 */
import os from "node:os";
import { parseArgs } from "node:util";

import { createTestDatabase } from "@/lib/server/db/test-database";
import { getCostAttribution, getDashboards } from "@/lib/server/dashboards";
import { systemActor } from "@/lib/server/auth/actor";
import { BUCKET_COUNT, GRAINS, overviewTables, type Grain, type OverviewTable } from "@/lib/dashboards/rollup";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "10000000" },
    runs: { type: "string", default: "20" },
    callers: { type: "string", default: "40" },
    keep: { type: "boolean", default: false },
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

// What ingest keeps of each per-minute row per overview table (`keeps` in lib/dashboards/rollup.ts).
const keeps: Record<OverviewTable, string> = {
  TrafficByServer: "true",
  TrafficByTool: `"tool" <> ''`,
  TrafficByActor: "true",
  TrafficCost: `"tool" <> '' AND "decision" IN ('allowed', 'error')`,
};
const measures: Record<string, string> = {
  count: `sum("count")::int`,
  bytes: `sum("bytes")`,
  latencySumMs: `sum("latencySumMs")`,
  upstreamErrors: `sum("upstreamErrors")::int`,
  latencyBuckets: `ARRAY[${Array.from({ length: BUCKET_COUNT }, (_, i) => `sum("latencyBuckets"[${i + 1}])::int`).join(", ")}]`,
};
const tables = Object.keys(overviewTables) as OverviewTable[];
const keyOf = (table: OverviewTable) => ["grain", "start", ...overviewTables[table].dims].map((c) => `"${c}"`).join(", ");

const started = performance.now();
// A day's events grouped by minute and every dimension, as rollupEvents groups a batch: the
// overview tables are these rows summed by each table's key at each grain, as ingest upserts them.
await db.$executeRawUnsafe(`DROP TABLE IF EXISTS bench_minutes`);
await db.$executeRawUnsafe(
  `CREATE UNLOGGED TABLE bench_minutes ("minute" timestamp(3), "portal" text, "server" text, "tool" text, "actor" text, "decision" text,
     "count" int, "bytes" bigint, "latencySumMs" double precision, "latencyBuckets" int[], "upstreamErrors" int)`,
);
// Keys dropped while loading and built again before measuring: the same end state, reached faster.
for (const table of tables) await db.$executeRawUnsafe(`ALTER TABLE "${table}" DROP CONSTRAINT "${table}_pkey"`);
const start = new Date(Math.floor((now.getTime() - DAYS * 86_400_000) / 86_400_000) * 86_400_000);
for (let day = 0; day < DAYS; day++) {
  const from = new Date(start.getTime() + day * 86_400_000);
  await db.$executeRawUnsafe(`TRUNCATE bench_minutes`);
  await db.$executeRawUnsafe(
    `INSERT INTO bench_minutes
     SELECT minute, portal, split_part(tool, '/', 1), split_part(tool, '/', 2), actor, decision, n, n * 4000, n * 80.0,
       ARRAY[0, 0, n / 2, n - n / 2, 0, 0, 0, 0, 0, 0, 0, 0], CASE WHEN decision = 'error' THEN n ELSE 0 END
     FROM (SELECT minute, portal, tool, actor, ${decision} AS decision, count(*)::int AS n FROM (${drawn}) e GROUP BY 1, 2, 3, 4, 5) x`,
    from,
    perDay,
    portals,
    tools,
    callers,
  );
  for (const table of tables) {
    const { dims, measures: ms } = overviewTables[table];
    const dimList = dims.map((d) => `"${d}"`).join(", ");
    for (const grain of Object.keys(GRAINS) as Grain[]) {
      await db.$executeRawUnsafe(
        `INSERT INTO "${table}" (${keyOf(table)}, ${ms.map((m) => `"${m}"`).join(", ")})
         SELECT '${grain}', date_trunc('${grain}', "minute"), ${dimList}, ${ms.map((m) => measures[m]).join(", ")}
         FROM bench_minutes WHERE ${keeps[table]} GROUP BY 2, ${dims.map((_, i) => i + 3).join(", ")}`,
      );
    }
  }
  // Refused calls per hour and first reason, as ingest keeps them for the denial chart.
  await db.$executeRawUnsafe(
    `INSERT INTO "DenialRollup" ("id", "hour", "portal", "reason", "count")
     SELECT gen_random_uuid()::text, date_trunc('hour', "minute"), "portal",
       CASE WHEN "decision" = 'stepup' THEN 'step-up required' ELSE 'role Analyst does not allow ' || "server" || '/' || "tool" END, sum("count")::int
     FROM bench_minutes WHERE "decision" IN ('denied', 'stepup') GROUP BY 2, 3, 4`,
  );
}
await db.$executeRawUnsafe(`DROP TABLE bench_minutes`);
for (const table of tables) await db.$executeRawUnsafe(`ALTER TABLE "${table}" ADD CONSTRAINT "${table}_pkey" PRIMARY KEY (${keyOf(table)})`);
// Vacuumed as autovacuum would have done after ingest wrote them: bulk-loaded rows would otherwise
// get their hint bits written by the first queries measured.
await db.$executeRawUnsafe(`VACUUM ANALYZE ${[...tables, "DenialRollup"].map((t) => `"${t}"`).join(", ")}`);
await db.$executeRawUnsafe(`ANALYZE`);
const counts = await db.$queryRawUnsafe<Array<{ table: string; grain: string; n: bigint }>>(
  tables.map((table) => `SELECT '${table}' AS table, "grain", count(*) AS n FROM "${table}" GROUP BY 2`).join(" UNION ALL "),
);
const calls = await db.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT sum("count") AS n FROM "TrafficByServer" WHERE "grain" = 'minute'`);
console.log(`${t.kind}: rollups for ${Number(calls[0]!.n).toLocaleString()} calls over ${DAYS} days (${callers} callers), built in ${seconds(started)} s (load ${load()}); rows per grain:`);
for (const table of tables) {
  const n = (grain: string) => Number(counts.find((c) => c.table === table && c.grain === grain)?.n ?? 0).toLocaleString();
  console.log(`  ${table.padEnd(16)} minute ${n("minute").padStart(11)}  hour ${n("hour").padStart(9)}  day ${n("day").padStart(7)}`);
}

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
// Each statement's own time too, by the table (or model) it reads: the charts run theirs side by side.
const statements = new Map<string, number[]>();
const timed = db.$extends({
  query: {
    async $allOperations({ model, operation, args, query }) {
      const s = performance.now();
      const out = await query(args);
      const sql = operation.startsWith("$") ? String((args as { strings?: string[] })?.strings?.join("?") ?? (args as unknown[])[0] ?? "") : "";
      const label = model ? `${model}.${operation}` : (/FROM "(\w+)"/.exec(sql)?.[1] ?? operation) + (/"grain" = \?/.test(sql) ? " series" : "");
      statements.set(label, [...(statements.get(label) ?? []), performance.now() - s]);
      return out;
    },
  },
}) as unknown as typeof db;
console.log("range  query              p50 ms   p95 ms   p50/baseline   bar 150 ms");
for (const range of ["1h", "6h", "24h", "7d", "30d"] as const) {
  for (const [name, run] of [
    ["charts", () => getDashboards(timed, actor, { range }, now)],
    ["cost attribution", () => getCostAttribution(timed, actor, { range }, now)],
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
    for (const [label, xs] of [...statements.entries()].sort()) {
      console.log(`         ${label.padEnd(26)} ${percentile(xs, 0.5).toFixed(1).padStart(7)} ${percentile(xs, 0.95).toFixed(1).padStart(8)}`);
    }
    statements.clear();
  }
}
console.log(`load average at the end ${load()}`);
// --keep leaves the scratch database behind (for EXPLAIN ANALYZE); drop it by hand afterwards.
if (values.keep) process.exit(0);
await t.close();
