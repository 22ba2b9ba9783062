import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Actor } from "./auth/actor";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
const { createTestDatabase } = await import("./db/test-database");
const { ingestAuditEvents } = await import("./audit-ingest");
const { listAuditEvents, auditFacets, getAuditEvent, streamAuditEvents } = await import("./audit-events");
const { exportResponse } = await import("./audit-export");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;

const NOW = new Date("2026-12-07T12:00:00Z");
const person = (role: "admin" | "approver" | "auditor" | "viewer", userId: string): Actor => ({
  type: "user",
  userId,
  email: `${role}@example.test`,
  name: role,
  role,
  mfa: true,
});
const auditor = person("auditor", "u-auditor");
const approver = person("approver", "u-approver");
const alice = person("viewer", "u-alice");

function call(over: Partial<AuditEventInput> & { ageMinutes: number; data?: Record<string, unknown> }): AuditEventInput {
  const { ageMinutes, ...rest } = over;
  return {
    id: randomUUID(),
    time: new Date(NOW.getTime() - ageMinutes * 60_000),
    kind: "mcp.request",
    actorType: "user",
    actorId: "u-bob",
    actorLabel: "bob@example.test",
    action: "tools/call",
    outcome: "allow",
    portal: "finops",
    server: "budgets",
    tool: "set_budget",
    sourceIp: "10.1.2.3",
    requestId: randomUUID(),
    ...rest,
    data: { sessionId: "s-1", upstreamOutcome: "success", arguments: { amount: 100 }, result: { ok: true }, ...rest.data },
  };
}

beforeAll(async () => {
  t = await createTestDatabase();
  await ingestAuditEvents(t.db, [
    call({ ageMinutes: 60 * 24 * 10, outcome: "deny", reasons: ["role finops-analyst: financial tools need step-up"] }),
    call({ ageMinutes: 60 * 24 * 2, outcome: "deny", reasons: ["role finops-analyst: financial tools need step-up"], sourceIp: "::ffff:192.168.7.9" }),
    call({ ageMinutes: 90, outcome: "deny", reasons: ["outside allowed hours"], data: { sessionId: "s-2" } }),
    call({ ageMinutes: 30, tool: "get_costs", server: "cost-explorer", data: { grantId: "g-42", upstreamOutcome: "timeout" } }),
    call({ ageMinutes: 10, actorId: "u-alice", actorLabel: "alice@example.test", tool: "get_costs", server: "cost-explorer", data: { dlp: [{ detector: "card", field: "arguments", count: 1 }] } }),
    call({ ageMinutes: 5, kind: "config.change", action: "portal.update", outcome: "success", portal: null, server: null, tool: null, actorId: "u-admin" }),
  ]);
  // Approvers see the portals they approve for: finops through a role any approver decides,
  // payroll only through a role that names the payroll-managers group.
  const finops = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  const payroll = await t.db.portal.create({ data: { slug: "payroll", name: "Payroll" } });
  const analyst = await t.db.portalRole.create({ data: { slug: "analyst", name: "Analyst", stepUpRiskClasses: ["financial"] } });
  const hr = await t.db.portalRole.create({ data: { slug: "hr", name: "HR", stepUpRiskClasses: ["write"], stepUpApprovers: ["payroll-managers"] } });
  const plain = await t.db.portalRole.create({ data: { slug: "reader", name: "Reader" } });
  await t.db.roleGrant.createMany({
    data: [
      { roleId: analyst.id, portalId: finops.id },
      { roleId: hr.id, portalId: payroll.id },
      { roleId: plain.id, portalId: payroll.id },
    ],
  });
  await t.db.user.create({ data: { id: "u-payroll-approver", email: "pam@example.test", name: "Pam", role: "approver", idpGroups: ["payroll-managers"] } });
});
afterAll(async () => {
  await t?.close();
});

const list = (actor: Actor, params: Record<string, unknown>) => listAuditEvents(t.db, actor, params, NOW);

/** The events of a JSON Lines export, as a client downloads it (`now` fixed for preset ranges). */
async function exportedEvents(actor: Actor, params: Record<string, unknown>): Promise<Array<Record<string, unknown>>> {
  const text = await (await exportResponse(t.db, actor, { format: "jsonl", ...params }, undefined, NOW)).text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.record === "event");
}

