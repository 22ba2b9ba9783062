import type { Db } from "@/lib/server/db/client";
import { ingestAuditEvents } from "@/lib/server/audit-ingest";

/**
 * Demo MCP traffic for the audit explorer: a week of calls by the demo analyst and the automation,
 * denied budget changes waiting on step-up, one call whose card number DLP redacted. Fixed ids, so
 * seeding again adds nothing (ingest is idempotent by id).
 */
const HOUR = 3_600_000;

export async function seedAuditDemo(db: Db, now = new Date()): Promise<void> {
  await ingestAuditEvents(db, await auditDemoEvents(db, now));
}

/**
 * The explorer demo's events, as a gateway would send them. `seedDemoTraffic` stores them in one
 * time-ordered stream with its day of traffic: the chain's order is arrival order, and a real
 * gateway's events arrive in about the order they happen, so "newest first" reads newest first.
 */
export async function auditDemoEvents(db: Db, now = new Date()): Promise<Array<Record<string, unknown>>> {
  const analyst = await db.user.findUnique({ where: { email: "analyst@portico.local" }, select: { id: true } });
  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * HOUR).toISOString();
  const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  const base = {
    kind: "mcp.request",
    actorType: "user",
    actorId: analyst?.id ?? "demo-analyst",
    actorLabel: "analyst@portico.local",
    action: "tools/call",
    portal: "finops",
    sourceIp: "10.20.1.15",
  };
  const session = (n: number) => ({ sessionId: `demo-session-${n}`, clientName: "claude-code", clientVersion: "2.1.0", gateway: "demo" });
  const call = (n: number, hoursAgo: number, fields: Record<string, unknown>, data: Record<string, unknown>) => ({
    ...base,
    id: id(n),
    time: at(hoursAgo),
    requestId: `demo-req-${n}`,
    targetType: "tool",
    targetId: `${fields.server}/${fields.tool}`,
    ...fields,
    data: { latencyMs: 41.2, requestBytes: 212, responseBytes: 1830, ...data },
  });
  return [
    call(1, 150, { server: "cost-explorer", tool: "top_services", outcome: "allow", reasons: ["role finops-analyst allows read"] }, { ...session(1), upstreamOutcome: "success", arguments: { month: "2026-11" } }),
    call(2, 149, { server: "budgets", tool: "set_budget", outcome: "deny", reasons: ["financial tools need step-up (role finops-analyst)"] }, { ...session(1), upstreamOutcome: "not_called", arguments: { team: "platform", amount: 25000 } }),
    call(3, 100, { server: "tagging", tool: "list_untagged_resources", outcome: "allow", reasons: ["role finops-analyst allows read"] }, { ...session(2), upstreamOutcome: "success", arguments: { account: "123456789012" } }),
    call(4, 72, { server: "budgets", tool: "set_budget", outcome: "deny", reasons: ["financial tools need step-up (role finops-analyst)"] }, { ...session(3), upstreamOutcome: "not_called", arguments: { team: "data", amount: 12000 } }),
    call(
      5,
      30,
      { server: "cost-explorer", tool: "cost_by_account", outcome: "allow", reasons: ["role finops-analyst allows read"] },
      { ...session(4), upstreamOutcome: "success", arguments: { month: "2026-11", note: "refund to card [REDACTED:card]" }, dlp: [{ detector: "card", field: "arguments", count: 1 }] },
    ),
    call(6, 5, { server: "budgets", tool: "delete_budget", outcome: "deny", reasons: ['denied by rule "least-privilege": no role allows destructive'] }, { ...session(5), upstreamOutcome: "not_called", arguments: { budget: "q4-marketing" } }),
    call(
      7,
      2,
      { server: "cost-explorer", tool: "top_services", outcome: "allow", actorType: "service_account", actorId: "sa_demo_analyst", actorLabel: "sa_demo_analyst", sourceIp: "10.30.0.7", reasons: ["role finops-analyst allows read"] },
      { sessionId: null, clientName: "nightly-report", upstreamOutcome: "timeout", upstreamLatencyMs: 30000, arguments: { month: "2026-12" } },
    ),
  ];
}
