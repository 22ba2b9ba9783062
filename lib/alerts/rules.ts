import ipaddr from "ipaddr.js";
import { z } from "zod";

import type { AuditEventInput } from "@/lib/audit/event";
import { lookbackDays } from "@/lib/policy/evaluate";
import { text } from "@/lib/schemas/common";

/**
 * The alert rules' contract: which detectors exist, the parameters each takes (validated on every
 * write), the rules seeded by default, and how one audit event matches one rule. Pure: the
 * engine (lib/server/alerts/engine.ts) holds the windows and the database.
 */

export const severities = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof severities)[number];
export const severityRank: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

const minutes = (max: number) => z.number().int("Whole minutes").min(1, "At least 1 minute").max(max, `At most ${max} minutes`);
const threshold = z.number().int("A whole number").min(1, "At least 1").max(10_000, "At most 10000");

const cidr = text()
  .trim()
  .refine((value) => {
    try {
      ipaddr.parseCIDR(value);
      return true;
    } catch {
      return false;
    }
  }, "Not a CIDR range (e.g. 10.0.0.0/8)");

export const detectorParams = {
  /** Failed sign-ins and token requests per account or per source address. */
  failed_auth: z.object({ threshold, windowMinutes: minutes(1440), by: z.enum(["account", "ip"]) }).strict(),
  /** MCP requests refused 401/403, per client. */
  mcp_refused: z.object({ threshold, windowMinutes: minutes(1440) }).strict(),
  /** Any call of a tool of these risk classes. */
  risky_tool: z.object({ riskClasses: z.array(z.enum(["write", "destructive", "financial"])).min(1, "Pick at least one risk class") }).strict(),
  /** Calls from outside the listed ranges (if any), or from an address new for the actor. */
  unexpected_network: z.object({ cidrs: z.array(cidr).max(100), newIpDays: z.number().int().min(0).max(365) }).strict(),
  /** Cost queries whose look-back exceeds `days`, allowed or denied. */
  lookback: z.object({ days: z.number().int().min(1, "At least 1 day").max(36_500) }).strict(),
  /** Events that carry DLP detector matches (a `dlp` field). */
  dlp: z.object({}).strict(),
  /** Step-up requests waiting for a decision longer than `minutes`. */
  stepup_waiting: z.object({ minutes: minutes(10_080) }).strict(),
  gateway_silent: z.object({ minutes: minutes(1440) }).strict(),
  gateway_behind: z.object({ minutes: minutes(1440) }).strict(),
  dead_letters: z.object({}).strict(),
  upstream_failing: z.object({}).strict(),
  credentials_expiring: z.object({ days: z.number().int().min(1).max(365) }).strict(),
  /** A step-up grant that named a tool, used to call another one (a window grant covers its whole risk class). */
  stepup_grant_misuse: z.object({}).strict(),
  /** Step-up requests filed by one person: many in a short time is fishing for access. */
  stepup_flood: z.object({ threshold, windowMinutes: minutes(10_080) }).strict(),
  /** Upstream static credentials (sealed header values, secret references) set longer ago than `days`. */
  credential_age: z.object({ days: z.number().int().min(1, "At least 1 day").max(3650) }).strict(),
  /** The control plane's config-signing key (Ed25519) in use for longer than `days`. */
  signing_key_age: z.object({ days: z.number().int().min(1, "At least 1 day").max(3650) }).strict(),
  /** An audit chain verification (scheduled or on demand) that found the log altered. */
  audit_verify_failed: z.object({}).strict(),
} as const;

export type Detector = keyof typeof detectorParams;
export const detectors = Object.keys(detectorParams) as Detector[];

/** Detectors evaluated per event as it is ingested; the others run on the schedule. */
export const eventDetectors = new Set<Detector>(["failed_auth", "mcp_refused", "risky_tool", "unexpected_network", "lookback", "dlp", "stepup_grant_misuse", "stepup_flood", "audit_verify_failed"]);
/** Rate rules: they resolve themselves after a window without a new occurrence. */
export const rateDetectors = new Set<Detector>(["failed_auth", "mcp_refused", "stepup_flood"]);

