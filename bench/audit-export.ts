/**
 * `npm run bench:audit-export -- [--rows 1000000] [--format csv,jsonl] [--fill sql|ingest]`:
 * fills a throw-away PGlite (or TEST_DATABASE_URL's Postgres) with events, then exports them all
 * through the real export code (lib/server/audit-export.ts, keyset chunks), reading the stream as
 * a client would, once per format, and prints rows/s and the peak RSS growth during each export
 * against the bar of issue 11: ≤ 100 MB for 1M rows (the growth must not depend on the row count).
 *
 * `--fill sql` (default) generates the rows inside the database (bench/support/audit-fill.ts:
 * realistic, but not a valid hash chain, which an export does not check); `--fill ingest` sends
 * them through the real ingest, 500 at a time (slow at 1M). On PGlite the database lives in this
 * process, so its own cache counts in the RSS: Postgres gives the export's figure alone.
 * Runs under the control plane's V8 flags (CONTROL_PLANE_NODE_FLAGS), as the product does;
 * `--default-heap` runs it under Node's default heap instead, to tell what the code holds to from
 * what the flag holds it to.
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import os from "node:os";
import v8 from "node:v8";
import { CONTROL_PLANE_NODE_FLAGS } from "../scripts/lib/launch";

// The export runs in the control plane, so the bench runs under the control plane's V8 flags
// (scripts/lib/launch.ts): started without them, it runs itself again with them.
const heapLimitMb = Number(CONTROL_PLANE_NODE_FLAGS.find((f) => f.startsWith("--max-old-space-size="))?.split("=")[1]);
const isDefaultHeap = process.argv.includes("--default-heap");
if (!isDefaultHeap && Math.abs(v8.getHeapStatistics().heap_size_limit / 1024 / 1024 - heapLimitMb) > heapLimitMb * 0.1) {
  const child = spawnSync(process.execPath, [...CONTROL_PLANE_NODE_FLAGS, "--import", "tsx", "--conditions=react-server", ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(child.status ?? 1);
}

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const rows = Number(arg("--rows") ?? 1_000_000);
const formats = (arg("--format") ?? "csv,jsonl").split(",");
const fillMode = arg("--fill") ?? "sql";
const withGc = process.argv.includes("--gc");

const { createTestDatabase } = await import("../lib/server/db/test-database");
const { ingestAuditEvents } = await import("../lib/server/audit-ingest");
const { exportResponse } = await import("../lib/server/audit-export");
const { systemActor } = await import("../lib/server/auth/actor");
const { fillAuditEvents } = await import("./support/audit-fill");

const t = await createTestDatabase();
try {
  const fillStarted = performance.now();
  if (fillMode === "sql") await fillAuditEvents(t.db, { events: rows, days: 30, end: new Date() });
  else for (let done = 0; done < rows; done += 500) {
    const batch = Array.from({ length: Math.min(500, rows - done) }, (_, i) => ({
      id: randomUUID(),
      time: new Date(Date.now() - (rows - done - i) * 1000).toISOString(),
      kind: "mcp.request",
      actorType: "user",
      actorId: `u-${i % 50}`,
      actorLabel: `user${i % 50}@example.com`,
      action: "tools/call",
      outcome: i % 7 === 0 ? "deny" : "allow",
      portal: "finops",
      server: ["cost-explorer", "budgets", "tagging"][i % 3],
      tool: ["top_services", "set_budget", "tag_resource"][i % 3],
      reasons: i % 7 === 0 ? ["needs step-up"] : null,
      sourceIp: `10.0.${i % 255}.${(i * 7) % 255}`,
      requestId: randomUUID(),
      data: { sessionId: `s-${i % 200}`, latencyMs: 12.5, requestBytes: 300, responseBytes: 2000, arguments: { month: "2026-11", accounts: ["123456789012"] } },
    }));
    await ingestAuditEvents(t.db, batch);
  }
  const fillSeconds = (performance.now() - fillStarted) / 1000;

  process.stdout.write(
    `audit export: ${rows.toLocaleString()} events (${t.kind ?? "pglite"}, node ${isDefaultHeap ? "default heap" : process.execArgv.filter((a) => a.startsWith("--max")).join(" ")}, heap limit ${Math.round(v8.getHeapStatistics().heap_size_limit / 1024 / 1024)} MB), filled ${fillMode === "sql" ? "in SQL (not a valid chain)" : "through ingest"} in ${fillSeconds.toFixed(1)} s\n`,
  );
  let isOver = false;
  // The second format starts on the heap the first one grew: its own growth can read low, so the
  // growth since before the first export is printed too (what the process as a whole grew by).
  const start = process.memoryUsage().rss;
  for (const format of formats) {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    const res = await exportResponse(t.db, systemActor("bench"), { format });
    const reader = res.body!.getReader();
    let bytes = 0;
    let lines = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      for (const b of value) if (b === 10) lines += 1;
      // --gc (with node --expose-gc): collect as we go, to tell retained memory from garbage not yet collected.
      if (withGc && lines % 5000 < 1000) global.gc?.();
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    clearInterval(timer);
    const seconds = (performance.now() - started) / 1000;
    const growth = (peak - before) / 1024 / 1024;
    const sinceStart = (peak - start) / 1024 / 1024;
    isOver ||= sinceStart > 100;
    process.stdout.write(
      [
        `  ${format}: ${lines.toLocaleString()} lines, ${(bytes / 1024 / 1024).toFixed(1)} MB in ${seconds.toFixed(1)} s (${Math.round(rows / seconds).toLocaleString()} rows/s), load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`,
        `    peak RSS growth during export: ${growth.toFixed(1)} MB${withGc ? " (collecting garbage as it goes)" : ""} (${sinceStart.toFixed(1)} MB since before the first export) — bar ≤ 100 MB: ${sinceStart <= 100 ? "PASS" : "FAIL"}; heap used after: ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(1)} MB`,
        "",
      ].join("\n"),
    );
  }
  if (isOver && process.argv.includes("--check")) process.exitCode = 1;
} finally {
  await t.close();
}
