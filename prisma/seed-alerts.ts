import { randomUUID } from "node:crypto";

import { auditEventInput, type AuditEventInput } from "@/lib/audit/event";
import { mulberry32, pick } from "@/lib/prng";
import type { Db } from "@/lib/server/db/client";
import { ingestAuditEvents } from "@/lib/server/audit-ingest";
import { AlertEngine } from "@/lib/server/alerts/engine";
import { ensureBuiltInAlertRules } from "@/lib/server/alerts/start";
import { auditDemoEvents } from "./seed-audit";
import { approveStepUpRequest, denyStepUpRequest, fileStepUpRequest, userRequester, withdrawStepUpRequest } from "@/lib/server/step-up";

type Caller = { actorType: "user" | "service_account"; actorId: string; actorLabel: string; ip: string; weight: number; tools: Array<[string, string]> };

const READ_TOOLS: Array<[string, string]> = [
  ["cost-explorer", "get_cost_summary"],
  ["cost-explorer", "get_daily_costs"],
  ["cost-explorer", "top_services"],
  ["cost-explorer", "forecast_month_end"],
  ["tagging", "list_untagged_resources"],
];

/**
 * The callers, under the demo users' real ids (looked up by email, as seed-audit.ts does): stored
 * under made-up ids, the analyst's own audit view and the overview's per-person counts disagreed.
 */
async function demoCallers(db: Db): Promise<{ callers: Caller[]; auditorId: string }> {
  const users = await db.user.findMany({ where: { email: { in: ["analyst@portico.local", "manager@portico.local", "auditor@portico.local"] } }, select: { id: true, email: true } });
  const idOf = (email: string, fallback: string) => users.find((u) => u.email === email)?.id ?? fallback;
  const callers: Caller[] = [
    { actorType: "user", actorId: idOf("analyst@portico.local", "demo-analyst"), actorLabel: "analyst@portico.local", ip: "10.20.0.14", weight: 5, tools: [...READ_TOOLS, ["tagging", "tag_resource"]] },
    { actorType: "user", actorId: idOf("manager@portico.local", "demo-manager"), actorLabel: "manager@portico.local", ip: "10.20.0.31", weight: 2, tools: [...READ_TOOLS, ["budgets", "get_budget_status"], ["tagging", "tag_resource"]] },
    { actorType: "service_account", actorId: "sa_demo_analyst", actorLabel: "sa_demo_analyst", ip: "10.30.1.5", weight: 3, tools: READ_TOOLS.slice(0, 3) },
  ];
  return { callers, auditorId: idOf("auditor@portico.local", "demo-auditor") };
}

/**
 * A denial the demo's roles really produce (prisma/seed.ts; wording of lib/policy/evaluate.ts):
 * the Analyst role needs an MFA sign-in, so the analyst's calls from a session without MFA are
 * refused. Budgets' read tools are granted to every finops role, so the denials of
 * budgets/list_budgets seeded before contradicted the policy page. The manager's and the service
 * account's calls stay within their roles (the one over-long look-back below is the alert demo).
 */
function realDenial(caller: Caller, random: () => number): { server: string; tool: string; reason: string } | null {
  if (caller.actorLabel !== "analyst@portico.local") return null;
  const [server, tool] = pick(random, READ_TOOLS);
  return { server, tool, reason: 'role "Analyst": requires a sign-in with MFA' };
}

/**
 * A day of demo traffic through the `finops` portal, written the way a gateway writes it (through
 * the ingest path, so the audit log, the per-minute rollups and the charts agree), and the alerts
 * the built-in rules raise on it: a burst of failed sign-ins, a financial tool call, a cost query
 * looking back two years. Only on an empty store: a re-run adds nothing.
 */
