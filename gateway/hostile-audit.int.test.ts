import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { mulberry32, pick } from "@/lib/prng";

import { createAuditSpool, type AuditSpool } from "./audit-spool";
import { GATEWAY_TOKEN, startHarness, type Harness } from "./testing/harness";

// The record outlives the input: calls carrying what a database refuses, through the real gateway
// to a real upstream, with the real spool delivering to the real ingest on a test database
// (PGlite, or Postgres with TEST_DATABASE_URL). Every answered call must be in the trail, once.

const { createTestDatabase } = await import("@/lib/server/db/test-database");
const { ingestAuditEvents } = await import("@/lib/server/audit-ingest");
const { toAppError } = await import("@/lib/server/errors");
const { verifyChain } = await import("@/lib/audit/event");

const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const SEED = Number(process.env.FUZZ_SEED ?? 18);
const CALLS = Number(process.env.FUZZ_CALLS ?? 10_000);

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let ingest: http.Server;
let spool: AuditSpool;
let spoolDir: string;
let h: Harness;
let token: string;

beforeAll(async () => {
  t = await createTestDatabase();
  ingest = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.headers.authorization !== `Bearer ${GATEWAY_TOKEN}`) return reply(401, { status: 401 });
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] };
      ingestAuditEvents(t.db, body.events).then(
        (result) => reply(200, result),
        (error: unknown) => {
          const known = toAppError(error);
          reply(known?.status ?? 500, { status: known?.status ?? 500, code: known?.code, title: known?.message, errors: known?.fieldErrors });
        },
      );
    });
  });
  await new Promise<void>((resolve) => ingest.listen(0, "127.0.0.1", resolve));
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-hostile-"));
  spool = createAuditSpool({
    dir: spoolDir,
    controlPlaneUrl: `http://127.0.0.1:${(ingest.address() as AddressInfo).port}`,
    token: GATEWAY_TOKEN,
    flushIntervalMs: 50,
    batchSize: 500,
  });
  h = await startHarness({ emit: (event) => spool.emit(event) });
  token = await h.mintToken();
});

