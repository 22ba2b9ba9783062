/**
 * `npm run bench:audit-explorer [-- --events N] [--runs 20] [--keep] [--drop]`
 *
 * The audit explorer's reads at scale, through the real data-access functions
 * (`listAuditEvents`, `auditFacets` in lib/server/audit-events.ts, which build their SQL with
 * lib/server/audit-query.ts): a first page under each single filter, tool + time range + decision,
 * deep keyset pages both ways, and the facet counts. Prints p50/p95 server time per case and
 * PASS/FAIL against the bars of issue 11, with the load average:
 * - PostgreSQL (TEST_DATABASE_URL set), 10,000,000 events: pages ≤ 100 ms p95, facets ≤ 500 ms p95.
 * - PGlite (no TEST_DATABASE_URL), 1,000,000 events in memory: everything ≤ 300 ms p95.
 *
 * The events are generated inside the database (bench/support/audit-fill.ts): realistic shape,
 * but NOT a valid hash chain (this is a read bench; the ingest bench checks the chain).
 * On Postgres the bench keeps its database `portico_bench_explorer` between runs with `--keep`
 * (filling 10M rows takes minutes); a later run reuses it when it holds the same number of events,
 * after applying any new migration to it. `--drop` drops it and exits.
 */
import { createHash } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";

import { openDatabase, type Db } from "@/lib/server/db/client";
import { applyMigrations } from "@/lib/server/db/migrate";
import { assertLocalDatabaseUrl } from "@/lib/server/db/test-database";
import { auditFacets, listAuditEvents } from "@/lib/server/audit-events";
import { systemActor, type Actor } from "@/lib/server/auth/actor";
import { AUDIT_FACETS, AUDIT_FACET_TEXT_SCAN, AUDIT_FACET_WINDOW } from "@/lib/schemas/audit";
import { fillAuditEvents } from "./support/audit-fill";

