import { listAuditParams, type AuditEventView, type AuditFilterParamKey } from "@/lib/schemas/audit";
import type { BadgeVariant } from "@/components/ui/badge";

/**
 * Every kind the control plane and the gateway write (grep `kind:` in lib/server and gateway), with
 * a readable name and the group the Kind filter lists it under. A kind missing here still shows,
 * under its raw name, since the facet counts list what the log holds.
 */
export const AUDIT_KINDS = [
  { value: "config.change", label: "Config change", group: "Configuration" },
  { value: "auth.sign_in", label: "Sign-in", group: "Access" },
  { value: "auth.mfa", label: "Two-factor", group: "Access" },
  { value: "auth.token", label: "Token", group: "Access" },
  { value: "auth.consent", label: "Client approval", group: "Access" },
  { value: "mcp.request", label: "MCP request", group: "MCP traffic" },
  { value: "mcp.server_request", label: "Server request to a client", group: "MCP traffic" },
  { value: "stepup.requested", label: "Step-up requested", group: "Step-up" },
  { value: "stepup.approved", label: "Step-up approved", group: "Step-up" },
  { value: "stepup.denied", label: "Step-up denied", group: "Step-up" },
  { value: "stepup.expired", label: "Step-up expired", group: "Step-up" },
  { value: "stepup.revoked", label: "Step-up revoked", group: "Step-up" },
  { value: "stepup.withdrawn", label: "Step-up withdrawn", group: "Step-up" },
  { value: "alert", label: "Alert", group: "Alerts" },
  { value: "audit.verify", label: "Chain verification", group: "Audit log" },
  { value: "audit.verify.failed", label: "Chain verification failed", group: "Audit log" },
  { value: "audit.checkpoint", label: "Chain checkpoint", group: "Audit log" },
  { value: "audit.purge", label: "Retention purge", group: "Audit log" },
  { value: "audit.purge.failed", label: "Retention purge failed", group: "Audit log" },
  { value: "audit.purge_record", label: "Purge record", group: "Audit log" },
] as const;

export const AUDIT_OUTCOMES = [
  { value: "success", label: "Success" },
  { value: "failure", label: "Failure" },
  { value: "allow", label: "Allow" },
  { value: "deny", label: "Deny" },
] as const;

export function kindLabel(kind: string): string {
  return AUDIT_KINDS.find((k) => k.value === kind)?.label ?? kind;
}

/** What the explorer calls each URL filter, for messages that name one. */
export const FILTER_LABELS: Record<AuditFilterParamKey | "cursor" | "order", string> = {
  range: "Time range",
  from: "From",
  to: "To",
  kind: "Kind",
  actor: "Actor",
  actorType: "Actor type",
  portal: "Portal",
  server: "Server",
  tool: "Tool",
  outcome: "Decision",
  rule: "Deny rule or reason",
  grant: "Step-up grant",
  ip: "Source IP or CIDR",
  upstream: "Upstream outcome",
  dlp: "DLP detector",
  session: "Session",
  requestId: "Request id",
  q: "Search",
  cursor: "Page",
  order: "Order",
};

/**
 * The URL params the list API would refuse (a hand-edited or stale link: `range=6w`,
 * `outcome=bogus`), each with its value and the schema's message; checked in the browser with the
 * API's own schema, so the page names them at once instead of asking the server first.
 */
export function invalidFilters(params: Partial<Record<AuditFilterParamKey | "cursor" | "order", string>>): Array<{ key: AuditFilterParamKey | "cursor" | "order"; label: string; value: string; message: string }> {
  const parsed = listAuditParams.safeParse(params);
  if (parsed.success) return [];
  const keys = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const key = String(issue.path[0] ?? "");
    if (key in FILTER_LABELS && !keys.has(key)) keys.set(key, issue.message);
  }
  return [...keys].map(([key, message]) => {
    const k = key as keyof typeof FILTER_LABELS;
    return { key: k, label: FILTER_LABELS[k], value: params[k] ?? "", message };
  });
}

export function outcomeVariant(outcome: string): BadgeVariant {
  if (outcome === "success" || outcome === "allow") return "success";
  if (outcome === "failure" || outcome === "deny") return "destructive";
  return "secondary";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The before/after pair of a config change, when the event carries one. */
export function changeValues(event: Pick<AuditEventView, "data">): { before: unknown; after: unknown } | null {
  if (!isRecord(event.data) || !("before" in event.data || "after" in event.data)) return null;
  return { before: event.data.before ?? null, after: event.data.after ?? null };
}

/** A human name for the target of an event: the changed record's name, slug or email when known. */
export function targetLabel(event: AuditEventView): string {
  const change = changeValues(event);
  const record = isRecord(change?.after) ? change.after : isRecord(change?.before) ? change.before : null;
  const name = record && (["name", "slug", "email"] as const).map((k) => record[k]).find((v) => typeof v === "string");
  if (typeof name === "string") return name;
  if (event.targetName) return event.targetName;
  // An alert's events carry its title as their reason (lib/server/alerts): the id says nothing.
  if (event.targetType === "alert" && event.reasons?.[0]) return event.reasons[0];
  // An MCP client a person approved, disconnected or used: its name, on its portal.
  if (event.targetType === "oauth_client" && isRecord(event.data) && typeof event.data.clientName === "string") {
    return [event.portal, event.data.clientName].filter(Boolean).join(" / ");
  }
  if (event.tool) return [event.portal, event.server, event.tool].filter(Boolean).join(" / ");
  // A tool the gateway could not resolve (turned off, unknown): the name the client asked for.
  if (event.targetType === "tool" && event.targetId) return [event.portal, event.targetId].filter(Boolean).join(" / ");
  // A name no tool of the portal has (gateway/audit.ts): said as such, never as a tool.
  if (isRecord(event.data) && typeof event.data.unknownTool === "string") return [event.portal, `unknown tool “${event.data.unknownTool}”`].filter(Boolean).join(" / ");
  if (event.portal) return event.portal;
  return event.targetId ?? "";
}

export function actorLabel(event: AuditEventView): string {
  return event.actorName ?? event.actorLabel ?? (event.actorType === "anonymous" ? "Anonymous" : event.actorType);
}