describe("the audit explorer's data access", () => {
  it("combines filters: denied calls to budgets tools in the last 7 days", async () => {
    const page = await list(auditor, { range: "7d", outcome: "deny", server: "budgets" });
    expect(page.items.map((e) => e.reasons?.[0])).toEqual(["outside allowed hours", "role finops-analyst: financial tools need step-up"]);
  });

  it("filters on reasons, grant, upstream outcome, DLP detector, session and a CIDR (IPv4-mapped addresses included)", async () => {
    expect((await list(auditor, { rule: "STEP-UP" })).items).toHaveLength(2);
    expect((await list(auditor, { grant: "g-42" })).items.map((e) => e.tool)).toEqual(["get_costs"]);
    expect((await list(auditor, { upstream: "timeout" })).items).toHaveLength(1);
    expect((await list(auditor, { dlp: "card" })).items.map((e) => e.actorId)).toEqual(["u-alice"]);
    expect((await list(auditor, { session: "s-2" })).items).toHaveLength(1);
    expect((await list(auditor, { ip: "192.168.0.0/16" })).items).toHaveLength(1);
    expect((await list(auditor, { ip: "10.1.2.3" })).items).toHaveLength(5);
    // One address is an exact match, however it is written: with a full prefix, or IPv4-mapped.
    expect((await list(auditor, { ip: "10.1.2.3/32" })).items).toHaveLength(5);
    expect((await list(auditor, { ip: "::ffff:192.168.7.9" })).items).toHaveLength(1);
    expect((await list(auditor, { ip: "192.168.7.9" })).items).toHaveLength(1);
    expect((await list(auditor, { ip: "192.168.7.8" })).items).toHaveLength(0);
    expect((await list(auditor, { q: "portal.upd" })).items.map((e) => e.kind)).toEqual(["config.change"]);
    await expect(list(auditor, { ip: "not-an-ip" })).rejects.toThrow();
    // Actor: an exact id, or the start of the label in any case (indexed; a substring is not).
    expect((await list(auditor, { actor: "u-alice" })).items).toHaveLength(1);
    expect((await list(auditor, { actor: "ALICE@Example" })).items.map((e) => e.actorId)).toEqual(["u-alice"]);
    expect((await list(auditor, { actor: "b_b" })).items).toHaveLength(0);
  });

  it("pages by keyset in both directions without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await list(auditor, { limit: 4, order: "asc", ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.seq));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => a - b));
    const newest = await list(auditor, { limit: 2 });
    expect(newest.items[0]!.seq).toBe(seen.at(-1));
    const next = await list(auditor, { limit: 2, cursor: newest.nextCursor! });
    expect(next.items.map((e) => e.seq)).toEqual([seen[3], seen[2]]);
  });

  it("pages a custom range by event time, both ways, without gaps or repeats", async () => {
    // An event that reached the store late: an older time than its neighbours in seq order.
    const late = call({ ageMinutes: 60 * 24 * 3, actorId: "u-late", data: { sessionId: "s-late" } });
    await ingestAuditEvents(t.db, [late]);
    const window = { range: "custom", from: new Date(NOW.getTime() - 11 * 86_400_000).toISOString(), to: new Date(NOW.getTime() - 60_000).toISOString() };
    const walk = async (order: "asc" | "desc") => {
      const times: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await list(auditor, { ...window, limit: 2, order, ...(cursor ? { cursor } : {}) });
        times.push(...page.items.map((e) => e.time));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return times;
    };
    const newestFirst = await walk("desc");
    expect(newestFirst).toHaveLength(7);
    expect(newestFirst).toEqual([...newestFirst].sort().reverse());
    expect(newestFirst).toContain(late.time.toISOString());
    expect(await walk("asc")).toEqual([...newestFirst].reverse());
    await t.db.auditEvent.deleteMany({ where: { id: late.id } });
  });

  it("counts facets under the other filters", async () => {
    const facets = await auditFacets(t.db, auditor, { range: "24h", outcome: "deny" }, NOW);
    expect(facets.outcome).toEqual([
      { value: "allow", count: 2 },
      { value: "deny", count: 1 },
      { value: "success", count: 1 },
    ]);
    expect(facets.tool).toEqual([{ value: "set_budget", count: 1 }]);
    expect(facets.window).toBeNull();
  });

  it("counts facets over the newest matching events when there are more than the window, and says so", async () => {
    // Window of 2: the newest two events in 24 h are the config change and alice's call.
    const facets = await auditFacets(t.db, auditor, { range: "24h" }, NOW, 2);
    expect(facets.window).toBe(2);
    expect(facets.kind).toEqual([
      { value: "config.change", count: 1 },
      { value: "mcp.request", count: 1 },
    ]);
    expect(facets.tool).toEqual([{ value: "get_costs", count: 1 }]);
    // Picking a tool counts the tool facet without its own filter, and the rest under it.
    const picked = await auditFacets(t.db, auditor, { range: "24h", tool: "set_budget" }, NOW, 10);
    expect(picked.window).toBeNull();
    expect(picked.tool).toEqual([
      { value: "get_costs", count: 2 },
      { value: "set_budget", count: 1 },
    ]);
    expect(picked.outcome).toEqual([{ value: "deny", count: 1 }]);
  });

  it("counts facets under a search among the newest events it read, and says when it stopped", async () => {
    // All six events read: the two step-up denials match, and the counts are exact.
    const all = await auditFacets(t.db, auditor, { q: "step-up" }, NOW);
    expect(all.searched).toBeNull();
    expect(all.window).toBeNull();
    expect(all.outcome).toEqual([{ value: "deny", count: 2 }]);
    // A read of the newest 5 misses the oldest denial, and the answer says it read only 5.
    const bounded = await auditFacets(t.db, auditor, { q: "step-up" }, NOW, undefined, 5);
    expect(bounded.searched).toBe(5);
    expect(bounded.outcome).toEqual([{ value: "deny", count: 1 }]);
    // The other filters still apply: in the last 7 days one of the two denials is left.
    const week = await auditFacets(t.db, auditor, { q: "step-up", range: "7d" }, NOW);
    expect(week.searched).toBeNull();
    expect(week.outcome).toEqual([{ value: "deny", count: 1 }]);
  });

  it("shows a viewer only their own events, and approvers no payloads", async () => {
    const mine = await list(alice, {});
    expect(mine.items.map((e) => e.actorId)).toEqual(["u-alice"]);
    expect(mine.items[0]!.data).toMatchObject({ arguments: { amount: 100 } });
    const bobs = (await list(auditor, { actor: "bob@" })).items[0]!;
    await expect(getAuditEvent(t.db, alice, bobs.id)).rejects.toThrow(/not found/);

    const seen = await list(approver, { kind: "mcp.request" });
    expect(seen.items).toHaveLength(5);
    for (const e of seen.items) {
      expect(e.portal).toBe("finops");
      expect(e.payloadsHidden).toBe(true);
      expect(e.data).not.toHaveProperty("arguments");
      expect(e.data).not.toHaveProperty("result");
      expect(e.data).toHaveProperty("sessionId");
    }
  });

  it("shows approvers only the portals they approve for, in lists, facets, detail and export", async () => {
    await ingestAuditEvents(t.db, [call({ ageMinutes: 4, portal: "payroll", server: "hr", tool: "get_salaries" })]);
    // Not named by the payroll role: its events are not found, not counted, not exported.
    const payrollEvent = (await list(auditor, { portal: "payroll" })).items[0]!;
    await expect(getAuditEvent(t.db, approver, payrollEvent.id)).rejects.toThrow(/not found/);
    expect((await auditFacets(t.db, approver, {}, NOW)).portal).toEqual([{ value: "finops", count: 5 }]);
    expect((await list(approver, {})).items.map((e) => e.kind)).not.toContain("config.change");
    // A member of the group the payroll role names sees payroll too, still without payloads.
    const pam = { ...person("approver", "u-payroll-approver"), email: "pam@example.test" };
    const pams = await list(pam, { portal: "payroll" });
    expect(pams.items).toHaveLength(1);
    expect(pams.items[0]!.data).not.toHaveProperty("arguments");
    expect((await getAuditEvent(t.db, pam, payrollEvent.id)).event.portal).toBe("payroll");
    const { chunks } = await streamAuditEvents(t.db, approver, { format: "jsonl", kind: "mcp.request" }, NOW);
    let exported = 0;
    for await (const chunk of chunks) {
      for (const v of chunk.views) {
        expect(v.data).not.toHaveProperty("arguments");
        expect(v.portal).toBe("finops");
        exported += 1;
      }
    }
    expect(exported).toBe(5);
    // A viewer exports their own events, payloads included.
    const own = await exportedEvents(alice, {});
    expect(own.map((e) => e.actorId)).toEqual(["u-alice"]);
    expect(own[0]!.data).toMatchObject({ arguments: { amount: 100 } });
  });

  it("exports every stored field with the types a Prisma read gives, whatever the process's time zone", async () => {
    // Read through the driver, a timestamp would come back in local time and an int8 as a string.
    const zone = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      const exported: unknown[] = [];
      const { chunks } = await streamAuditEvents(t.db, auditor, { format: "jsonl" }, NOW);
      for await (const chunk of chunks) exported.push(...chunk.rows);
      const stored = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" } });
      expect(exported).toHaveLength(stored.length);
      expect(exported).toEqual(stored);
      // And on the wire, the same text as the explorer's view of the same events.
      const listed = (await list(auditor, { order: "asc", limit: 200 })).items;
      const lines = await exportedEvents(auditor, {});
      const chainFields = ["record", "prevHash", "hash", "hashVersion"];
      expect(lines.map((line) => Object.fromEntries(Object.entries(line).filter(([key]) => !chainFields.includes(key))))).toEqual(listed);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
  it("finds every event of a time range whatever order the events were stored in", async () => {
    // A gateway whose clock runs ahead stored an event of 30 minutes ago before the others; a
    // backlog then arrived with older times (one 3 days old, past the 24 h range) and one 2 h old.
    // The seq range a time range implies must hold the early one and the late ones.
    const ahead = call({ ageMinutes: 30, tool: "skewed_tool", outcome: "deny" });
    await ingestAuditEvents(t.db, [ahead]);
    const old = call({ ageMinutes: 60 * 24 * 3, tool: "skewed_tool" });
    const recent = call({ ageMinutes: 120, tool: "skewed_tool" });
    await ingestAuditEvents(t.db, [old, recent]);
    try {
      const day = await list(auditor, { range: "24h", tool: "skewed_tool" });
      expect(day.items.map((e) => e.id)).toEqual([recent.id, ahead.id]);
      const dayFacets = await auditFacets(t.db, auditor, { range: "24h", tool: "skewed_tool" }, NOW);
      expect(dayFacets.outcome).toEqual([
        { value: "allow", count: 1 },
        { value: "deny", count: 1 },
      ]);
      // A past custom window holds the event that arrived last.
      const past = { range: "custom", from: new Date(NOW.getTime() - 4 * 86_400_000).toISOString(), to: new Date(NOW.getTime() - 2.5 * 86_400_000).toISOString() };
      expect((await list(auditor, { ...past, tool: "skewed_tool" })).items.map((e) => e.id)).toEqual([old.id]);
      expect((await auditFacets(t.db, auditor, { ...past, tool: "skewed_tool" }, NOW)).outcome).toEqual([{ value: "allow", count: 1 }]);

      // Exports of the same ranges, oldest first (chain order) and newest first: exactly the
      // range's events, the late ones included, and nothing of the other filters' history.
      const ids = async (params: Record<string, unknown>) => (await exportedEvents(auditor, params)).map((e) => e.id);
      expect(await ids({ range: "24h", tool: "skewed_tool" })).toEqual([ahead.id, recent.id]);
      expect(await ids({ range: "24h", tool: "skewed_tool", order: "desc" })).toEqual([recent.id, ahead.id]);
      expect(await ids({ ...past, tool: "skewed_tool" })).toEqual([old.id]);
      // Without a tool filter, a past window holds the late event and the seed's event of 2 days ago.
      const window = { range: "custom", from: new Date(NOW.getTime() - 4 * 86_400_000).toISOString(), to: new Date(NOW.getTime() - 1.5 * 86_400_000).toISOString() };
      const expected = (await list(auditor, { ...window, limit: 200 })).items.map((e) => e.id);
      expect(expected).toContain(old.id);
      expect(expected.length).toBeGreaterThan(1);
      expect(new Set(await ids(window))).toEqual(new Set(expected));
    } finally {
      await t.db.auditEvent.deleteMany({ where: { id: { in: [ahead.id, old.id, recent.id] } } });
    }
  });
  it("takes the overview's 6 hour range, as the overview means it", async () => {
    const inside = call({ ageMinutes: 3 * 60, tool: "six_hour_tool" });
    const outside = call({ ageMinutes: 8 * 60, tool: "six_hour_tool" });
    await ingestAuditEvents(t.db, [outside, inside]);
    try {
      expect((await list(auditor, { range: "6h", tool: "six_hour_tool" })).items.map((e) => e.id)).toEqual([inside.id]);
      expect((await auditFacets(t.db, auditor, { range: "6h", tool: "six_hour_tool" }, NOW)).outcome).toEqual([{ value: "allow", count: 1 }]);
    } finally {
      await t.db.auditEvent.deleteMany({ where: { id: { in: [inside.id, outside.id] } } });
    }
  });
  it("names a page's record targets in one lookup: a portal by name, a person by email for readers of the whole log", async () => {
    const finops = await t.db.portal.findUniqueOrThrow({ where: { slug: "finops" } });
    const servers = call({ ageMinutes: 1, kind: "config.change", action: "portal.servers", outcome: "success", targetType: "portal", targetId: finops.id, tool: "named_target" });
    const mfa = call({ ageMinutes: 1, kind: "auth.mfa", action: "mfa.enrol", outcome: "success", targetType: "user", targetId: "u-payroll-approver", actorId: "u-alice", tool: "named_target" });
    await ingestAuditEvents(t.db, [servers, mfa]);
    try {
      const seen = (await list(auditor, { tool: "named_target" })).items;
      expect(seen.map((e) => [e.targetId, e.targetName])).toEqual([
        ["u-payroll-approver", "pam@example.test"],
        [finops.id, "FinOps"],
      ]);
      // A viewer sees their own event, not another person's email through it.
      expect((await list(alice, { tool: "named_target" })).items.map((e) => e.targetName)).toEqual([undefined]);
    } finally {
      await t.db.auditEvent.deleteMany({ where: { id: { in: [servers.id, mfa.id] } } });
    }
  });
});
