import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
process.env.AUTH_SECRET ??= randomBytes(32).toString("base64url");
process.env.LOCKOUT_THRESHOLD = "50";

const { createTestDatabase } = await import("../db/test-database");
const { mcpRequestEvent: event } = await import("../testing/audit-events");
const { ingestAuditEvents } = await import("../audit-ingest");
const { verifyLocalSignIn } = await import("../auth/local-sign-in");
const { hashPassword } = await import("../auth/passwords");
const { startAlerting } = await import("./start");
const { listAlerts } = await import("./alerts");
const { listAuditEvents } = await import("../audit-events");
const { systemActor } = await import("../auth/actor");
const { getDashboards } = await import("../dashboards");
const { runAlertChecks } = await import("./checks");

/**
 * An alert's "Events" link, as the inbox hands it out, run through the explorer's own query: it
 * must open the events the alert counted, no fewer and no others. The log also holds look-alikes
 * the old free-text links caught (the address inside a token event's target) or missed (actor ids
 * and addresses, which the free text does not search).
 */
type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let alerting: Awaited<ReturnType<typeof startAlerting>>;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const admin = systemActor("test admin");

const times = <T,>(n: number, make: () => T) => Array.from({ length: n }, make);

beforeAll(async () => {
  t = await createTestDatabase();
  const server = await t.db.server.create({ data: { slug: "budgets", name: "Budgets", url: "http://127.0.0.1:9/mcp" } });
  await t.db.tool.createMany({
    data: [
      { serverId: server.id, name: "get_budget", inputSchema: {}, definitionHash: "a", riskClass: "read" },
      { serverId: server.id, name: "set_budget", inputSchema: {}, definitionHash: "b", riskClass: "financial" },
      { serverId: server.id, name: "cost_query", inputSchema: {}, definitionHash: "c", riskClass: "read" },
    ],
  });
  await t.db.user.create({ data: { email: "victim@example.com", name: "Victim", role: "viewer", passwordHash: await hashPassword("correct horse battery staple") } });
  // A service account the gateway labels by its client id, as it labels sa_demo_analyst.
  await t.db.serviceAccount.create({ data: { name: "Nightly report (Finance)", clientId: "sa_nightly", secretHash: "x", expiresAt: new Date(Date.now() + 365 * 86_400_000) } });
  alerting = await startAlerting(t.db, { checkIntervalMs: 3_600_000, deliveryIntervalMs: 3_600_000 });
  const network = await t.db.alertRule.findUniqueOrThrow({ where: { key: "unexpected-network" } });
  // Alice's usual address first, so her call from another one is a new address.
  await ingestAuditEvents(t.db, [event()]);
  await alerting.engine.idle();

  for (let i = 0; i < 5; i++) await verifyLocalSignIn(t.db, { email: "victim@example.com", password: `wrong-${i}` }, { ip: "203.0.113.7" });
  const old = new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10);
  await ingestAuditEvents(t.db, [
    // Failed token requests of a service account (id and name), from one address.
    ...times(5, () => event({ kind: "auth.token", actorType: "service_account", actorId: "sa_robot", actorLabel: "Robot (Analyst)", action: "token.client_credentials", outcome: "failure", portal: null, server: null, tool: null, sourceIp: "198.51.100.5", data: { clientId: "sa_robot" } })),
    // Look-alike: a token issued for a portal whose URL holds that address, and the robot's own success.
    event({ kind: "auth.token", actorType: "service_account", actorId: "sa_robot", actorLabel: "Robot (Analyst)", action: "token.client_credentials", outcome: "success", targetType: "portal", targetId: "https://198.51.100.5/finops", portal: null, server: null, tool: null, sourceIp: "10.9.9.9" }),
    // MCP requests refused: a known client by id, and an anonymous one by its address.
    ...times(5, () => event({ actorType: "service_account", actorId: "sa_demo_analyst", actorLabel: "sa_demo_analyst", outcome: "deny", data: { httpStatus: 403 }, sourceIp: "10.1.2.4" })),
    ...times(5, () => event({ actorType: "anonymous", actorId: null, actorLabel: null, action: "initialize", tool: null, outcome: "deny", data: { httpStatus: 401 }, sourceIp: "192.0.2.99" })),
    // A financial tool by Alice; a read of it by Bob.
    event({ tool: "set_budget" }),
    event({ tool: "set_budget", actorId: "user-bob", actorLabel: "bob@example.com", sourceIp: "10.1.2.5" }),
    // The service account's financial call, from the gateway.
    event({ tool: "set_budget", actorType: "service_account", actorId: "sa_nightly", actorLabel: "sa_nightly", sourceIp: "10.1.2.7" }),
    // A cost query reaching back 400 days.
    event({ tool: "cost_query", actorId: "user-carol", actorLabel: "carol@example.com", sourceIp: "10.1.2.6", data: { httpStatus: 200, arguments: { start: old } } }),
    // Two DLP matches of Alice's with one tool, one of Bob's with another; Alice's clean call of that tool.
    ...times(2, () => event({ data: { httpStatus: 200, dlp: [{ detector: "card", field: "arguments", count: 1 }] } })),
    event({ tool: "cost_query", actorId: "user-bob", actorLabel: "bob@example.com", sourceIp: "10.1.2.5", data: { httpStatus: 200, dlp: [{ detector: "iban", field: "result", count: 1 }, { detector: "email", field: "result", count: 2 }] } }),
  ]);
  await alerting.engine.idle();
  // Alice once from a new address (she called from 10.1.2.3 before).
  await ingestAuditEvents(t.db, [event({ tool: "cost_query", sourceIp: "203.0.113.50" })]);
  await alerting.engine.idle();
  expect(network.enabled).toBe(true);
});

