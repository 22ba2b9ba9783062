/**
 * `TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npm run bench:audit-ingest [-- --events 200000] [--batch N] [--rounds 3]`
 *
 * Audit ingest throughput through the gateway's delivery path, on PostgreSQL (bar, issue 11:
 * ≥ 20,000 events/s sustained, chain still verifiable):
 *   gateway audit spool (gateway/audit-spool.ts, segments on disk, one POST at a time, in order)
 *   → HTTP → the real ingest route (app/api/internal/audit/ingest/route.ts: gateway token, body
 *   cap, zod) → lib/server/audit-ingest.ts (validation, dedup, hash chain, rollups) → Postgres,
 *   with the alert engine observing every batch as the control plane's server runs it.
 *
 * The spool is filled while the control plane holds its first request, then released: the clock
 * runs from the release until `flush()` resolves (every event acknowledged), i.e. the sustained
 * rate of the delivery path with a backlog (after an outage, or under a burst). The whole chain is
 * then verified with the product's verifier (lib/server/audit-verify.ts).
 *
 * Baseline, same run, same database, in rounds alternating with the path (`--rounds`, default 3):
 * the same rows as one plain multi-row `INSERT … SELECT unnest(…)` per batch into a copy of the table with the same indexes: no HTTP, no validation, no
 * chain, no rollups. It is what the database alone takes; the ratio is what the path costs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";

const { values } = parseArgs({
  options: { events: { type: "string", default: "200000" }, batch: { type: "string" }, rounds: { type: "string", default: "3" }, keep: { type: "boolean", default: false } },
});
const total = Number(values.events);
const serverUrl = process.env.TEST_DATABASE_URL;
if (!serverUrl) {
  console.error("Set TEST_DATABASE_URL to a local PostgreSQL server (the bar is for PostgreSQL); a scratch database is created and dropped.");
  process.exit(2);
}
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");

const { assertLocalDatabaseUrl } = await import("@/lib/server/db/test-database");
assertLocalDatabaseUrl(serverUrl);
const dbName = `portico_bench_ingest_${randomBytes(4).toString("hex")}`;
const admin = async (sql: string) => {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
};
await admin(`CREATE DATABASE "${dbName}"`);
const dbUrl = new URL(serverUrl);
dbUrl.pathname = `/${dbName}`;
const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-ingest-bench-"));
const token = randomBytes(24).toString("base64url");
process.env.DATABASE_URL = dbUrl.toString();
process.env.PORTICO_GATEWAY_TOKEN = token;
process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

let cleanup = async () => {
  fs.rmSync(spoolDir, { recursive: true, force: true });
  if (!values.keep) await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
};
try {
  const { openDatabase } = await import("@/lib/server/db/client");
  const { applyMigrations } = await import("@/lib/server/db/migrate");
  const migrator = await openDatabase({ url: dbUrl.toString() });
  await applyMigrations(migrator.adapterFactory);
  await migrator.close();

  const { NextRequest } = await import("next/server");
  const { POST } = await import("@/app/api/internal/audit/ingest/route");
  const { getDb } = await import("@/lib/server/db/instance");
  const { installAlertEngine, uninstallAlertEngine } = await import("@/lib/server/alerts/engine");
  const { verifyAuditChain } = await import("@/lib/server/audit-verify");
  const { createAuditSpool } = await import("@/gateway/audit-spool");
  const db = await getDb();
  installAlertEngine(db);

  // The control plane: node:http in front of the real route handler, as Next runs it.
  let release!: () => void;
  let gate = Promise.resolve();
  let posts = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        await gate;
        posts += 1;
        const request = new NextRequest(`http://127.0.0.1${req.url}`, { method: req.method, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
        const response = await POST(request);
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(Buffer.from(await response.arrayBuffer()));
      })().catch((error: unknown) => {
        console.error(error);
        res.writeHead(500).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  const servers = ["cost-explorer", "budgets", "tagging", "github", "jira", "snowflake"];
  const tools = ["list", "get", "search", "create", "update"];
  const event = (i: number) => {
    const deny = i % 13 === 0;
    const server = servers[i % servers.length]!;
    return {
      id: randomUUID(),
      time: new Date(Date.now() - (total - i)).toISOString(),
      kind: "mcp.request",
      actorType: i % 10 === 0 ? "service_account" : "user",
      actorId: `usr_${i % 500}`,
      actorLabel: `user${i % 500}@example.com`,
      action: "tools/call",
      outcome: deny ? "deny" : "allow",
      targetType: "tool",
      targetId: `${server}/${tools[i % tools.length]}`,
      portal: ["finops", "platform", "data"][i % 3],
      server,
      tool: `${server.replace(/-/g, "_")}_${tools[i % tools.length]}`,
      reasons: deny ? ["role Analyst does not allow this tool"] : null,
      sourceIp: `10.0.${i % 250}.${(i * 7) % 250}`,
      requestId: randomUUID(),
      data: {
        gateway: "gw-1",
        clientName: "claude-code",
        clientVersion: "2.1.0",
        sessionId: `s-${Math.floor(i / 40)}`,
        protocolVersion: "2025-11-25",
        exposedName: `${server}__${tools[i % tools.length]}`,
        httpStatus: 200,
        latencyMs: 12.345 + (i % 300),
        requestBytes: 320,
        responseBytes: deny ? 0 : 2048,
        upstreamOutcome: deny ? "not_called" : "success",
        upstreamLatencyMs: 9.5,
        arguments: { month: "2026-11", accounts: ["123456789012"], limit: 50 },
      },
    };
  };
  const rows = Array.from({ length: total }, (_, i) => event(i));
  const rounds = Number(values.rounds);
  const perRound = Math.ceil(total / rounds);
  const client = new pg.Client({ connectionString: dbUrl.toString() });
  await client.connect();
  // Its own seq sequence: the copied default would draw from the chain's and leave gaps in it.
  await client.query(`CREATE TABLE bench_plain (LIKE "AuditEvent" INCLUDING DEFAULTS INCLUDING INDEXES)`);
  await client.query(`CREATE SEQUENCE bench_plain_seq; ALTER TABLE bench_plain ALTER COLUMN "seq" SET DEFAULT nextval('bench_plain_seq')`);
  const spool = createAuditSpool({
    dir: spoolDir,
    controlPlaneUrl: `http://127.0.0.1:${port}`,
    token,
    ...(values.batch ? { batchSize: Number(values.batch) } : {}),
    log: (level, message, fields) => {
      if (level === "warn" || level === "error") console.error(level, message, fields);
    },
  });
  // Rounds alternate the path and the baseline, so a change in the machine's load lands on both.
  let seconds = 0;
  let baselineSeconds = 0;
  const loadBefore = load();
  for (let round = 0; round < rounds; round++) {
    const slice = rows.slice(round * perRound, (round + 1) * perRound);
    if (slice.length === 0) break;
    // ---- the delivery path: the spool filled while the control plane holds, then released ----
    gate = new Promise<void>((resolve) => (release = resolve));
    for (const e of slice) spool.emit(e as never);
    const started = performance.now();
    release();
    await spool.flush();
    seconds += (performance.now() - started) / 1000;

    // ---- baseline: the same rows as plain multi-row inserts, same indexes, same batch size ----
    const batch = values.batch ? Number(values.batch) : 1000;
    const baselineStarted = performance.now();
    for (let from = 0; from < slice.length; from += batch) {
      const part = slice.slice(from, from + batch);
      const col = (f: (e: (typeof rows)[number]) => unknown) =>
        part.map((e) => {
          const v = f(e);
          return v == null ? null : typeof v === "string" ? v : JSON.stringify(v);
        });
      await client.query(
        `INSERT INTO bench_plain ("id", "time", "kind", "actorType", "actorId", "actorLabel", "action", "outcome", "targetType", "targetId",
           "portal", "server", "tool", "reasons", "data", "sourceIp", "requestId", "prevHash", "hash")
         SELECT a, b::timestamptz AT TIME ZONE 'UTC', c, d, e, f, g, h, i, j, k, l, m, n::jsonb, o::jsonb, p, q, r, s
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
           $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[])
           AS u(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s)`,
        [
          col((e) => e.id), col((e) => e.time), col((e) => e.kind), col((e) => e.actorType), col((e) => e.actorId), col((e) => e.actorLabel),
          col((e) => e.action), col((e) => e.outcome), col((e) => e.targetType), col((e) => e.targetId), col((e) => e.portal), col((e) => e.server),
          col((e) => e.tool), col((e) => e.reasons), col((e) => e.data), col((e) => e.sourceIp), col((e) => e.requestId),
          part.map(() => "0".repeat(64)), part.map(() => "f".repeat(64)),
        ],
      );
    }
    baselineSeconds += (performance.now() - baselineStarted) / 1000;
  }
  await spool.close();
  server.close();
  await client.end();
  const stored = await db.auditEvent.count();
  const rate = total / seconds;
  const baseline = total / baselineSeconds;
  const batch = Math.round(total / Math.max(1, posts));

  // ---- the chain, verified by the product's verifier ----
  const verifyStarted = performance.now();
  const verdict = await verifyAuditChain(db);
  const verifySeconds = (performance.now() - verifyStarted) / 1000;
  uninstallAlertEngine();

  console.log(`audit ingest through the gateway's delivery path, PostgreSQL, ${total.toLocaleString()} events`);
  console.log(`load average before ${loadBefore}, after ${load()} on ${os.cpus().length} cores`);
  console.log(`  spool → HTTP → ingest route → chain:  ${Math.round(rate).toLocaleString().padStart(8)} events/s  (${seconds.toFixed(1)} s, ${posts} POSTs, ~${batch} events each, ${stored.toLocaleString()} stored)`);
  console.log(`  baseline, plain multi-row INSERT:      ${Math.round(baseline).toLocaleString().padStart(8)} events/s  (same rows, same indexes, same batch size; ${rounds} rounds alternating with the path)`);
  console.log(`  ratio to baseline: ${(rate / baseline).toFixed(2)}`);
  console.log(`  chain verified by the product's verifier: ${verdict.ok ? `ok, ${verdict.checked.toLocaleString()} events up to seq ${verdict.verifiedUpTo?.seq}` : `BROKEN at seq ${verdict.failure?.seq}: ${verdict.failure?.problem}`} (${verifySeconds.toFixed(1)} s)`);
  const pass = rate >= 20_000 && verdict.ok && stored === total;
  console.log(`  bar ≥ 20,000 events/s sustained with a verifiable chain: ${pass ? "PASS" : "FAIL"}`);
  await db.$disconnect();
  if (!verdict.ok || stored !== total) process.exitCode = 1;
} finally {
  await cleanup();
  cleanup = async () => {};
}
