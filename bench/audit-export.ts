/**
 * `npx tsx --conditions=react-server bench/audit-export.ts [--rows 200000] [--format jsonl|csv]`:
 * fills a throw-away PGlite (or TEST_DATABASE_URL's Postgres) with MCP-like events through the
 * real ingest, then exports them all through the real export code, reading the stream as a client
 * would, and prints rows/s and the peak RSS growth during the export (bar, issue 11: ≤ 100 MB for
 * 1M rows; the growth must not depend on the row count).
 */
import { randomBytes, randomUUID } from "node:crypto";
import os from "node:os";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const rows = Number(arg("--rows") ?? 200_000);
const format = arg("--format") ?? "jsonl";
const withGc = process.argv.includes("--gc");

const { createTestDatabase } = await import("../lib/server/db/test-database");
const { ingestAuditEvents } = await import("../lib/server/audit-ingest");
const { exportResponse } = await import("../lib/server/audit-export");
const { systemActor } = await import("../lib/server/auth/actor");

const t = await createTestDatabase();
try {
  const fillStarted = performance.now();
  for (let done = 0; done < rows; done += 500) {
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
  process.stdout.write(
    [
      `audit export: ${rows} events (${t.kind ?? "pglite"}), ${format}, load average ${os.loadavg()[0]!.toFixed(2)}`,
      `  filled through ingest in ${fillSeconds.toFixed(1)} s (${Math.round(rows / fillSeconds)} events/s)`,
      `  exported ${lines} lines, ${(bytes / 1024 / 1024).toFixed(1)} MB in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s)`,
      `  peak RSS growth during export: ${((peak - before) / 1024 / 1024).toFixed(1)} MB${withGc ? " (collecting garbage as it goes)" : ""}; heap used after: ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(1)} MB`,
      "",
    ].join("\n"),
  );
} finally {
  await t.close();
}