afterAll(async () => {
  await h?.close();
  await spool?.close();
  await new Promise<void>((resolve) => ingest?.close(() => resolve()));
  await t?.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

/** The nonce a call carried as its first argument, wherever the stored (maybe truncated) arguments keep it. */
function nonceOf(data: unknown): string | null {
  const args = (data as { arguments?: Record<string, unknown> } | null)?.arguments;
  const holder = (args && "$truncated" in args ? args.preview : args) as Record<string, unknown> | undefined;
  return typeof holder?.nonce === "string" ? holder.nonce : null;
}

async function trailed(): Promise<Map<string, number>> {
  await spool.flush();
  const rows = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", action: "tools/call" }, select: { data: true } });
  const seen = new Map<string, number>();
  for (const row of rows) {
    const nonce = nonceOf(row.data);
    if (nonce) seen.set(nonce, (seen.get(nonce) ?? 0) + 1);
  }
  return seen;
}

const deadLetters = () => {
  const file = path.join(spoolDir, "dead-letter.jsonl");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean).length : 0;
};

/** A raw Streamable HTTP session: the SDK's client cannot serialise the deepest shapes. */
async function rawSession() {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(h.portalUrl(), {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "hostile\u0000client \ud800", version: "1" } } }),
  });
  await init.text();
  const sessionId = init.headers.get("mcp-session-id")!;
  const sessionHeaders = { ...headers, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" };
  await (await fetch(h.portalUrl(), { method: "POST", headers: sessionHeaders, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).text();
  let id = 1;
  return async (argumentsJson: string) => {
    const response = await fetch(h.portalUrl(), {
      method: "POST",
      headers: sessionHeaders,
      body: `{"jsonrpc":"2.0","id":${id++},"method":"tools/call","params":{"name":"probe_echo","arguments":${argumentsJson}}}`,
    });
    const text = await response.text();
    const data = text.split("\n").find((line) => line.startsWith("data: "));
    const message = (data ? JSON.parse(data.slice(6)) : text ? JSON.parse(text) : null) as { result?: { content?: Array<{ text: string }>; isError?: boolean }; error?: unknown } | null;
    return { status: response.status, message };
  };
}

describe(`hostile arguments through the gateway (${label})`, () => {
  it("serves or refuses each hostile shape as before, and audits every one of them", async () => {
    const callTool = await rawSession();
    const deep = (n: number) => `${"[".repeat(n)}"\\u0000"${"]".repeat(n)}`;
    const shapes: Array<{ name: string; json: string; expect: (r: Awaited<ReturnType<typeof callTool>>) => void }> = [
      { name: "nul", json: '{"nonce":"shape-nul","text":"a\\u0000b"}', expect: (r) => expect(r.message?.result?.content?.[0]?.text).toBe("echo: a\u0000b") },
      { name: "lone surrogate", json: '{"nonce":"shape-surrogate","text":"x\\ud800y"}', expect: (r) => expect(r.message?.result?.content?.[0]?.text).toMatch(/^echo: x/) },
      { name: "NUL in a key", json: '{"nonce":"shape-key","text":"k","\\u0000":"v"}', expect: (r) => expect(r.message?.result?.content?.[0]?.text).toBe("echo: k") },
      {
        name: "string just under the 1 MiB body cap",
        json: `{"nonce":"shape-big","text":"${"x".repeat(1024 * 1024 - 300)}"}`,
        expect: (r) => expect(r.message?.result?.content?.[0]?.text.length).toBe(1024 * 1024 - 300 + 6),
      },
      // Deeper than the audit keeps (29 levels), within what the gateway parses (64): served, stored truncated.
      { name: "50-deep nesting", json: `{"nonce":"shape-deep","text":"d","deep":${deep(50)}}`, expect: (r) => expect(r.message?.result?.content?.[0]?.text).toBe("echo: d") },
      // Past what the gateway parses: refused before parsing (400 / -32700), and the refusal audited.
      { name: "10,000-deep nesting", json: `{"nonce":"shape-too-deep","text":"d","deep":${deep(10_000)}}`, expect: (r) => expect(r.status).toBe(400) },
      {
        name: "huge array",
        json: `{"nonce":"shape-array","text":"a","list":[${Array.from({ length: 150_000 }, (_, i) => i % 10).join(",")}]}`,
        expect: (r) => expect(r.message?.result?.content?.[0]?.text).toBe("echo: a"),
      },
    ];
    for (const shape of shapes) {
      const response = await callTool(shape.json);
      expect(response.message, shape.name).not.toBeNull();
      shape.expect(response);
    }
    // Over the body cap: refused as before (413), and the refusal is audited.
    const tooBig = await callTool(`{"nonce":"shape-10mb","text":"${"x".repeat(10 * 1024 * 1024)}"}`);
    expect(tooBig.status).toBe(413);

    const seen = await trailed();
    for (const nonce of ["shape-nul", "shape-surrogate", "shape-key", "shape-big", "shape-deep", "shape-array"]) expect(seen.get(nonce), nonce).toBe(1);
    const refused = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", outcome: "deny" } });
    expect(refused.some((e) => (e.reasons as string[] | null)?.includes("body too large"))).toBe(true);
    expect(refused.some((e) => (e.reasons as string[] | null)?.includes("JSON nested too deep"))).toBe(true);

    // What the auditor reads: escaped text, and the sizes of what was cut.
    const rows = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", action: "tools/call" }, orderBy: { seq: "asc" } });
    const byNonce = new Map(rows.map((row) => [nonceOf(row.data), row.data as Record<string, unknown>]));
    expect(byNonce.get("shape-nul")).toMatchObject({ arguments: { text: "a\\u0000b" }, escapedCharacters: expect.any(Number) });
    expect(byNonce.get("shape-big")).toMatchObject({ arguments: { $truncated: { bytes: expect.any(Number) } }, argumentsTruncated: true });
    expect((byNonce.get("shape-big")!.arguments as { $truncated: { bytes: number } }).$truncated.bytes).toBeGreaterThan(1_000_000);
    expect(byNonce.get("shape-deep")).toMatchObject({ arguments: { $truncated: { depth: 51 } } });
    expect(byNonce.get("shape-nul")!.clientName).toBe("hostile\\u0000client \\ud800");

    expect(deadLetters()).toBe(0);
    const all = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" } });
    expect(verifyChain(all.map((r) => ({ ...r, actorType: r.actorType as "user", outcome: r.outcome as "allow", reasons: r.reasons as string[] | null, data: r.data as Record<string, unknown> | null })))).toEqual({ ok: true });
  });

  it(`keeps every one of ${CALLS} fuzzed calls (seed ${SEED}) in the trail exactly once, with nothing dead-lettered`, async () => {
    const random = mulberry32(SEED);
    // Mostly small and hostile (where a NUL would hide a call), now and then big, deep or wide:
    // the size shapes have their own test above, and 10,000 of them would only time the upstream.
    const isBig = () => random() < 0.02;
    const hostileText = (): string =>
      pick(random, [
        () => "\u0000",
        () => `a\u0000b\u0000`,
        () => String.fromCharCode(0xd800 + Math.floor(random() * 0x800)),
        () => Array.from({ length: 1 + Math.floor(random() * 40) }, () => String.fromCharCode(Math.floor(random() * 0x10000))).join(""),
        () => "😀\ud83d",
        () => (isBig() ? "x".repeat(Math.floor(random() * 40_000)) : "x".repeat(Math.floor(random() * 200))),
        () => "plain text",
      ])();
    const hostileValue = (depth = 0): unknown =>
      pick(random, [
        () => hostileText(),
        () => ({ [hostileText()]: depth < 3 ? hostileValue(depth + 1) : 1 }),
        () => Array.from({ length: Math.floor(random() * (isBig() ? 3_000 : 30)) }, () => Math.floor(random() * 100)),
        () => {
          // Deep, within the 64 levels the gateway parses (the message itself takes a few).
          let v: unknown = hostileText();
          for (let i = 0, n = Math.floor(random() * 50); i < n; i++) v = random() < 0.5 ? [v] : { d: v };
          return v;
        },
        () => random() * 1e300,
        () => null,
      ])();

    const clients = await Promise.all(Array.from({ length: 4 }, () => h.connect(token)));
    const acknowledged: string[] = [];
    const started = performance.now();
    let next = 0;
    await Promise.all(
      clients.map(async (client) => {
        while (next < CALLS) {
          const i = next++;
          const nonce = `fuzz-${SEED}-${i}`;
          const args: Record<string, unknown> = { nonce, text: random() < 0.8 ? hostileText() : hostileValue() };
          for (let k = 0, n = Math.floor(random() * 3); k < n; k++) args[hostileText().slice(0, 50)] = hostileValue();
          // A few ask for a tool by a hostile name: denied, and audited all the same.
          const name = random() < 0.03 ? `probe_echo${hostileText().slice(0, 20)}` : "probe_echo";
          try {
            await client.callTool({ name, arguments: args });
            acknowledged.push(nonce);
          } catch (error) {
            // A JSON-RPC error answer is an answer too; anything else (a transport failure) is not.
            if (error instanceof McpError) acknowledged.push(nonce);
            else throw error;
          }
        }
      }),
    );
    const served = performance.now();
    const seen = await trailed();
    const trailedAt = performance.now();
    console.log(
      `gateway fuzz (${label}): ${CALLS} calls in ${((served - started) / 1000).toFixed(1)} s, in the trail ${((trailedAt - started) / 1000).toFixed(1)} s after the first call`,
    );
    await Promise.all(clients.map((c) => c.close()));

    expect(acknowledged.length).toBe(CALLS);
    const missing = acknowledged.filter((nonce) => seen.get(nonce) !== 1);
    expect(missing.slice(0, 10), `${missing.length} acknowledged calls not in the trail exactly once`).toEqual([]);
    expect(deadLetters()).toBe(0);
  }, 900_000);
});