const { values } = parseArgs({
  options: {
    events: { type: "string" },
    days: { type: "string", default: "60" },
    runs: { type: "string", default: "20" },
    keep: { type: "boolean", default: false },
    drop: { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const serverUrl = process.env.TEST_DATABASE_URL;
const isPostgres = Boolean(serverUrl);
const events = Number(values.events ?? (isPostgres ? 10_000_000 : 1_000_000));
const runs = Number(values.runs);
const DB_NAME = "portico_bench_explorer";
const PAGE_BAR = isPostgres ? 100 : 300;
const FACET_BAR = isPostgres ? 500 : 300;

async function admin(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

if (values.drop) {
  assertLocalDatabaseUrl(serverUrl!);
  await admin(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
  console.log(`dropped ${DB_NAME}`);
  process.exit(0);
}

let db: Db;
let close: () => Promise<void>;
let end: Date;
if (isPostgres) {
  assertLocalDatabaseUrl(serverUrl!);
  const exists = (await admin(`SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'`)).rowCount === 1;
  if (!exists) {
    await admin(`CREATE DATABASE "${DB_NAME}"`);
    // Index builds of 10M rows: more memory for them in this database only.
    await admin(`ALTER DATABASE "${DB_NAME}" SET maintenance_work_mem = '512MB'`);
  }
  const url = new URL(serverUrl!);
  url.pathname = `/${DB_NAME}`;
  const opened = await openDatabase({ url: url.toString() });
  const migrateStarted = performance.now();
  await applyMigrations(opened.adapterFactory);
  const migrateSeconds = (performance.now() - migrateStarted) / 1000;
  if (migrateSeconds > 5) console.log(`migrations applied to the kept database in ${migrateSeconds.toFixed(1)} s`);
  // Fresh statistics, as autovacuum would have them (a new expression index has none until then).
  await opened.db.$executeRawUnsafe(`ANALYZE "AuditEvent"`);
  db = opened.db;
  close = opened.close;
  await db.$executeRawUnsafe(`CREATE TABLE IF NOT EXISTS bench_fill (events int NOT NULL, end_time timestamptz NOT NULL)`);
  const marker = await db.$queryRawUnsafe<Array<{ events: number; end_time: Date }>>(`SELECT events, end_time FROM bench_fill`);
  if (marker[0]?.events === events) {
    end = marker[0].end_time;
    console.log(`reusing ${DB_NAME}: ${events.toLocaleString()} events ending ${end.toISOString()}`);
  } else {
    await db.$executeRawUnsafe(`TRUNCATE "AuditEvent"; DELETE FROM bench_fill`);
    end = await fill(db);
    await db.$executeRawUnsafe(`INSERT INTO bench_fill VALUES (${events}, '${end.toISOString()}')`);
  }
} else {
  const { createTestDatabase } = await import("@/lib/server/db/test-database");
  const t = await createTestDatabase();
  db = t.db;
  close = t.close;
  end = await fill(db);
}

async function fill(target: Db): Promise<Date> {
  const fillEnd = new Date();
  const started = performance.now();
  await fillAuditEvents(target, {
    events,
    days: Number(values.days),
    end: fillEnd,
    onProgress: (done) => process.stdout.write(`\r  generated ${done.toLocaleString()} / ${events.toLocaleString()} events (${((performance.now() - started) / 1000).toFixed(0)} s, load ${load()})`),
  });
  process.stdout.write(`\n  filled and indexed ${events.toLocaleString()} events in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  return fillEnd;
}

const now = new Date(end.getTime() + 1000);
const actor = systemActor("bench");
const viewer: Actor = { type: "user", userId: "usr_4000", email: "user4000@example.com", name: "Viewer", role: "viewer", mfa: false };

// Cursors for deep pages: a seq a tenth of the way into the table (newest-first walks towards it
// from the other end; oldest-first from it), so the keyset has millions of rows on either side.
const bounds = await db.$queryRawUnsafe<Array<{ lo: bigint; hi: bigint }>>(`SELECT min("seq") AS lo, max("seq") AS hi FROM "AuditEvent"`);
const lo = BigInt(bounds[0]!.lo);
const hi = BigInt(bounds[0]!.hi);
const deep = (fraction: number) => (lo + ((hi - lo) * BigInt(Math.round(fraction * 1000))) / 1000n).toString();
const dayAgo = (d: number) => new Date(end.getTime() - d * 86_400_000).toISOString();

type Case = { name: string; kind: "page" | "facets"; params: Record<string, string>; as?: Actor };
const pages: Array<[string, Record<string, string>]> = [
  ["no filter", {}],
  ["range 1h", { range: "1h" }],
  ["range 24h", { range: "24h" }],
  ["range 7d", { range: "7d" }],
  ["range 30d", { range: "30d" }],
  ["custom day, 40 days ago", { range: "custom", from: dayAgo(41), to: dayAgo(40) }],
  ["kind auth.sign_in", { kind: "auth.sign_in" }],
  ["kind config.change (rare)", { kind: "config.change" }],
  ["actor id (busy user)", { actor: "usr_3" }],
  ["actor id (quiet user)", { actor: "usr_4900" }],
  ["actor email substring", { actor: "user4900@example" }],
  ["actorType service_account", { actorType: "service_account" }],
  ["portal", { portal: "security" }],
  ["server", { server: "sentry" }],
  ["tool (busy)", { tool: "cost_explorer_list" }],
  ["tool (rare)", { tool: "sentry_delete" }],
  ["outcome deny", { outcome: "deny" }],
  ["deny rule", { rule: "business-hours" }],
  ["grant", { grant: "grant-100" }],
  ["ip exact", { ip: "10.3.0.4" }],
  ["ip CIDR /16", { ip: "10.200.0.0/16" }],
  ["upstream timeout", { upstream: "timeout" }],
  ["dlp detector", { dlp: "card_number" }],
  ["session", { session: "s-12345" }],
  ["request id", { requestId: createHash("md5").update("r12345").digest("hex") }],
  ["free text", { q: "business-hours" }],
  ["tool + 7d + deny", { tool: "budgets_update", range: "7d", outcome: "deny" }],
  ["tool + 24h + allow", { tool: "cost_explorer_list", range: "24h", outcome: "allow" }],
  ["deep page, newest first", { cursor: deep(0.1), order: "desc" }],
  ["deep page, oldest first", { cursor: deep(0.1), order: "asc" }],
  ["deep page, tool, newest first", { tool: "jira_search", cursor: deep(0.1), order: "desc" }],
  ["deep page, tool, oldest first", { tool: "jira_search", cursor: deep(0.1), order: "asc" }],
  ["oldest first, first page", { order: "asc" }],
  ["oldest first, tool + 7d + deny", { tool: "budgets_update", range: "7d", outcome: "deny", order: "asc" }],
];
const cases: Case[] = [
  ...pages.map(([name, params]): Case => ({ name, kind: "page", params })),
  { name: "viewer's own events (first page)", kind: "page", params: {}, as: viewer },
  { name: "no filter", kind: "facets", params: {} },
  { name: "range 24h", kind: "facets", params: { range: "24h" } },
  { name: "range 30d", kind: "facets", params: { range: "30d" } },
  { name: "tool", kind: "facets", params: { tool: "cost_explorer_list" } },
  { name: "outcome deny", kind: "facets", params: { outcome: "deny" } },
  { name: "tool + 7d + deny", kind: "facets", params: { tool: "budgets_update", range: "7d", outcome: "deny" } },
  // A short range and a past day under a filter with its own index: the seq range the explorer
  // adds to a time range (AuditSeqByHour) must keep them as fast as the time index made them.
  { name: "outcome deny + 1h", kind: "facets", params: { outcome: "deny", range: "1h" } },
  { name: "tool + custom day, 40 days ago", kind: "facets", params: { tool: "jira_search", range: "custom", from: dayAgo(41), to: dayAgo(40) } },
  { name: "free text", kind: "facets", params: { q: "business-hours" } },
  { name: "viewer's own events", kind: "facets", params: {}, as: viewer },
];

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
console.log(`\naudit explorer, ${isPostgres ? "PostgreSQL" : "PGlite"}, ${events.toLocaleString()} events over ${values.days} days (not a valid chain: read bench)`);
console.log(`facet counts cover the newest ${AUDIT_FACET_WINDOW.toLocaleString()} matching events (the UI says so when a count reaches it);`);
console.log(`under a free-text search, the matches among the newest ${AUDIT_FACET_TEXT_SCAN.toLocaleString()} events that pass the other filters (said too)`);
console.log(`load average ${load()} on ${os.cpus().length} cores; ${runs} runs per case after 2 warm-ups (3 runs when a warm-up exceeds 2 s)`);
console.log(`${"case".padEnd(44)} ${"rows".padStart(5)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)}  bar`);
const failures: string[] = [];
for (const c of cases) {
  if (values.only && !`${c.kind} ${c.name}`.includes(values.only)) continue;
  const who = c.as ?? actor;
  const run = async () => {
    if (c.kind === "page") return (await listAuditEvents(db, who, c.params, now)).items.length;
    const facets = await auditFacets(db, who, c.params, now);
    return AUDIT_FACETS.reduce((n, facet) => n + facets[facet].length, 0);
  };
  let slow = false;
  let rows = 0;
  for (let i = 0; i < 2; i++) {
    const s = performance.now();
    rows = await run();
    if (performance.now() - s > 2000) slow = true;
  }
  const samples: number[] = [];
  for (let i = 0; i < (slow ? 3 : runs); i++) {
    const s = performance.now();
    await run();
    samples.push(performance.now() - s);
  }
  const bar = c.kind === "page" ? PAGE_BAR : FACET_BAR;
  const p95 = percentile(samples, 0.95);
  const verdict = p95 <= bar ? "PASS" : "FAIL";
  if (verdict === "FAIL") failures.push(`${c.kind}: ${c.name}`);
  console.log(`${`${c.kind === "page" ? "page" : "facets"}: ${c.name}`.padEnd(44)} ${String(rows).padStart(5)} ${percentile(samples, 0.5).toFixed(1).padStart(8)} ${p95.toFixed(1).padStart(8)}  ${verdict} (≤ ${bar} ms)`);
}
console.log(`load average ${load()}`);
console.log(failures.length === 0 ? "every case within its bar" : `${failures.length} case(s) over the bar: ${failures.join("; ")}`);
await close();
if (isPostgres && !values.keep) {
  await admin(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
  console.log(`dropped ${DB_NAME} (use --keep to reuse it next run)`);
}