/** What each detector is, for the form that creates a rule. */
export const DETECTOR_LABELS: Record<Detector, string> = {
  failed_auth: "Failed sign-ins or token requests (rate)",
  mcp_refused: "MCP requests refused 401/403 (rate)",
  risky_tool: "Calls of write, destructive or financial tools",
  unexpected_network: "Access from an unexpected network",
  lookback: "Cost query look-back over N days",
  dlp: "DLP detector match",
  stepup_waiting: "Step-up request waiting",
  gateway_silent: "Gateway silent",
  gateway_behind: "Gateway behind on config",
  dead_letters: "Audit events dead-lettered",
  upstream_failing: "Upstream server failing",
  credentials_expiring: "Service-account secrets and API tokens expiring",
  stepup_grant_misuse: "Step-up grant used for another tool",
  stepup_flood: "Many step-up requests from one person (rate)",
  credential_age: "Upstream static credentials older than N days",
  signing_key_age: "Config signing key due for rotation",
  audit_verify_failed: "Audit chain verification failed",
};

/** Parameters a new rule of each detector starts from (the built-in defaults). */
export const DETECTOR_DEFAULTS: Record<Detector, Record<string, unknown>> = {
  failed_auth: { threshold: 5, windowMinutes: 10, by: "account" },
  mcp_refused: { threshold: 5, windowMinutes: 10 },
  risky_tool: { riskClasses: ["write"] },
  unexpected_network: { cidrs: [], newIpDays: 30 },
  lookback: { days: 365 },
  dlp: {},
  stepup_waiting: { minutes: 15 },
  gateway_silent: { minutes: 5 },
  gateway_behind: { minutes: 1 },
  dead_letters: {},
  upstream_failing: {},
  credentials_expiring: { days: 14 },
  stepup_grant_misuse: {},
  stepup_flood: { threshold: 5, windowMinutes: 60 },
  credential_age: { days: 90 },
  signing_key_age: { days: 90 },
  audit_verify_failed: {},
};

export const alertScope = z
  .object({
    portal: text().trim().min(1).max(128).optional(),
    server: text().trim().min(1).max(128).optional(),
    tool: text().trim().min(1).max(256).optional(),
    actor: text().trim().min(1).max(320).optional(),
    /** A portal role's slug: MCP calls that role decided, step-up requests filed under it. */
    role: text().trim().min(1).max(64).optional(),
  })
  .strict();
export type AlertScope = z.infer<typeof alertScope>;

export const updateAlertRuleInput = z
  .object({
    enabled: z.boolean().optional(),
    severity: z.enum(severities).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    scope: alertScope.optional(),
    throttleMinutes: z.number().int().min(0).max(1440).optional(),
  })
  .strict();
export type UpdateAlertRuleInput = z.infer<typeof updateAlertRuleInput>;

/** A custom rule: one of the detectors the engine knows, with its parameters (checked per detector). */
export const createAlertRuleInput = z
  .object({
    detector: z.enum(Object.keys(detectorParams) as [Detector, ...Detector[]], "Pick one of the rule kinds the engine knows"),
    name: text().trim().min(1, "Name the rule").max(120, "At most 120 characters"),
    description: text().trim().max(500, "At most 500 characters").optional(),
    enabled: z.boolean().optional(),
    severity: z.enum(severities),
    params: z.record(z.string(), z.unknown()),
    scope: alertScope.optional(),
    throttleMinutes: z.number().int().min(0).max(1440).optional(),
  })
  .strict();
export type CreateAlertRuleInput = z.infer<typeof createAlertRuleInput>;

export type RuleParams<D extends Detector> = z.infer<(typeof detectorParams)[D]>;

export type BuiltInRule = { key: string; detector: Detector; name: string; description: string; severity: Severity; enabled: boolean; params: Record<string, unknown> };

