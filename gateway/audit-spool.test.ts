import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import { createAuditSpool, type AuditSpool, type AuditSpoolLog, type AuditSpoolOptions } from "./audit-spool";

// The deliverer's own rules (batching, commit, restart, dead letters) against a scripted control
// plane. gateway/audit-spool.int.test.ts runs it against the real ingest and database.

const dirs: string[] = [];
const spools: AuditSpool[] = [];

afterEach(async () => {
  await Promise.all(spools.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portico-spool-"));
  dirs.push(dir);
  return dir;
}

const event = (n: number): AuditEventInput => ({
  id: randomUUID(),
  time: new Date(),
  kind: "mcp.request",
  actorType: "service_account",
  actorId: "svc",
  action: "tools/call",
  outcome: "allow",
  portal: "finops",
  tool: "cost_explorer_get",
  data: { n },
});

type Posted = { ids: string[]; auth: string | null };

/** A scripted ingest endpoint: `answer` decides each reply from the batch received. */
function controlPlane(answer: (ids: string[], call: number) => { status: number; body?: unknown } = () => ({ status: 200 })) {
  const posted: Posted[] = [];
  const stored = new Set<string>();
  const fetchImpl = (async (_url: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { events: Array<{ id: string }> };
    const ids = body.events.map((e) => e.id);
    posted.push({ ids, auth: new Headers(init?.headers).get("authorization") });
    const reply = answer(ids, posted.length);
    if (reply.status === 200) for (const id of ids) stored.add(id);
    return new Response(JSON.stringify(reply.body ?? { accepted: ids.length, duplicates: 0 }), { status: reply.status, headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  return { posted, stored, fetchImpl };
}

function logger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const log: AuditSpoolLog = (level, message, fields) => lines.push({ level, message, fields });
  return { lines, log };
}

function open(options: Partial<AuditSpoolOptions> & Pick<AuditSpoolOptions, "dir" | "fetchImpl">): AuditSpool {
  const spool = createAuditSpool({ controlPlaneUrl: "http://cp.test/", token: "t".repeat(40), flushIntervalMs: 20, maxBackoffMs: 40, log: () => {}, ...options });
  spools.push(spool);
  return spool;
}

const segmentFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith("seg-")).sort();

describe("audit spool", () => {
  it("delivers in order, in batches, with the gateway token, and removes delivered segments", async () => {
    const dir = tempDir();
    const cp = controlPlane();
    const spool = open({ dir, fetchImpl: cp.fetchImpl, batchSize: 7, maxSegmentBytes: 2_000 });
    const events = Array.from({ length: 50 }, (_, i) => event(i));
    for (const e of events) spool.emit(e);
    expect(spool.depth()).toBe(50);
    await spool.flush();
    expect(spool.depth()).toBe(0);
    expect(cp.posted.flatMap((p) => p.ids)).toEqual(events.map((e) => e.id));
    expect(Math.max(...cp.posted.map((p) => p.ids.length))).toBe(7);
    expect(cp.posted.every((p) => p.auth === `Bearer ${"t".repeat(40)}`)).toBe(true);
    // Sealed segments are gone once delivered; only the active one (maybe a fresh one) remains.
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(2);
  });

  it("gathers a trickle of events into few deliveries instead of one POST per event", async () => {
    const dir = tempDir();
    const cp = controlPlane();
    const spool = open({ dir, fetchImpl: cp.fetchImpl, flushIntervalMs: 5, gatherMs: 60 });
    const events = Array.from({ length: 40 }, (_, i) => event(i));
    for (const e of events) {
      spool.emit(e);
      await new Promise((r) => setTimeout(r, 5));
    }
    await spool.flush();
    expect(cp.posted.flatMap((p) => p.ids)).toEqual(events.map((e) => e.id));
    // About 200 ms of traffic: a handful of deliveries, not forty.
    expect(cp.posted.length).toBeLessThanOrEqual(10);
  });

  it("keeps retrying while the control plane fails, drops nothing, and backs off", async () => {
    const dir = tempDir();
    let down = true;
    const cp = controlPlane(() => ({ status: down ? 503 : 200 }));
    const spool = open({ dir, fetchImpl: cp.fetchImpl });
    const events = Array.from({ length: 30 }, (_, i) => event(i));
    for (const e of events.slice(0, 10)) spool.emit(e);
    await new Promise((r) => setTimeout(r, 300));
    for (const e of events.slice(10)) spool.emit(e);
    expect(spool.depth()).toBe(30);
    const attemptsWhileDown = cp.posted.length;
    expect(attemptsWhileDown).toBeGreaterThan(1);
    // Backoff ceiling 40 ms over 300 ms: a handful of attempts, not a busy loop.
    expect(attemptsWhileDown).toBeLessThan(40);
    down = false;
    await spool.flush();
    expect(spool.depth()).toBe(0);
    expect([...cp.stored].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it("resumes after a restart from the committed offset, re-sending nothing acknowledged", async () => {
    const dir = tempDir();
    const events = Array.from({ length: 20 }, (_, i) => event(i));
    const first = controlPlane((_ids, call) => ({ status: call <= 2 ? 200 : 503 }));
    const spool = open({ dir, fetchImpl: first.fetchImpl, batchSize: 5 });
    for (const e of events) spool.emit(e);
    while (first.posted.length < 3) await new Promise((r) => setTimeout(r, 5));
    await spool.close();
    expect(spool.depth()).toBe(10);

    const second = controlPlane();
    const again = open({ dir, fetchImpl: second.fetchImpl, batchSize: 5 });
    expect(again.depth()).toBe(10);
    await again.flush();
    expect(second.posted.flatMap((p) => p.ids)).toEqual(events.slice(10).map((e) => e.id));
    expect(again.depth()).toBe(0);
  });

  it("re-sends from the oldest segment when the commit file is unreadable", async () => {
    const dir = tempDir();
    const spool = open({ dir, fetchImpl: controlPlane(() => ({ status: 503 })).fetchImpl });
    const events = Array.from({ length: 4 }, (_, i) => event(i));
    for (const e of events) spool.emit(e);
    await spool.close();
    fs.writeFileSync(path.join(dir, "commit.json"), "{garbage");
    const cp = controlPlane();
    const log = logger();
    const again = open({ dir, fetchImpl: cp.fetchImpl, log: log.log });
    await again.flush();
    expect(cp.posted.flatMap((p) => p.ids)).toEqual(events.map((e) => e.id));
    expect(log.lines.some((l) => l.level === "warn" && l.message.includes("commit file"))).toBe(true);
  });

  it("skips a torn last line and a corrupt line with a warning, delivering the rest", async () => {
    const dir = tempDir();
    const events = Array.from({ length: 3 }, (_, i) => event(i));
    const lines = events.map((e) => JSON.stringify(e));
    fs.writeFileSync(path.join(dir, "seg-000000000001.jsonl"), `${lines[0]}\nnot json at all\n${lines[1]}\n${lines[2]}\n${lines[2]!.slice(0, 30)}`);
    const cp = controlPlane();
    const log = logger();
    const spool = open({ dir, fetchImpl: cp.fetchImpl, log: log.log });
    expect(spool.depth()).toBe(4); // the corrupt line counts until skipped; the torn one never did
    await spool.flush();
    expect(cp.posted.flatMap((p) => p.ids)).toEqual(events.map((e) => e.id));
    expect(spool.depth()).toBe(0);
    // The delivered segment is deleted after the flush resolves: on a loaded machine, not within a fixed few ms.
    await vi.waitFor(() => {
      expect(log.lines.filter((l) => l.level === "warn").map((l) => l.message)).toEqual(
        expect.arrayContaining(["audit spool skipped a corrupt line", "audit spool skipped a torn line at the end of a segment"]),
      );
      expect(segmentFiles(dir)).not.toContain("seg-000000000001.jsonl");
    }, { timeout: 5_000, interval: 20 });
  });

  it("sets aside events the control plane names as invalid (422) and delivers the others", async () => {
    const dir = tempDir();
    const events = Array.from({ length: 5 }, (_, i) => event(i));
    const cp = controlPlane((ids) => {
      const bad = ids.indexOf(events[2]!.id);
      return bad === -1
        ? { status: 200 }
        : { status: 422, body: { title: `Audit event ${bad} is not valid`, errors: [{ field: `events.${bad}.kind`, message: "Too long" }] } };
    });
    const spool = open({ dir, fetchImpl: cp.fetchImpl });
    for (const e of events) spool.emit(e);
    await spool.flush();
    expect([...cp.stored].sort()).toEqual(events.filter((_, i) => i !== 2).map((e) => e.id).sort());
    const deadLetters = fs.readFileSync(path.join(dir, "dead-letter.jsonl"), "utf8").trim().split("\n");
    expect(deadLetters.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([events[2]!.id]);
    expect(spool.depth()).toBe(0);
  });

  it("reports its dead letters, keeps the count across a restart, and replays them once the cause is fixed", async () => {
    const dir = tempDir();
    const events = Array.from({ length: 4 }, (_, i) => event(i));
    let isFixed = false;
    const cp = controlPlane((ids) => {
      const bad = ids.findIndex((id) => id === events[1]!.id || id === events[3]!.id);
      return isFixed || bad === -1 ? { status: 200 } : { status: 422, body: { title: `Audit event ${bad} is not valid`, errors: [{ field: `events.${bad}.data`, message: "Refused" }] } };
    });
    const first = open({ dir, fetchImpl: cp.fetchImpl, batchSize: 1 });
    expect(first.deadLetters()).toEqual({ count: 0, lastReason: null, lastAt: null });
    for (const e of events) first.emit(e);
    await first.flush();
    expect(first.deadLetters()).toMatchObject({ count: 2, lastReason: "Audit event 0 is not valid", lastAt: expect.any(String) });
    await first.close();

    const second = open({ dir, fetchImpl: cp.fetchImpl });
    expect(second.deadLetters()).toMatchObject({ count: 2, lastReason: "Audit event 0 is not valid" });
    isFixed = true;
    expect(await second.replayDeadLetters()).toBe(2);
    await second.flush();
    expect([...cp.stored].sort()).toEqual(events.map((e) => e.id).sort());
    expect(second.deadLetters()).toEqual({ count: 0, lastReason: null, lastAt: null });
    expect(fs.existsSync(path.join(dir, "dead-letter.jsonl"))).toBe(false);
    expect(await second.replayDeadLetters()).toBe(0);
  });

  it("finishes a replay a crash interrupted, on the next start", async () => {
    const dir = tempDir();
    const e = event(0);
    fs.writeFileSync(path.join(dir, "dead-letter.replaying.jsonl"), `${JSON.stringify(e)}\n`);
    const cp = controlPlane();
    const spool = open({ dir, fetchImpl: cp.fetchImpl });
    // The start-up replay runs on its own; on a loaded machine it may take more than a tick.
    for (const deadline = Date.now() + 5_000; cp.stored.size === 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
      await spool.flush();
    }
    expect([...cp.stored]).toEqual([e.id]);
    expect(fs.existsSync(path.join(dir, "dead-letter.replaying.jsonl"))).toBe(false);
  });

  it("retries a 422 that names no event instead of setting the batch aside", async () => {
    const dir = tempDir();
    let calls = 0;
    const cp = controlPlane(() => ({ status: ++calls < 3 ? 422 : 200, body: { title: "The request is not valid", errors: [{ field: "events", message: "?" }] } }));
    const spool = open({ dir, fetchImpl: cp.fetchImpl });
    const e = event(0);
    spool.emit(e);
    await spool.flush();
    expect([...cp.stored]).toEqual([e.id]);
    expect(fs.existsSync(path.join(dir, "dead-letter.jsonl"))).toBe(false);
  });

  it("sets aside, without sending, an event larger than the ingest route accepts", async () => {
    const dir = tempDir();
    const cp = controlPlane();
    const spool = open({ dir, fetchImpl: cp.fetchImpl, maxSegmentBytes: 64 * 1024 * 1024 });
    const small = event(1);
    const huge = { ...event(0), data: { blob: "x".repeat(6 * 1024 * 1024) } };
    spool.emit(huge);
    spool.emit(small);
    await spool.flush();
    expect(cp.posted.flatMap((p) => p.ids)).toEqual([small.id]);
    expect(fs.readFileSync(path.join(dir, "dead-letter.jsonl"), "utf8")).toContain(huge.id);
  });

  it("never appends to a segment of an earlier run", async () => {
    const dir = tempDir();
    const failing = controlPlane(() => ({ status: 503 }));
    const spool = open({ dir, fetchImpl: failing.fetchImpl });
    spool.emit(event(0));
    await spool.close();
    const before = segmentFiles(dir);
    const again = open({ dir, fetchImpl: failing.fetchImpl });
    again.emit(event(1));
    expect(segmentFiles(dir).length).toBe(before.length + 1);
    expect(fs.readFileSync(path.join(dir, before.at(-1)!), "utf8").trim().split("\n")).toHaveLength(1);
  });

  it("rejects a pending flush on close and keeps the events for the next start", async () => {
    const dir = tempDir();
    const spool = open({ dir, fetchImpl: controlPlane(() => ({ status: 503 })).fetchImpl });
    spool.emit(event(0));
    const flushed = spool.flush();
    await new Promise((r) => setTimeout(r, 30));
    await spool.close();
    await expect(flushed).rejects.toThrow(/closed/);
    const again = open({ dir, fetchImpl: controlPlane().fetchImpl });
    expect(again.depth()).toBe(1);
  });
});
