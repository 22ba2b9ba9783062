import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { errorOf } from "./testing/data-access";

const TOKEN = "gateway-token-for-tests-0123456789abcdef";
process.env.PORTICO_GATEWAY_TOKEN = TOKEN;

// lib/server/http.ts imports the dashboard's session auth (next-auth), which does not load outside
// Next; internal routes never call it.
vi.mock("@/lib/server/auth/current", () => ({
  requireActor: () => {
    throw new Error("internal routes do not use dashboard sessions");
  },
}));

const { createProcessTestDatabase } = await import("./testing/process-database");
const { ingestAuditEvents } = await import("./audit-ingest");
const { appendAuditEvents, recordConfigChange } = await import("./audit");
const { systemActor } = await import("./auth/actor");
const { auditEventInput, verifyChain } = await import("@/lib/audit/event");
const { NextRequest } = await import("next/server");
const route = await import("@/app/api/internal/audit/ingest/route");

type TestDb = Awaited<ReturnType<typeof createProcessTestDatabase>>;
let t: TestDb;
let server: http.Server;
let baseUrl: string;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";

const event = (n: number, extra: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  time: new Date(Date.UTC(2026, 10, 22, 10, 0, 0, n % 1000)).toISOString(),
  kind: "mcp.request",
  actorType: "service_account",
  actorId: "svc-analyst",
  actorLabel: "Analyst automation",
  action: "tools/call",
  outcome: n % 7 === 0 ? "deny" : "allow",
  portal: "finops",
  server: "cost-explorer",
  tool: "cost_explorer_get_costs",
  reasons: n % 7 === 0 ? ["role Analyst does not allow budgets_*"] : null,
  data: { n, args: { month: "2026-10", tags: ["a", "b"] }, latencyMs: 1.25 + n, client: { name: "claude", version: "1.0" } },
  sourceIp: "127.0.0.1",
  requestId: `req-${n}`,
  ...extra,
});

async function chainOfAllRows() {
  const rows = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" } });
  const asEvents = rows.map((r) => ({
    ...r,
    actorType: r.actorType as "user",
    outcome: r.outcome as "success",
    reasons: r.reasons as string[] | null,
    data: r.data as Record<string, unknown> | null,
  }));
  return { rows, verdict: verifyChain(asEvents) };
}

