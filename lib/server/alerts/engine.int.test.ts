import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
process.env.AUTH_SECRET ??= randomBytes(32).toString("base64url");
// Six wrong passwords must stay six failures here, not a lock-out (and a config publish).
process.env.LOCKOUT_THRESHOLD = "50";

const { createTestDatabase } = await import("../db/test-database");
const { mcpRequestEvent: mcpEvent } = await import("../testing/audit-events");
const { ingestAuditEvents } = await import("../audit-ingest");
const { verifyLocalSignIn } = await import("../auth/local-sign-in");
const { hashPassword } = await import("../auth/passwords");
const { startAlerting } = await import("./start");
const { runAlertChecks } = await import("./checks");
const { acknowledgeAlert, resolveAlert, updateAlertRule, listAlerts, createAlertRule, deleteAlertRule, listAlertRules } = await import("./alerts");
const { systemActor } = await import("../auth/actor");
const { toAppError } = await import("../errors");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let alerting: Awaited<ReturnType<typeof startAlerting>>;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const admin = systemActor("test admin");


async function alertsOf(key: string) {
  return t.db.alert.findMany({ where: { rule: { key } }, orderBy: { createdAt: "asc" } });
}

beforeAll(async () => {
  t = await createTestDatabase();
  const server = await t.db.server.create({ data: { slug: "budgets", name: "Budgets", url: "http://127.0.0.1:9/mcp" } });
  await t.db.tool.createMany({
    data: [
      { serverId: server.id, name: "get_budget", inputSchema: {}, definitionHash: "a", riskClass: "read" },
      { serverId: server.id, name: "set_budget", inputSchema: {}, definitionHash: "b", riskClass: "financial" },
      { serverId: server.id, name: "tag_resource", inputSchema: {}, definitionHash: "c", riskClass: "write" },
    ],
  });
  await t.db.user.create({ data: { email: "victim@example.com", name: "Victim", role: "viewer", passwordHash: await hashPassword("correct horse battery staple") } });
  alerting = await startAlerting(t.db, { checkIntervalMs: 3_600_000, deliveryIntervalMs: 3_600_000 });
});

afterAll(async () => {
  // Control-plane events written by the last test are still being evaluated.
  await alerting?.engine.idle();
  alerting?.stop();
  await t?.close();
});