afterAll(async () => {
  await alerting?.engine.idle();
  alerting?.stop();
  await t?.close();
});

async function eventsBehind(alertId: string): Promise<string[]> {
  const occurrences = await t.db.alertOccurrence.findMany({ where: { alertId }, select: { eventId: true } });
  return occurrences.map((o) => o.eventId!).sort();
}

async function eventsLinked(auditHref: string): Promise<string[]> {
  const params = Object.fromEntries(new URL(auditHref, "https://portico.test").searchParams);
  const page = await listAuditEvents(t.db, admin, { ...params, limit: 200 });
  return page.items.map((e) => e.id).sort();
}

describe(`alert "Events" links (${label})`, () => {
  it("every alert's link opens exactly the events it counted, with structured filters and no free text", async () => {
    const { items } = await listAlerts(t.db, admin, { limit: 100 });
    const byRule = new Map<string, string[]>();
    for (const alert of items) byRule.set(alert.ruleName, [...(byRule.get(alert.ruleName) ?? []), alert.title]);
    // One alert of each kind this test seeds, so none is checked by accident only.
    expect(Object.fromEntries(byRule)).toEqual({
      "Failed sign-ins per account": expect.arrayContaining(["Failed sign-ins for victim@example.com", "Failed sign-ins for Robot (Analyst)"]),
      "Failed sign-ins per address": expect.arrayContaining(["Failed sign-ins from 203.0.113.7", "Failed sign-ins from 198.51.100.5"]),
      "MCP requests refused (401/403)": expect.arrayContaining(["MCP requests refused for sa_demo_analyst", "MCP requests refused for address 192.0.2.99"]),
      "Financial or destructive tool called": expect.arrayContaining([
        "alice@example.com called financial tool budgets/set_budget",
        "bob@example.com called financial tool budgets/set_budget",
        "Nightly report (Finance) called financial tool budgets/set_budget",
      ]),
      "Cost query looking back over a year": [expect.stringMatching(/^carol@example.com queried costs 4\d\d days back with cost_query$/)],
      "DLP detector match": expect.arrayContaining(["DLP match (card) in a call of budgets/get_budget by alice@example.com", "DLP match (iban, email) in a call of budgets/cost_query by bob@example.com"]),
      "Access from an unexpected network": ["alice@example.com called from a new address 203.0.113.50"],
    });
    for (const alert of items) {
      const query = new URL(alert.auditHref, "https://portico.test").searchParams;
      expect(query.has("q"), `${alert.title}: ${alert.auditHref}`).toBe(false);
      expect(query.get("from"), alert.title).toBeTruthy();
      const linked = await eventsLinked(alert.auditHref);
      expect(linked.length, `${alert.title}: ${alert.auditHref}`).toBeGreaterThan(0);
      expect(linked, `${alert.title}: ${alert.auditHref}`).toEqual(await eventsBehind(alert.id));
    }
  });

  it("names a service account the gateway labels by client id as the rest of the dashboard does, the id kept for filters", async () => {
    const { items } = await listAuditEvents(t.db, admin, { actor: "sa_nightly", limit: 10 });
    expect(items.map((e) => [e.actorId, e.actorLabel, e.actorName])).toEqual([["sa_nightly", "sa_nightly", "Nightly report (Finance)"]]);
    // An unknown client id (no such service account) and a person keep their labels.
    const others = await listAuditEvents(t.db, admin, { actor: "sa_demo_analyst", limit: 1 });
    expect(others.items[0]?.actorName).toBeUndefined();
    const callers = (await getDashboards(t.db, admin, { range: "1h" })).topCallers;
    expect(callers).toContainEqual({ actor: "sa_nightly", name: "Nightly report (Finance)", calls: 1 });
    expect(callers).toContainEqual({ actor: "alice@example.com", calls: expect.any(Number) });
  });

  it("a scheduled check's link names what it is about by structured filters: an expiring service account's own events, a failing server's calls", async () => {
    await t.db.serviceAccount.create({ data: { name: "Expiring (Finance)", clientId: "sa_expiring", secretHash: "x", expiresAt: new Date(Date.now() + 2 * 86_400_000) } });
    await t.db.server.update({ where: { slug: "budgets" }, data: { status: "error" } });
    const call = event({ actorType: "service_account", actorId: "sa_expiring", actorLabel: "sa_expiring", sourceIp: "10.1.2.3" });
    await ingestAuditEvents(t.db, [call]);
    await alerting.engine.idle();
    await runAlertChecks(t.db);
    const { items } = await listAlerts(t.db, admin, { limit: 100 });
    const expiring = items.find((a) => a.title.startsWith("Service account Expiring (Finance) expires"));
    expect(await eventsLinked(expiring!.auditHref)).toEqual([call.id]);
    const failing = items.find((a) => a.title === "Upstream server Budgets is failing");
    const calls = await listAuditEvents(t.db, admin, { kind: "mcp.request", server: "budgets", limit: 200 });
    expect(await eventsLinked(failing!.auditHref)).toEqual(calls.items.map((e) => e.id).sort());
  });
});

describe(`alert titles after a rename (${label})`, () => {
  it("name a renamed service account by its new name once the engine's minute-old copy of the name is read again", async () => {
    await t.db.serviceAccount.update({ where: { clientId: "sa_nightly" }, data: { name: "Nightly report v2 (Finance)" } });
    const realNow = Date.now.bind(Date);
    // A minute and a bit later, as the engine sees it: the name it read for the first alert is stale.
    const clock = vi.spyOn(Date, "now").mockImplementation(() => realNow() + 61_000);
    try {
      await ingestAuditEvents(t.db, times(5, () => event({ actorType: "service_account", actorId: "sa_nightly", actorLabel: "sa_nightly", outcome: "deny", data: { httpStatus: 403 }, sourceIp: "10.1.2.7" })));
      await alerting.engine.idle();
    } finally {
      clock.mockRestore();
    }
    const titles = (await listAlerts(t.db, admin, { limit: 100 })).items.map((a) => a.title);
    expect(titles).toContain("MCP requests refused for Nightly report v2 (Finance)");
    expect(titles).not.toContain("MCP requests refused for Nightly report (Finance)");
  });
});
