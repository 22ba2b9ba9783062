import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Actor } from "./auth/actor";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
const { createTestDatabase } = await import("./db/test-database");
const { ingestAuditEvents } = await import("./audit-ingest");
const { verifyAuditChain } = await import("./audit-verify");
const { runRetentionPurge, getRetentionStatus } = await import("./audit-retention");
const { updateSettings } = await import("./settings");
const { exportResponse } = await import("./audit-export");
const { verifyExport } = await import("@/lib/audit/verify-export");
const { publicJwks } = await import("./signing-keys");
const { listAuditEvents } = await import("./audit-events");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const admin: Actor = { type: "user", userId: "u-admin", email: "admin@example.test", name: "Admin", role: "admin", mfa: true };
const auditor: Actor = { ...admin, userId: "u-auditor", email: "auditor@example.test", role: "auditor" };

// The movable clock: "now" for every purge below, events placed relative to it.
const NOW = new Date(Date.UTC(2026, 11, 7, 12));
const daysAgo = (d: number, plusSeconds = 0) => new Date(NOW.getTime() - d * 86_400_000 + plusSeconds * 1000);

const mcp = (time: Date, i: number): AuditEventInput => ({
  id: randomUUID(),
  time,
  kind: "mcp.request",
  actorType: "user",
  actorId: "u-bob",
  actorLabel: "bob@example.test",
  action: "tools/call",
  outcome: "allow",
  portal: "finops",
  server: "budgets",
  tool: "get_budget",
  data: { sessionId: `s-${i}`, arguments: { month: `2026-${(i % 12) + 1}`, card: "[redacted:card]" }, result: { content: [{ type: "text", text: `budget ${i}` }] }, latencyMs: 12 },
  requestId: randomUUID(),
});
const signIn = (time: Date): AuditEventInput => ({ id: randomUUID(), time, kind: "auth.sign_in", actorType: "user", actorId: "u-bob", action: "sign_in.password", outcome: "success" });
const configChange = (time: Date, i: number): AuditEventInput => ({
  id: randomUUID(),
  time,
  kind: "config.change",
  actorType: "user",
  actorId: "u-admin",
  action: "portal.update",
  outcome: "success",
  targetType: "portal",
  targetId: `p-${i}`,
  data: { before: { enabled: false }, after: { enabled: true } },
});

/** The day the log was written: 500 days ago (everything but config past retention), 100 days ago (payloads past), today. */
async function seed() {
  const batch: AuditEventInput[] = [];
  for (let i = 0; i < 30; i++) {
    batch.push(mcp(daysAgo(500, i), i));
    if (i % 7 === 3) batch.push(signIn(daysAgo(500, i)));
    if (i % 10 === 5) batch.push(configChange(daysAgo(500, i), i));
  }
  for (let i = 0; i < 20; i++) batch.push(mcp(daysAgo(100, i), 100 + i));
  batch.push(configChange(daysAgo(100, 30), 99));
  for (let i = 0; i < 10; i++) batch.push(mcp(daysAgo(1, i), 200 + i));
  // Ingest sorts nothing: chain order is batch order, the order the events happened.
  await ingestAuditEvents(t.db, batch);
}

const count = (where: object) => t.db.auditEvent.count({ where });

/** The hours AuditSeqByHour keeps that no event is in any more. */
const emptySeqHours = async () =>
  (await t.db.$queryRaw<Array<{ hour: Date }>>`
    SELECT h."hour" FROM "AuditSeqByHour" h WHERE NOT EXISTS (SELECT 1 FROM "AuditEvent" e WHERE date_trunc('hour', e."time") = h."hour") ORDER BY 1`).map((r) => r.hour.toISOString());