export const BUILT_IN_RULES: BuiltInRule[] = [
  { key: "failed-auth-account", detector: "failed_auth", name: "Failed sign-ins per account", description: "Failed sign-ins or token requests for one account.", severity: "high", enabled: true, params: { threshold: 5, windowMinutes: 10, by: "account" } },
  { key: "failed-auth-ip", detector: "failed_auth", name: "Failed sign-ins per address", description: "Failed sign-ins or token requests from one source address.", severity: "high", enabled: true, params: { threshold: 5, windowMinutes: 10, by: "ip" } },
  { key: "mcp-refused", detector: "mcp_refused", name: "MCP requests refused (401/403)", description: "An MCP client refused again and again: a bad or revoked token, or probing.", severity: "medium", enabled: true, params: { threshold: 5, windowMinutes: 10 } },
  { key: "risky-tool-financial-destructive", detector: "risky_tool", name: "Financial or destructive tool called", description: "Any call of a financial or destructive tool.", severity: "high", enabled: true, params: { riskClasses: ["financial", "destructive"] } },
  { key: "risky-tool-write", detector: "risky_tool", name: "Write tool called", description: "Any call of a write tool.", severity: "medium", enabled: false, params: { riskClasses: ["write"] } },
  { key: "unexpected-network", detector: "unexpected_network", name: "Access from an unexpected network", description: "A call from outside the expected ranges, or from an address not seen for that actor in 30 days.", severity: "medium", enabled: true, params: { cidrs: [], newIpDays: 30 } },
  { key: "lookback-over-a-year", detector: "lookback", name: "Cost query looking back over a year", description: "A cost query reaching back more than 365 days, allowed or denied.", severity: "medium", enabled: true, params: { days: 365 } },
  { key: "dlp-match", detector: "dlp", name: "DLP detector match", description: "A request or response matched a DLP detector.", severity: "high", enabled: true, params: {} },
  { key: "stepup-waiting", detector: "stepup_waiting", name: "Step-up request waiting", description: "A step-up request waiting for a decision.", severity: "medium", enabled: true, params: { minutes: 15 } },
  { key: "gateway-silent", detector: "gateway_silent", name: "Gateway silent", description: "A gateway that stopped reporting.", severity: "critical", enabled: true, params: { minutes: 5 } },
  { key: "gateway-behind", detector: "gateway_behind", name: "Gateway behind on config", description: "A gateway running an older config version than the latest.", severity: "high", enabled: true, params: { minutes: 1 } },
  { key: "audit-dead-letters", detector: "dead_letters", name: "Audit events dead-lettered", description: "A gateway set audit events aside because the control plane refused them.", severity: "critical", enabled: true, params: {} },
  { key: "upstream-failing", detector: "upstream_failing", name: "Upstream server failing", description: "An upstream MCP server in error.", severity: "high", enabled: true, params: {} },
  { key: "credentials-expiring", detector: "credentials_expiring", name: "Credentials expiring", description: "Service-account secrets and API tokens expiring soon.", severity: "medium", enabled: true, params: { days: 14 } },
  { key: "stepup-grant-misuse", detector: "stepup_grant_misuse", name: "Step-up grant used for another tool", description: "Elevated access asked for one tool, used to call a different one.", severity: "high", enabled: true, params: {} },
  { key: "stepup-flood", detector: "stepup_flood", name: "Many step-up requests from one person", description: "One person filing step-up request after request.", severity: "medium", enabled: true, params: { threshold: 5, windowMinutes: 60 } },
  { key: "upstream-credential-age", detector: "credential_age", name: "Upstream credential older than 90 days", description: "A static upstream credential not rotated for 90 days.", severity: "medium", enabled: true, params: { days: 90 } },
  { key: "signing-key-age", detector: "signing_key_age", name: "Signing key due for rotation", description: "The config signing key has signed for more than 90 days.", severity: "medium", enabled: true, params: { days: 90 } },
  { key: "audit-verify-failed", detector: "audit_verify_failed", name: "Audit chain verification failed", description: "A verification found the audit log altered or broken.", severity: "critical", enabled: true, params: {} },
];