describe(`alert engine (${label})`, () => {
  it("seeds the built-in rules once, with the defaults the issue names", async () => {
    const rules = await t.db.alertRule.findMany();
    expect(rules.find((r) => r.key === "failed-auth-account")?.params).toEqual({ threshold: 5, windowMinutes: 10, by: "account" });
    expect(rules.find((r) => r.key === "risky-tool-financial-destructive")?.enabled).toBe(true);
    expect(rules.find((r) => r.key === "risky-tool-write")?.enabled).toBe(false);
    const { ensureBuiltInAlertRules } = await import("./start");
    await ensureBuiltInAlertRules(t.db);
    expect(await t.db.alertRule.count()).toBe(rules.length);
  });

  it("six wrong passwords raise one failed-sign-in alert per account and per address, counting all six", async () => {
    for (let i = 0; i < 4; i++) await verifyLocalSignIn(t.db, { email: "victim@example.com", password: `wrong-${i}` }, { ip: "203.0.113.7" });
    await alerting.engine.idle();
    expect(await alertsOf("failed-auth-account")).toHaveLength(0);

    for (let i = 4; i < 6; i++) await verifyLocalSignIn(t.db, { email: "victim@example.com", password: `wrong-${i}` }, { ip: "203.0.113.7" });
    await alerting.engine.idle();
    const [byAccount, ...more] = await alertsOf("failed-auth-account");
    expect(more).toHaveLength(0);
    expect(byAccount).toMatchObject({ subject: "account:victim@example.com", status: "open", severity: "high", count: 6 });
    const [byIp] = await alertsOf("failed-auth-ip");
    expect(byIp).toMatchObject({ subject: "ip:203.0.113.7", count: 6 });
    // The events behind it are linked, and raising it is itself in the trail.
    expect(await t.db.alertOccurrence.count({ where: { alertId: byAccount!.id } })).toBe(6);
    expect(await t.db.auditEvent.count({ where: { kind: "alert", action: "alert.raise", targetId: byAccount!.id } })).toBe(1);
  });

  it("calls of a financial tool raise an alert deduplicated per actor and tool; a read tool raises none", async () => {
    await ingestAuditEvents(t.db, [mcpEvent(), mcpEvent({ tool: "set_budget" }), mcpEvent({ tool: "set_budget", outcome: "deny" })]);
    await alerting.engine.idle();
    const alerts = await alertsOf("risky-tool-financial-destructive");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ count: 2, severity: "high" });
    expect(alerts[0]!.title).toContain("financial tool budgets/set_budget");
  });

  it("a write tool raises nothing until an admin turns its rule on", async () => {
    await ingestAuditEvents(t.db, [mcpEvent({ tool: "tag_resource" })]);
    await alerting.engine.idle();
    expect(await alertsOf("risky-tool-write")).toHaveLength(0);
    const rule = await t.db.alertRule.findUniqueOrThrow({ where: { key: "risky-tool-write" } });
    await updateAlertRule(t.db, admin, rule.id, { enabled: true });
    await ingestAuditEvents(t.db, [mcpEvent({ tool: "tag_resource" })]);
    await alerting.engine.idle();
    expect(await alertsOf("risky-tool-write")).toHaveLength(1);
  });

  it("a cost query looking back more than 365 days raises an alert, allowed or denied", async () => {
    const old = new Date(Date.now() - 400 * 86_400_000).toISOString().slice(0, 10);
    await ingestAuditEvents(t.db, [mcpEvent({ outcome: "deny", data: { httpStatus: 200, arguments: { start: old } } }), mcpEvent({ data: { arguments: { start: "2099-01-01" } } })]);
    await alerting.engine.idle();
    const [alert] = await alertsOf("lookback-over-a-year");
    expect(alert?.title).toMatch(/queried costs 4\d\d days back/);
    expect(alert?.count).toBe(1);
  });

  it("a known actor at a new address, and a call outside the expected ranges, raise network alerts", async () => {
    await ingestAuditEvents(t.db, [mcpEvent({ sourceIp: "198.51.100.20" })]);
    await alerting.engine.idle();
    const [alert] = await alertsOf("unexpected-network");
    expect(alert?.subject).toBe("network:user-alice|198.51.100.20");

    const rule = await t.db.alertRule.findUniqueOrThrow({ where: { key: "unexpected-network" } });
    await updateAlertRule(t.db, admin, rule.id, { params: { cidrs: ["10.0.0.0/8"] } });
    await ingestAuditEvents(t.db, [mcpEvent({ actorId: "user-bob", actorLabel: "bob@example.com", sourceIp: "192.0.2.44" })]);
    await alerting.engine.idle();
    expect((await alertsOf("unexpected-network")).map((a) => a.title)).toContainEqual(expect.stringContaining("outside the expected networks"));
  });

  it("refuses a bad threshold, window or CIDR with 422 and saves nothing", async () => {
    const rule = await t.db.alertRule.findUniqueOrThrow({ where: { key: "failed-auth-ip" } });
    for (const params of [{ threshold: 0 }, { windowMinutes: -3 }, { threshold: "five" }]) {
      const error = toAppError(await updateAlertRule(t.db, admin, rule.id, { params }).catch((e: unknown) => e));
      expect(error?.status).toBe(422);
      expect(error?.fieldErrors[0]?.field).toMatch(/^params\./);
    }
    const network = await t.db.alertRule.findUniqueOrThrow({ where: { key: "unexpected-network" } });
    const error = toAppError(await updateAlertRule(t.db, admin, network.id, { params: { cidrs: ["10.0.0.0/33"] } }).catch((e: unknown) => e));
    expect(error?.fieldErrors).toEqual([{ field: "params.cidrs.0", message: "Not a CIDR range (e.g. 10.0.0.0/8)" }]);
    const scopeError = toAppError(await updateAlertRule(t.db, admin, network.id, { scope: { team: "x" } }).catch((e: unknown) => e));
    expect(scopeError?.status).toBe(422);
    expect((await t.db.alertRule.findUniqueOrThrow({ where: { id: rule.id } })).params).toEqual(rule.params);
  });

  it("creates a custom rule of a known kind, scoped by role; refuses bad input beside the field; deletes custom rules only", async () => {
    const refused = async (body: Record<string, unknown>) => toAppError(await createAlertRule(t.db, admin, body).catch((e: unknown) => e));
    const base = { detector: "lookback", name: "Look-back over 90 days for analysts", severity: "high", params: { days: 90 }, scope: { portal: "finops", role: "analyst" } };
    expect((await refused({ ...base, detector: "telepathy" }))?.fieldErrors[0]?.field).toBe("detector");
    expect((await refused({ ...base, params: { days: 0 } }))?.fieldErrors).toEqual([{ field: "params.days", message: "At least 1 day" }]);
    expect((await refused({ ...base, params: { threshold: 3 } }))?.fieldErrors[0]?.field).toMatch(/^params/);
    expect((await refused({ ...base, scope: { role: "" } }))?.fieldErrors[0]?.field).toBe("scope.role");
    expect((await refused({ ...base, name: " " }))?.fieldErrors[0]?.field).toBe("name");
    const before = await t.db.alertRule.count();
    const rule = await createAlertRule(t.db, admin, base);
    expect(await t.db.alertRule.count()).toBe(before + 1);
    expect(rule).toMatchObject({ detector: "lookback", params: { days: 90 }, scope: { portal: "finops", role: "analyst" }, isBuiltIn: false, enabled: true });

    // Scope by role: the gateway names the roles that decided a call; only the analyst's call counts.
    const days = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    const lookback = (roles: string[], who: string) =>
      mcpEvent({ actorId: who, actorLabel: who, tool: "get_daily_costs", server: "cost-explorer", data: { httpStatus: 200, roles, arguments: { start: days(120), end: days(100) } } });
    await ingestAuditEvents(t.db, [lookback(["engineer"], "eve@example.com"), lookback(["analyst"], "ann@example.com")]);
    await alerting.engine.idle();
    const raised = await t.db.alert.findMany({ where: { ruleId: rule.id } });
    expect(raised.map((a) => a.subject)).toEqual(["lookback:ann@example.com|cost-explorer/get_daily_costs"]);

    // A rule with an open alert is kept until it is resolved; a built-in rule is never deleted.
    expect(toAppError(await deleteAlertRule(t.db, admin, rule.id).catch((e: unknown) => e))?.status).toBe(409);
    await resolveAlert(t.db, admin, raised[0]!.id, {});
    await deleteAlertRule(t.db, admin, rule.id);
    expect((await listAlertRules(t.db, admin)).some((r) => r.id === rule.id)).toBe(false);
    const builtIn = await t.db.alertRule.findUniqueOrThrow({ where: { key: "lookback-over-a-year" } });
    expect(toAppError(await deleteAlertRule(t.db, admin, builtIn.id).catch((e: unknown) => e))?.status).toBe(409);
    const changes = await t.db.auditEvent.findMany({ where: { action: { in: ["alert_rule.create", "alert_rule.delete"] } }, orderBy: { seq: "asc" } });
    expect(changes.map((c) => c.action)).toEqual(["alert_rule.create", "alert_rule.delete"]);
  });

  it("state rules raise while the condition holds and resolve themselves when it clears", async () => {
    const gw = await t.db.gateway.create({ data: { name: "gw-silent", url: "http://127.0.0.1:9", lastSeenAt: new Date(Date.now() - 6 * 60_000), deadLetterCount: 2, deadLetterReason: "refused" } });
    await runAlertChecks(t.db);
    await runAlertChecks(t.db);
    const [silent] = await alertsOf("gateway-silent");
    expect(silent).toMatchObject({ subject: "gateway:gw-silent", status: "open", count: 1, severity: "critical" });
    expect((await alertsOf("audit-dead-letters"))[0]?.title).toContain("2 dead-lettered audit events");

    await t.db.gateway.update({ where: { id: gw.id }, data: { lastSeenAt: new Date(), deadLetterCount: 0 } });
    await runAlertChecks(t.db);
    expect((await alertsOf("gateway-silent"))[0]).toMatchObject({ status: "resolved", resolvedBy: "auto", openKey: null });
    expect((await alertsOf("audit-dead-letters"))[0]?.status).toBe("resolved");
  });

  it("a rate alert resolves after a quiet window; the next burst opens a new one", async () => {
    await runAlertChecks(t.db, new Date(Date.now() + 11 * 60_000));
    expect((await alertsOf("failed-auth-account"))[0]?.status).toBe("resolved");
    for (let i = 0; i < 5; i++) await verifyLocalSignIn(t.db, { email: "victim@example.com", password: `again-${i}` }, { ip: "203.0.113.7" });
    await alerting.engine.idle();
    const alerts = await alertsOf("failed-auth-account");
    expect(alerts.map((a) => a.status)).toEqual(["resolved", "open"]);
    expect(alerts[1]!.count).toBe(5);
  });

  it("acknowledge and resolve are audited; the inbox filters by status", async () => {
    const [open] = (await listAlerts(t.db, admin, { status: "open", severity: "high" })).items;
    expect(open).toBeDefined();
    await acknowledgeAlert(t.db, admin, open!.id, { note: "looking into it" });
    const again = toAppError(await acknowledgeAlert(t.db, admin, open!.id, {}).catch((e: unknown) => e));
    expect(again?.status).toBe(409);
    await resolveAlert(t.db, admin, open!.id, {});
    const actions = (await t.db.auditEvent.findMany({ where: { kind: "alert", targetId: open!.id }, orderBy: { seq: "asc" } })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["alert.acknowledge", "alert.resolve"]));
    expect((await listAlerts(t.db, admin, { status: "resolved" })).items.map((a) => a.id)).toContain(open!.id);
  });
});