/** Events outside their hour's seq range: the explorer's time-range reads would miss them. */
const uncoveredEvents = async () =>
  (await t.db.$queryRaw<Array<{ n: bigint | number }>>`
    SELECT count(*) AS n FROM "AuditEvent" e LEFT JOIN "AuditSeqByHour" h ON h."hour" = date_trunc('hour', e."time")
    WHERE h."hour" IS NULL OR e."seq" NOT BETWEEN h."minSeq" AND h."maxSeq"`).map((r) => Number(r.n))[0];
/** The events from 30 days before `now` on, newest first, as the explorer reads a preset range: in seq order, from the lowest seq AuditSeqByHour gives the range's hours. */
async function explorerIds(now: Date): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listAuditEvents(t.db, auditor, { range: "30d", cursor, limit: 100 }, now);
    ids.push(...page.items.map((e) => e.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

beforeAll(async () => {
  t = await createTestDatabase();
  await seed();
});
afterAll(async () => {
  await t?.close();
});

describe("retention purge", () => {
  it("shows each class's retention, size and what is due before anything is purged", async () => {
    const status = await getRetentionStatus(t.db, auditor, NOW);
    const by = Object.fromEntries(status.classes.map((c) => [c.class, c]));
    expect(by.payloads).toMatchObject({ days: 30, rows: 60, due: 20 });
    expect(by.mcp).toMatchObject({ days: 400, rows: 60, due: 30 });
    expect(by.auth).toMatchObject({ days: 400, rows: 4, due: 4 });
    expect(by.governance).toMatchObject({ days: 2557, rows: 4, due: 0 });
    // The oldest payload is the oldest MCP call's (it was left out: "60 events, oldest —").
    expect(by.payloads!.oldest).toBe(daysAgo(500).toISOString());
    for (const c of status.classes) expect(c.bytes).toBeGreaterThan(0);
    expect(status.lastPurge).toBeNull();
  });

  it("clears payloads, deletes rows past their class's retention, in batches, and the chain still verifies", async () => {
    const result = await runRetentionPurge(t.db, admin, { now: NOW, batch: 7 });
    expect(result).toMatchObject({ ok: true, deleted: { mcp: 30, auth: 4, governance: 0 }, payloadsCleared: 20, failure: null });
    expect(result.batches).toBeGreaterThan(5);

    // Config changes from 500 days ago stay (7 years); MCP and sign-in rows of that day are gone.
    expect(await count({ kind: "config.change", time: { lt: daysAgo(400) } })).toBe(3);
    expect(await count({ kind: { in: ["mcp.request", "auth.sign_in"] }, time: { lt: daysAgo(400) } })).toBe(0);
    // The hour of 500 days ago keeps its seq range (its config changes are the oldest events left):
    // the explorer, from 510 days ago on, finds every event left.
    expect(await uncoveredEvents()).toBe(0);
    const all = await t.db.auditEvent.findMany({ orderBy: { seq: "desc" }, select: { id: true } });
    expect(await explorerIds(daysAgo(480))).toEqual(all.map((r) => r.id));

    // 100 days ago: rows kept, payload gone, its digest kept; yesterday: untouched.
    const mid = await t.db.auditEvent.findMany({ where: { kind: "mcp.request", time: { gte: daysAgo(101), lt: daysAgo(99) } } });
    expect(mid).toHaveLength(20);
    for (const row of mid) {
      const data = row.data as Record<string, unknown>;
      expect(data.arguments).toBeUndefined();
      expect(data.result).toBeUndefined();
      expect(data.payloadDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(data.sessionId).toMatch(/^s-/);
    }
    const recent = await t.db.auditEvent.findFirstOrThrow({ where: { kind: "mcp.request", time: { gte: daysAgo(2) } } });
    expect((recent.data as Record<string, unknown>).arguments).toBeDefined();

    // The overview's rollups go with them: nothing of 500 days ago; of 100 days ago only the
    // per-day rows (no chart reads minutes or hours that old); yesterday's at every grain.
    expect(result.rollupRows).toBeGreaterThan(0);
    const grains = async (from: Date, to: Date) =>
      (await t.db.trafficByServer.findMany({ where: { start: { gte: from, lt: to } }, select: { grain: true } })).map((r) => r.grain).sort();
    expect(await grains(daysAgo(501), daysAgo(499))).toEqual([]);
    expect(new Set(await grains(daysAgo(101), daysAgo(99)))).toEqual(new Set(["day"]));
    expect(new Set(await grains(daysAgo(2), NOW))).toEqual(new Set(["day", "hour", "minute"]));
    expect(await t.db.trafficByActor.count({ where: { start: { lt: daysAgo(400) } } })).toBe(0);

    const verified = await verifyAuditChain(t.db);
    expect(verified).toMatchObject({ ok: true, failure: null });
    // Three config changes kept among deleted rows: four holes, each bridged by a signed record.
    expect(verified.purgesBridged).toBe(4);
    expect(await t.db.auditPurge.count()).toBe(4);

    // The purge wrote down what it did.
    const event = await t.db.auditEvent.findFirstOrThrow({ where: { kind: "audit.purge" } });
    expect(event).toMatchObject({ actorId: "u-admin", outcome: "success" });
    expect((event.reasons as string[])[0]).toContain("deleted 34 events (30 MCP, 4 sign-in/token");
    const after = await getRetentionStatus(t.db, auditor, NOW);
    expect(after.lastPurge).toMatchObject({ outcome: "success" });
    // Metadata of 100 days ago stays without its payload: the oldest payload now is yesterday's.
    const classes = Object.fromEntries(after.classes.map((c) => [c.class, c]));
    expect(classes.mcp!.oldest).toBe(daysAgo(100).toISOString());
    expect(classes.payloads!.oldest).toBe(daysAgo(1).toISOString());
  });

  it("exports a whole-chain JSON Lines file that still verifies offline across the holes", async () => {
    const text = await (await exportResponse(t.db, auditor, { format: "jsonl" })).text();
    expect(text).toContain('"record":"purge"');
    const offline = await verifyExport(
      () =>
        (async function* () {
          for (const line of text.split("\n")) yield line;
        })(),
      await publicJwks(t.db),
    );
    expect(offline).toMatchObject({ ok: true, isContiguous: true, failure: null });
  });

  it("still names a row deleted by hand as missing, and refuses a forged purge record", async () => {
    const victim = await t.db.auditEvent.findFirstOrThrow({ where: { kind: "mcp.request", time: { gte: daysAgo(2) } }, orderBy: { seq: "asc" } });
    await t.db.auditEvent.delete({ where: { seq: victim.seq } });
    const broken = await verifyAuditChain(t.db);
    expect(broken.failure).toMatchObject({ problem: "missing" });
    expect(BigInt(broken.failure!.seq)).toBeGreaterThan(victim.seq);

    // A purge record for the hole, but not signed by the control plane's key.
    await t.db.auditPurge.create({ data: { fromSeq: victim.seq, toSeq: victim.seq, prevHash: victim.prevHash, lastHash: victim.hash, count: 1, signature: "x.y.z", kid: "forged" } });
    expect((await verifyAuditChain(t.db)).ok).toBe(false);
    await t.db.auditPurge.deleteMany({ where: { kid: "forged" } });
    await t.db.auditEvent.create({ data: { ...victim, reasons: victim.reasons ?? undefined, data: victim.data ?? undefined } });
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("refuses to purge a row someone edited, and records that it stopped there", async () => {
    const later = new Date(NOW.getTime() + 400 * 86_400_000);
    const edited = await t.db.auditEvent.findFirstOrThrow({ where: { kind: "mcp.request" }, orderBy: { seq: "asc" } });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "tool" = 'delete_budget' WHERE "seq" = ${edited.seq}`;
    const result = await runRetentionPurge(t.db, admin, { now: later });
    expect(result).toMatchObject({ ok: false, failure: { seq: edited.seq.toString() } });
    expect(await count({ seq: edited.seq })).toBe(1);
    expect(await count({ kind: "audit.purge.failed" })).toBe(1);
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "tool" = ${edited.tool} WHERE "seq" = ${edited.seq}`;
  });

  it("eight years on, deletes the config changes too and merges the holes into one signed record", async () => {
    const later = new Date(NOW.getTime() + 8 * 365 * 86_400_000);
    await updateSettings(t.db, admin, { retentionGovernanceDays: 2557 });
    const result = await runRetentionPurge(t.db, admin, { now: later, batch: 5 });
    expect(result.failure).toBeNull();
    // Only the newest row survives: the next event must link to a row that exists.
    expect(await t.db.auditEvent.count()).toBe(2);
    // The hours of the deleted rows (500 and 100 days ago, yesterday) went with them; the
    // explorer still finds both rows left, through the seq range of their hours.
    expect(await emptySeqHours()).toEqual([]);
    expect(await uncoveredEvents()).toBe(0);
    const left = await t.db.auditEvent.findMany({ orderBy: { seq: "desc" }, select: { id: true } });
    expect(await explorerIds(new Date(Date.now() + 60_000))).toEqual(left.map((r) => r.id));
    expect(await t.db.auditPurge.count()).toBe(1);
    const verified = await verifyAuditChain(t.db);
    expect(verified).toMatchObject({ ok: true, checked: 2 });
  });
});

describe("retention purge and SIEM destinations", () => {
  let s: TestDb;
  beforeAll(async () => {
    s = await createTestDatabase();
    // 10 sign-ins past retention, 5 MCP calls whose payloads are past retention, 3 recent calls.
    await ingestAuditEvents(s.db, [
      ...Array.from({ length: 10 }, (_, i) => signIn(daysAgo(500, i))),
      ...Array.from({ length: 5 }, (_, i) => mcp(daysAgo(100, i), i)),
      ...Array.from({ length: 3 }, (_, i) => mcp(daysAgo(1, i), 10 + i)),
    ]);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("deletes no row an enabled destination has not delivered yet, clears payloads anyway, and says why in the status", async () => {
    const seqs = (await s.db.auditEvent.findMany({ orderBy: { seq: "asc" }, select: { seq: true } })).map((r) => r.seq);
    // The SIEM has the first 4 sign-ins; a paused destination, far behind, holds nothing back.
    await s.db.logDestination.create({ data: { name: "Splunk", kind: "splunk_hec", url: "https://siem.example.test/", secretEnc: "unused", cursor: seqs[3]! } });
    await s.db.logDestination.create({ data: { name: "Old SIEM", kind: "https", url: "https://old.example.test/", secretEnc: "unused", cursor: 0n, enabled: false } });

    const before = await getRetentionStatus(s.db, auditor, NOW);
    expect(before.heldBySiem).toEqual({ destination: "Splunk", deliveredUpTo: seqs[3]!.toString(), rows: 6 });

    const result = await runRetentionPurge(s.db, admin, { now: NOW, batch: 3 });
    expect(result).toMatchObject({ ok: true, deleted: { auth: 4 }, payloadsCleared: 5, heldBySiem: { destination: "Splunk" } });
    expect(await s.db.auditEvent.count({ where: { kind: "auth.sign_in" } })).toBe(6);
    expect(await s.db.auditEvent.count({ where: { seq: { lte: seqs[3]! } } })).toBe(0);
    expect(await verifyAuditChain(s.db)).toMatchObject({ ok: true, failure: null });

    // Once the destination has caught up, the next purge deletes the rest.
    await s.db.logDestination.updateMany({ where: { name: "Splunk" }, data: { cursor: seqs.at(-1)! } });
    expect((await getRetentionStatus(s.db, auditor, NOW)).heldBySiem).toBeNull();
    expect((await runRetentionPurge(s.db, admin, { now: NOW })).deleted.auth).toBe(6);
    expect(await verifyAuditChain(s.db)).toMatchObject({ ok: true, failure: null });
  });
});