/** Parses a detector's parameters; throws a ZodError naming the fields. */
export function parseRuleParams(detector: Detector, params: unknown): Record<string, unknown> {
  return detectorParams[detector].parse(params) as Record<string, unknown>;
}

export type RuleView = { id: string; detector: Detector; severity: Severity; params: Record<string, unknown>; scope: AlertScope; name: string };

/** What an event contributes to a rule: the subject it counts against, and how to find it again. */
export type Match = { subject: string; title: string; auditFilter: Record<string, string>; detail?: Record<string, unknown> };

export type MatchContext = {
  /** The risk class of a tool by server and upstream tool name, as the registry has it. */
  riskOf: (server: string, tool: string) => string | undefined;
  /** Whether this actor has been seen before, and from this address, within the rule's days. */
  addressHistory: (actor: string, ip: string) => "new-actor" | "known" | "new-address";
  /** The server and tool a step-up grant was asked for (null: the whole risk class), when known. */
  grantOf?: (grantId: string) => { server: string | null; tool: string | null } | undefined;
};

function inScope(scope: AlertScope, event: AuditEventInput): boolean {
  if (scope.portal && event.portal !== scope.portal) return false;
  if (scope.server && event.server !== scope.server) return false;
  if (scope.tool && event.tool !== scope.tool) return false;
  if (scope.actor && event.actorId !== scope.actor && event.actorLabel !== scope.actor) return false;
  if (scope.role && !rolesOf(event).includes(scope.role)) return false;
  return true;
}

/** The portal roles behind an event: those that decided an MCP call, the one a step-up request was filed under. */
function rolesOf(event: AuditEventInput): string[] {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const roles = Array.isArray(data.roles) ? data.roles.filter((r): r is string => typeof r === "string") : [];
  return typeof data.roleSlug === "string" ? [...roles, data.roleSlug] : roles;
}

/**
 * How the explorer finds an event's actor again: its id when it has one (an exact match), else its
 * label (the start of an email or client name). The free-text `q` searches neither.
 */
const actorOf = (e: AuditEventInput) => e.actorId ?? e.actorLabel ?? null;
/** The explorer filters (lib/schemas/audit.ts) that name this actor, or none for an anonymous one. */
const actorFilter = (e: AuditEventInput): Record<string, string> => {
  const actor = actorOf(e);
  return actor ? { actor } : {};
};
/** The filters that name where an MCP call went: its portal, server and tool, those it has. */
const callFilter = (e: AuditEventInput): Record<string, string> => ({
  ...(e.portal ? { portal: e.portal } : {}),
  ...(e.server ? { server: e.server } : {}),
  ...(e.tool ? { tool: e.tool } : {}),
});

/** The detectors named in an event's `dlp` field (entries of `{ detector, field, count }`), each once. */
function dlpDetectors(dlp: unknown): string[] {
  if (!Array.isArray(dlp)) return [];
  return [...new Set(dlp.map((d) => str((d as { detector?: unknown } | null)?.detector)).filter((d): d is string => d !== null))];
}

const isFailedAuth = (e: AuditEventInput) => (e.kind === "auth.sign_in" || e.kind === "auth.token") && e.outcome === "failure";
const dataOf = (e: AuditEventInput) => (e.data ?? {}) as Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" && v ? v : null);

function parseIp(value: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(value)) return null;
  const ip = ipaddr.parse(value);
  return ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
}

export function isInCidrs(address: string, cidrs: string[]): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  return cidrs.some((c) => {
    const [range, bits] = ipaddr.parseCIDR(c);
    return range.kind() === ip.kind() && ip.match(range, bits);
  });
}