beforeAll(async () => {
  t = await createProcessTestDatabase();
  // A first batch warms the JIT and the query plans; the table is emptied again, so the figures
  // below measure the ingest, not the process's first call.
  await ingestAuditEvents(t.db, Array.from({ length: 200 }, (_, i) => event(i)));
  await t.db.auditEvent.deleteMany();
  // The real route handler behind a real HTTP listener.
  server = http.createServer((req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
    const request = new NextRequest(
      new Request(`http://127.0.0.1${req.url}`, {
        method: req.method,
        headers,
        body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
        duplex: "half",
      } as RequestInit & { duplex: "half" }),
    );
    void route.POST(request).then(async (response) => {
      const payload = Buffer.from(await response.arrayBuffer());
      const responseHeaders = Object.fromEntries(response.headers);
      // A refused body may be left unread (or its stream cancelled): this connection is done.
      if (!req.readableEnded) {
        responseHeaders.connection = "close";
        req.resume();
      }
      res.writeHead(response.status, responseHeaders);
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/internal/audit/ingest`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
});

describe(`ingestAuditEvents (${label})`, () => {
  it("bulk-inserts 1,000 events on the chain, and a re-sent batch is all duplicates", async () => {
    const batch = Array.from({ length: 1_000 }, (_, i) => event(i));
    const started = performance.now();
    const result = await ingestAuditEvents(t.db, batch);
    const seconds = (performance.now() - started) / 1000;
    console.log(`[${label}] ingest of 1,000 events: ${(seconds * 1000).toFixed(0)} ms, ${Math.round(1_000 / seconds)} rows/s`);
    expect(result).toEqual({ accepted: 1_000, duplicates: 0 });

    const { rows, verdict } = await chainOfAllRows();
    expect(verdict).toEqual({ ok: true });
    expect(rows.map((r) => r.id)).toEqual(batch.map((e) => e.id));
    const sample = rows[7]!;
    expect(sample.time.toISOString()).toBe(batch[7]!.time);
    expect(sample.reasons).toEqual(batch[7]!.reasons);
    expect(sample.data).toEqual(batch[7]!.data);
    expect(rows[1]!.reasons).toBeNull();

    expect(await ingestAuditEvents(t.db, batch)).toEqual({ accepted: 0, duplicates: 1_000 });
    expect(await t.db.auditEvent.count()).toBe(1_000);
  });

  it("measures batches of 500, the route's maximum, against createMany", async () => {
    const before = await t.db.auditEvent.count();
    const started = performance.now();
    for (let i = 0; i < 10; i++) await ingestAuditEvents(t.db, Array.from({ length: 500 }, (_, j) => event(i * 500 + j)));
    const seconds = (performance.now() - started) / 1000;
    expect(await t.db.auditEvent.count()).toBe(before + 5_000);
    // The same work through appendAuditEvents (Prisma createMany), for the ratio.
    const startedPrisma = performance.now();
    for (let i = 0; i < 3; i++) {
      const batch = Array.from({ length: 500 }, (_, j) => auditEventInput.parse(event(i * 500 + j)));
      await t.db.$transaction((tx) => appendAuditEvents(tx, batch));
    }
    const prismaRate = 1_500 / ((performance.now() - startedPrisma) / 1000);
    const ingestRate = 5_000 / seconds;
    console.log(`[${label}] batches of 500: ingest ${Math.round(ingestRate)} rows/s, createMany ${Math.round(prismaRate)} rows/s (${(ingestRate / prismaRate).toFixed(1)}x)`);
  });

  it("stores awkward text exactly as hashed", async () => {
    const awkward = ['a "quoted" \\ back\\slash', "{braces},commas", "NULL", "", "  spaced  ", "line\nbreak\ttab", "ünïcødé 🎉 日本"];
    const batch = awkward.map((text, i) => event(i, { actorLabel: text, targetId: text, reasons: [text], data: { [text || "empty"]: text } }));
    expect(await ingestAuditEvents(t.db, batch)).toEqual({ accepted: awkward.length, duplicates: 0 });
    const rows = await t.db.auditEvent.findMany({ where: { id: { in: batch.map((e) => e.id) } }, orderBy: { seq: "asc" } });
    expect(rows.map((r) => [r.actorLabel, r.targetId, r.reasons, r.data])).toEqual(awkward.map((text) => [text, text, [text], { [text || "empty"]: text }]));
    expect((await chainOfAllRows()).verdict).toEqual({ ok: true });
  });

  it("stores only the new events of a partly re-sent batch, once each", async () => {
    const old = Array.from({ length: 3 }, (_, i) => event(i));
    await ingestAuditEvents(t.db, old);
    const fresh = Array.from({ length: 4 }, (_, i) => event(i));
    const result = await ingestAuditEvents(t.db, [...old, fresh[0], ...fresh, fresh[1]]);
    expect(result).toEqual({ accepted: 4, duplicates: 5 });
    const stored = await t.db.auditEvent.findMany({ where: { id: { in: fresh.map((e) => e.id) } }, orderBy: { seq: "asc" } });
    expect(stored.map((r) => r.id)).toEqual(fresh.map((e) => e.id));
    expect((await chainOfAllRows()).verdict).toEqual({ ok: true });
  });

  it("refuses a batch with an invalid event, naming its index, and stores nothing", async () => {
    const before = await t.db.auditEvent.count();
    const batch = [event(1), event(2), { ...event(3), outcome: "maybe" }, event(4)];
    const error = await errorOf(ingestAuditEvents(t.db, batch));
    expect(error).toMatchObject({ code: "validation_failed", message: "Audit event 2 is not valid" });
    expect((error as { fieldErrors: Array<{ field: string }> }).fieldErrors[0]!.field).toBe("events.2.outcome");
    expect(await t.db.auditEvent.count()).toBe(before);
    expect(await t.db.auditEvent.count({ where: { id: batch[0]!.id } })).toBe(0);
  });

  it("stores content Postgres would refuse escaped or truncated, so an older gateway's event is never refused for it", async () => {
    const before = await t.db.auditEvent.count();
    const deep = JSON.parse(`{"deep":${"[".repeat(2_000)}${"]".repeat(2_000)}}`) as object;
    const cases = [
      { ...event(1), actorLabel: "nul\u0000byte" },
      { ...event(2), data: { args: { text: "lone \ud800 surrogate" } } },
      { ...event(3), data: { ["key\u0000"]: 1 } },
      { ...event(4), data: deep },
      { ...event(5), reasons: ["r\u0000".repeat(5_000)], action: "tools/call\u0000".repeat(50) },
    ];
    expect(await ingestAuditEvents(t.db, cases)).toEqual({ accepted: cases.length, duplicates: 0 });
    const stored = await t.db.auditEvent.findMany({ where: { id: { in: cases.map((c) => c.id) } } });
    const byId = new Map(stored.map((row) => [row.id, row]));
    expect(byId.get(cases[0]!.id)!.actorLabel).toBe("nul\\u0000byte");
    expect(byId.get(cases[1]!.id)!.data).toMatchObject({ args: { text: "lone \\ud800 surrogate" }, escapedCharacters: 1 });
    expect(byId.get(cases[2]!.id)!.data).toMatchObject({ "key\\u0000": 1 });
    expect(byId.get(cases[3]!.id)!.data).toMatchObject({ $truncated: { depth: 2_000 } });
    expect(byId.get(cases[4]!.id)!.action.length).toBeLessThanOrEqual(128);
    expect((await chainOfAllRows()).verdict).toEqual({ ok: true });
    expect(await t.db.auditEvent.count()).toBe(before + cases.length);
  });

  it("still refuses a broken structure, naming the event", async () => {
    const before = await t.db.auditEvent.count();
    for (const [i, bad] of [{ ...event(4), time: "0099-01-01T00:00:00.000Z" }, { ...event(5), id: "not-a-uuid" }, { ...event(6), kind: "mcp\u0000" }].entries()) {
      const error = await errorOf(ingestAuditEvents(t.db, [event(0), bad]));
      expect(error, `case ${i}`).toMatchObject({ code: "validation_failed", message: "Audit event 1 is not valid" });
    }
    expect(await t.db.auditEvent.count()).toBe(before);
    // A well-formed pair (an emoji) is kept as it is.
    expect(await ingestAuditEvents(t.db, [{ ...event(6), actorLabel: "ok 🎉" }])).toEqual({ accepted: 1, duplicates: 0 });
  });

  it("keeps one valid chain under concurrent ingests and dashboard writes", async () => {
    const before = await t.db.auditEvent.count();
    const writers: Array<Promise<unknown>> = [];
    for (let round = 0; round < 3; round++) {
      writers.push(ingestAuditEvents(t.db, Array.from({ length: 300 }, (_, i) => event(i))));
      writers.push(ingestAuditEvents(t.db, Array.from({ length: 200 }, (_, i) => event(i))));
      writers.push(
        t.db.$transaction((tx) =>
          recordConfigChange(tx, systemActor("test"), { action: "tool.disable", targetType: "tool", targetId: `tool-${round}`, before: { enabled: true }, after: { enabled: false } }),
        ),
      );
    }
    // The same batch from two gateways at once (a retry racing its original): stored once.
    const twice = Array.from({ length: 50 }, (_, i) => event(i));
    writers.push(ingestAuditEvents(t.db, twice), ingestAuditEvents(t.db, twice));
    const results = await Promise.all(writers);
    const raced = results.slice(-2) as Array<{ accepted: number; duplicates: number }>;
    expect(raced.map((r) => r.accepted).sort()).toEqual([0, 50]);

    const { rows, verdict } = await chainOfAllRows();
    expect(verdict).toEqual({ ok: true });
    expect(rows.length).toBe(before + 3 * 300 + 3 * 200 + 3 + 50);
    expect(rows.filter((r) => r.kind === "config.change").length).toBeGreaterThanOrEqual(3);
  });
});

describe(`POST /api/internal/audit/ingest over HTTP (${label})`, () => {
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(baseUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
      body,
      duplex: "half",
    } as RequestInit & { duplex: "half" });

  it("stores a batch and answers accepted and duplicates", async () => {
    const body = JSON.stringify({ events: [event(1), event(2)] });
    const first = await post(body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ accepted: 2, duplicates: 0 });
    const again = await post(body);
    expect(await again.json()).toEqual({ accepted: 0, duplicates: 2 });
  });

  it("refuses a missing or wrong gateway token with problem+json", async () => {
    const body = JSON.stringify({ events: [event(1)] });
    for (const authorization of ["", "Bearer wrong-token", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const response = await post(body, { authorization });
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await response.json()).toMatchObject({ code: "unauthorized", status: 401 });
    }
  });

  it("answers 422 naming the invalid event, and for more than 2,000 events; takes the spool's batch of 1,000", async () => {
    const invalid = await post(JSON.stringify({ events: [event(1), { ...event(2), id: "not-a-uuid" }] }));
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toMatchObject({ title: "Audit event 1 is not valid", errors: [{ field: "events.1.id" }] });

    const tooMany = await post(JSON.stringify({ events: Array.from({ length: 2001 }, (_, i) => event(i)) }));
    expect(tooMany.status).toBe(422);

    const spoolBatch = await post(JSON.stringify({ events: Array.from({ length: 1000 }, (_, i) => event(10_000 + i)) }));
    expect(spoolBatch.status).toBe(200);
    expect(await spoolBatch.json()).toMatchObject({ accepted: 1000, duplicates: 0 });
  });

  it("takes bodies up to 5 MiB and refuses larger ones, declared or streamed", async () => {
    const bigButFine = JSON.stringify({ events: Array.from({ length: 4 }, (_, i) => event(i, { data: { blob: "x".repeat(1024 * 1024) } })) });
    expect(bigButFine.length).toBeGreaterThan(4 * 1024 * 1024);
    const ok = await post(bigButFine);
    expect(ok.status).toBe(200);

    const tooBig = JSON.stringify({ events: [event(1, { data: { blob: "x".repeat(5 * 1024 * 1024) } })] });
    const declared = await post(tooBig);
    expect(declared.status).toBe(400);
    expect(await declared.json()).toMatchObject({ code: "bad_request" });

    const streamed = await post(
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < 6; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024 * 1024)));
          controller.close();
        },
      }),
    );
    expect(streamed.status).toBe(400);
  });

  it("refuses bodies that are not JSON", async () => {
    expect((await post("{not json")).status).toBe(400);
    expect((await post(JSON.stringify({ events: [] }), { "content-type": "text/plain" })).status).toBe(400);
  });

  it("answers 503 to every call when no gateway token is configured", async () => {
    const saved = process.env.PORTICO_GATEWAY_TOKEN;
    delete process.env.PORTICO_GATEWAY_TOKEN;
    try {
      vi.resetModules();
      const fresh = await import("@/app/api/internal/audit/ingest/route");
      const response = await fresh.POST(
        new NextRequest("http://127.0.0.1/api/internal/audit/ingest", {
          method: "POST",
          headers: { authorization: "Bearer anything", "content-type": "application/json" },
          body: "{}",
        }),
      );
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ code: "unavailable", title: "Gateway token not configured" });
    } finally {
      process.env.PORTICO_GATEWAY_TOKEN = saved;
    }
  });
});