export async function seedDemoTraffic(db: Db, now = new Date()): Promise<{ events: number; alerts: number }> {
  await ensureBuiltInAlertRules(db);
  if ((await db.trafficByServer.count()) > 0) return { events: 0, alerts: 0 };
  const random = mulberry32(20261207);
  const events: AuditEventInput[] = [];
  const { callers: CALLERS, auditorId } = await demoCallers(db);
  const callers = CALLERS.flatMap((c) => Array.from({ length: c.weight }, () => c));
  const mcp = (time: Date, caller: Caller, server: string, tool: string, extra: Partial<AuditEventInput> = {}, data: Record<string, unknown> = {}): AuditEventInput => {
    const upstream = Math.round((20 + random() * (server === "cost-explorer" ? 180 : 60)) * 10) / 10;
    return {
      id: randomUUID(),
      time,
      kind: "mcp.request",
      actorType: caller.actorType,
      actorId: caller.actorId,
      actorLabel: caller.actorLabel,
      action: "tools/call",
      outcome: "allow",
      targetType: "tool",
      targetId: `${server}/${tool}`,
      portal: "finops",
      server,
      tool,
      sourceIp: caller.ip,
      requestId: randomUUID(),
      data: { gateway: "demo", httpStatus: 200, latencyMs: upstream + 2, upstreamLatencyMs: upstream, requestBytes: 180 + Math.floor(random() * 200), responseBytes: 800 + Math.floor(random() * 6000), upstreamOutcome: "success", demo: true, ...data },
      ...extra,
    };
  };

  // Busier in working hours, quiet at night: about 490 calls over the last 24 hours.
  for (let minute = 24 * 60; minute > 0; minute -= 2) {
    const time = new Date(now.getTime() - minute * 60_000);
    const hour = time.getUTCHours();
    const rate = hour >= 7 && hour < 19 ? 1.1 : 0.25;
    let n = Math.floor(rate + random());
    while (n-- > 0) {
      const caller = pick(random, callers);
      const [server, tool] = pick(random, caller.tools);
      const at = new Date(time.getTime() + Math.floor(random() * 120_000));
      const roll = random();
      const denial = roll < 0.04 ? realDenial(caller, random) : null;
      if (caller.actorLabel === "analyst@portico.local" && tool === "tag_resource") {
        events.push(mcp(at, caller, server, tool, { outcome: "deny", reasons: ['role "Analyst" needs approved elevated access for write tool "tag_resource" on tagging'] }, { httpStatus: 403, upstreamOutcome: "not_called" }));
      } else if (denial) {
        events.push(mcp(at, caller, denial.server, denial.tool, { outcome: "deny", reasons: [denial.reason] }, { upstreamOutcome: "not_called" }));
      } else if (roll < 0.06) {
        events.push(mcp(at, caller, server, tool, {}, { upstreamOutcome: "timeout", upstreamLatencyMs: 10_000 }));
      } else {
        events.push(mcp(at, caller, server, tool));
      }
    }
  }
  const manager = CALLERS[1]!;
  const analyst = CALLERS[0]!;
  // What the built-in rules are for.
  events.push(mcp(new Date(now.getTime() - 95 * 60_000), manager, "budgets", "update_budget_limit", {}, { arguments: { budget: "platform-q4", limit: 48000 } }));
  events.push(
    mcp(new Date(now.getTime() - 40 * 60_000), analyst, "cost-explorer", "get_daily_costs", { outcome: "deny", reasons: ['role "Analyst": looks back 705 days, more than its limit of 365'] }, { arguments: { start: new Date(now.getTime() - 705 * 86_400_000).toISOString().slice(0, 10) }, upstreamOutcome: "not_called" }),
  );
  for (let i = 0; i < 6; i++) {
    events.push({
      id: randomUUID(),
      time: new Date(now.getTime() - (6 - i) * 45_000),
      kind: "auth.sign_in",
      actorType: "user",
      actorId: auditorId,
      actorLabel: "auditor@portico.local",
      action: "sign_in.password",
      outcome: "failure",
      reasons: ["wrong password"],
      data: { method: "password", demo: true },
      sourceIp: "203.0.113.66",
      requestId: randomUUID(),
    });
  }
  // The explorer demo's week goes into the same stream (seedAuditDemo finds them stored), so seq
  // order is time order; the alert engine below replays this day's traffic only, as before.
  const explorerDemo = (await auditDemoEvents(db, now)).map((e) => auditEventInput.parse(e));
  events.sort((a, b) => a.time.getTime() - b.time.getTime());
  const stream = [...events, ...explorerDemo].sort((a, b) => a.time.getTime() - b.time.getTime());
  for (let i = 0; i < stream.length; i += 500) await ingestAuditEvents(db, stream.slice(i, i + 500));

  // The engine the control plane runs, over the same events: the demo's alerts are what the
  // rules would have raised had it been running (no channels exist yet, so nothing is sent).
  const engine = new AlertEngine(db, { isReplayingStore: false });
  await engine.start();
  await engine.observe(events, true);
  await seedStepUpHistory(db, now).catch((error: unknown) => {
    // Demo data only: a demo without step-up history still starts.
    console.error(`demo step-up history not seeded: ${error instanceof Error ? error.message : String(error)}`);
  });
  return { events: events.length, alerts: await db.alert.count() };
}

/**
 * A day of step-up decisions for the overview's step-up chart, through the same functions the
 * Approvals page calls: the analyst asks for write access, the manager approves most requests
 * within minutes, denies one, one is withdrawn; the newest approval is still an active grant.
 */
async function seedStepUpHistory(db: Db, now: Date): Promise<void> {
  const [analyst, manager] = await Promise.all([
    db.user.findUnique({ where: { email: "analyst@portico.local" } }),
    db.user.findUnique({ where: { email: "manager@portico.local" } }),
  ]);
  if (!analyst || !manager) return;
  const requester = await userRequester(db, analyst.id);
  const approver = { type: "user" as const, userId: manager.id, email: manager.email, name: manager.name, role: manager.role, mfa: true };
  const plan: Array<{ hoursAgo: number; minutesToDecide: number; outcome: "approve" | "deny" | "withdraw" }> = [
    { hoursAgo: 22, minutesToDecide: 4, outcome: "approve" },
    { hoursAgo: 19, minutesToDecide: 11, outcome: "approve" },
    { hoursAgo: 16, minutesToDecide: 2, outcome: "deny" },
    { hoursAgo: 12, minutesToDecide: 25, outcome: "approve" },
    { hoursAgo: 9, minutesToDecide: 6, outcome: "withdraw" },
    { hoursAgo: 6, minutesToDecide: 3, outcome: "approve" },
    { hoursAgo: 3, minutesToDecide: 8, outcome: "approve" },
    { hoursAgo: 0.3, minutesToDecide: 5, outcome: "approve" },
  ];
  for (const [i, step] of plan.entries()) {
    const filedAt = new Date(now.getTime() - step.hoursAgo * 3_600_000);
    const decidedAt = new Date(filedAt.getTime() + step.minutesToDecide * 60_000);
    const request = await fileStepUpRequest(
      db,
      requester,
      { portal: "finops", riskClass: "write", server: "tagging", tool: "tag_resource", reason: `Tag batch ${i + 1} of the untagged instances for the cost-centre report`, durationMinutes: 30 },
      filedAt,
    );
    if (step.outcome === "approve") await approveStepUpRequest(db, approver, request.id, { note: "OK for the report" }, decidedAt);
    else if (step.outcome === "deny") await denyStepUpRequest(db, approver, request.id, { note: "Wait for the tagging policy review" }, decidedAt);
    else await withdrawStepUpRequest(db, requester, request.id, decidedAt);
  }
}
