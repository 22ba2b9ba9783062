import type { AuditEventView } from "@/lib/schemas/audit";
import type { BadgeVariant } from "@/components/ui/badge";

export const AUDIT_KINDS = [
  { value: "config.change", label: "Config change" },
  { value: "auth.sign_in", label: "Sign-in" },
  { value: "auth.mfa", label: "Two-factor" },
  { value: "auth.token", label: "Token" },
  { value: "auth.consent", label: "Client approval" },
  { value: "mcp.request", label: "MCP request" },
  { value: "mcp.server_request", label: "Server request to a client" },
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
  // An MCP client a person approved, disconnected or used: its name, on its portal.
  if (event.targetType === "oauth_client" && isRecord(event.data) && typeof event.data.clientName === "string") {
    return [event.portal, event.data.clientName].filter(Boolean).join(" / ");
  }
  if (event.tool) return [event.portal, event.server, event.tool].filter(Boolean).join(" / ");
  // A tool the gateway could not resolve (turned off, unknown): the name the client asked for.
  if (event.targetType === "tool" && event.targetId) return [event.portal, event.targetId].filter(Boolean).join(" / ");
  if (event.portal) return event.portal;
  return event.targetId ?? "";
}

export function actorLabel(event: AuditEventView): string {
  return event.actorLabel ?? (event.actorType === "anonymous" ? "Anonymous" : event.actorType);
}