/** One event against one event rule; null when it does not count. */
export function matchEvent(rule: RuleView, event: AuditEventInput, ctx: MatchContext): Match | null {
  if (!inScope(rule.scope, event)) return null;
  const data = dataOf(event);
  switch (rule.detector) {
    case "failed_auth": {
      if (!isFailedAuth(event)) return null;
      // A lockout summarises refusals already counted, so it is not one more attempt.
      if (event.action === "token.lockout") return null;
      if (rule.params.by === "ip") {
        if (!event.sourceIp) return null;
        return { subject: `ip:${event.sourceIp}`, title: `Failed sign-ins from ${event.sourceIp}`, auditFilter: { outcome: "failure", ip: event.sourceIp } };
      }
      const account = event.actorLabel ?? str(data.clientId) ?? event.actorId;
      if (!account) return null;
      return { subject: `account:${account}`, title: `Failed sign-ins for ${account}`, auditFilter: { outcome: "failure", actor: account } };
    }
    case "mcp_refused": {
      if (event.kind !== "mcp.request") return null;
      const status = data.httpStatus;
      if (status !== 401 && status !== 403) return null;
      const client = event.actorLabel ?? event.actorId ?? (event.sourceIp ? `address ${event.sourceIp}` : null);
      if (!client) return null;
      return { subject: `client:${client}`, title: `MCP requests refused for ${client}`, auditFilter: { kind: "mcp.request", outcome: "deny", ...(actorOf(event) ? actorFilter(event) : { ip: event.sourceIp! }) } };
    }
    case "risky_tool": {
      if (event.kind !== "mcp.request" || event.action !== "tools/call" || !event.server || !event.tool) return null;
      const risk = ctx.riskOf(event.server, event.tool);
      if (!risk || !(rule.params.riskClasses as string[]).includes(risk)) return null;
      const who = event.actorLabel ?? event.actorId ?? "anonymous";
      return {
        subject: `tool:${event.portal ?? ""}/${event.server}/${event.tool}|${who}`,
        title: `${who} called ${risk} tool ${event.server}/${event.tool}${event.outcome === "deny" ? " (denied)" : ""}`,
        auditFilter: { kind: "mcp.request", ...callFilter(event), ...actorFilter(event) },
        detail: { riskClass: risk, outcome: event.outcome },
      };
    }
    case "unexpected_network": {
      if (event.kind !== "mcp.request" || !event.sourceIp) return null;
      const who = event.actorId ?? null;
      const cidrs = rule.params.cidrs as string[];
      if (cidrs.length > 0 && !isInCidrs(event.sourceIp, cidrs)) {
        return { subject: `network:${who ?? "anonymous"}|${event.sourceIp}`, title: `${event.actorLabel ?? who ?? "A client"} called from ${event.sourceIp}, outside the expected networks`, auditFilter: { kind: "mcp.request", ip: event.sourceIp, ...(who ? { actor: who } : {}) } };
      }
      if (!who || (rule.params.newIpDays as number) === 0) return null;
      // A new actor has no usual address yet: only a known actor at a new address is unexpected.
      if (ctx.addressHistory(who, event.sourceIp) !== "new-address") return null;
      return { subject: `network:${who}|${event.sourceIp}`, title: `${event.actorLabel ?? who} called from a new address ${event.sourceIp}`, auditFilter: { kind: "mcp.request", ip: event.sourceIp, actor: who } };
    }
    case "lookback": {
      if (event.kind !== "mcp.request" || event.action !== "tools/call") return null;
      const args = data.arguments;
      if (!args || typeof args !== "object" || Array.isArray(args)) return null;
      const days = lookbackDays(args as Record<string, unknown>, event.time);
      if (days === null || days <= (rule.params.days as number)) return null;
      const who = event.actorLabel ?? event.actorId ?? "anonymous";
      return {
        subject: `lookback:${who}|${event.server ?? ""}/${event.tool ?? ""}`,
        title: `${who} queried costs ${days} days back with ${event.tool ?? "a tool"}${event.outcome === "deny" ? " (denied)" : ""}`,
        auditFilter: { kind: "mcp.request", ...callFilter(event), ...actorFilter(event) },
        detail: { days, outcome: event.outcome },
      };
    }
    case "dlp": {
      const dlp = data.dlp;
      if (!dlp || (Array.isArray(dlp) && dlp.length === 0)) return null;
      const who = event.actorLabel ?? event.actorId ?? "anonymous";
      const found = dlpDetectors(dlp);
      // One alert per actor and tool: the title names both, and what matched in this first event.
      const where = event.tool ? `a call of ${event.server ? `${event.server}/` : ""}${event.tool}` : `a ${event.kind} event`;
      return {
        subject: `dlp:${who}|${event.tool ?? event.kind}`,
        title: `DLP match${found.length ? ` (${found.join(", ")})` : ""} in ${where} by ${who}`,
        // The alert's events: this actor's, of this tool; narrowed to the detector when only one matched.
        auditFilter: { kind: event.kind, ...callFilter(event), ...actorFilter(event), ...(found.length === 1 ? { dlp: found[0]! } : {}) },
        detail: { dlp },
      };
    }
    case "stepup_grant_misuse": {
      if (event.kind !== "mcp.request" || event.action !== "tools/call" || event.outcome !== "allow") return null;
      const grantId = str(data.grantId);
      if (!grantId || !event.server || !event.tool) return null;
      const asked = ctx.grantOf?.(grantId);
      // A grant for a whole risk class names no tool: every tool of the class is what was asked for.
      if (!asked?.tool) return null;
      if (asked.tool === event.tool && (asked.server === null || asked.server === event.server)) return null;
      const who = event.actorLabel ?? event.actorId ?? "anonymous";
      return {
        subject: `grant:${grantId}|${event.server}/${event.tool}`,
        title: `${who} used a step-up grant asked for ${asked.server ?? ""}${asked.server ? "/" : ""}${asked.tool} to call ${event.server}/${event.tool}`,
        auditFilter: { kind: "mcp.request", grant: grantId, server: event.server, tool: event.tool },
        detail: { grantId, asked, used: { server: event.server, tool: event.tool } },
      };
    }
    case "stepup_flood": {
      if (event.kind !== "stepup.requested") return null;
      const who = event.actorLabel ?? event.actorId;
      if (!who) return null;
      return { subject: `requester:${who}`, title: `Many step-up requests from ${who}`, auditFilter: { kind: "stepup.requested", ...actorFilter(event) } };
    }
    case "audit_verify_failed": {
      if (event.kind !== "audit.verify.failed") return null;
      return {
        subject: "audit-chain",
        title: `Audit chain verification failed${event.targetId ? ` at seq ${event.targetId}` : ""}${event.reasons?.[0] ? `: ${event.reasons[0]}` : ""}`,
        auditFilter: { kind: "audit.verify.failed" },
        detail: { failure: data.failure ?? null },
      };
    }
    default:
      return null;
  }
}

/**
 * The last `threshold` times an event counted against one rule and subject: the rule fires when
 * there are `threshold` of them within the window. Bounded by the threshold, whatever the traffic.
 */
export class SlidingWindow {
  private readonly times: number[] = [];
  private readonly ids: Array<string | null> = [];

  constructor(private readonly threshold: number, private readonly windowMs: number) {}

  /** Adds one occurrence; true when the window now holds the threshold. */
  add(time: number, id: string | null): boolean {
    this.times.push(time);
    this.ids.push(id);
    while (this.times.length > this.threshold) {
      this.times.shift();
      this.ids.shift();
    }
    return this.times.length >= this.threshold && time - this.times[0]! <= this.windowMs;
  }

  /** The event ids in the window, oldest first. */
  eventIds(): string[] {
    return this.ids.filter((id): id is string => id !== null);
  }

  clear(): void {
    this.times.length = 0;
    this.ids.length = 0;
  }

  isStale(now: number): boolean {
    const last = this.times.at(-1);
    return last === undefined || now - last > this.windowMs;
  }
}
