import { randomUUID } from "node:crypto";

import { sanitizeAuditEvent, type AuditEventInput } from "@/lib/audit/event";
import { MAX_AUDIT_DEPTH, sanitizeJson, type JsonLimits } from "@/lib/audit/sanitize";

import type { TokenIdentity } from "./auth";

export type EmitAuditEvent = (event: AuditEventInput) => void;

export const MAX_AUDIT_PAYLOAD_BYTES = 8 * 1024;

// Room for data → arguments → the `$truncated` marker above a payload's own levels.
const MAX_PAYLOAD_DEPTH = MAX_AUDIT_DEPTH - 3;

/**
 * Everything else in an event's data (client name and version, names a client chose) is kept
 * whole up to here; these limits sit inside the store's, so ingest keeps the event as built.
 */
const EVENT_DATA_LIMITS: JsonLimits = { maxBytes: 256 * 1024, maxDepth: MAX_AUDIT_DEPTH, maxString: 16 * 1024 };

/**
 * Arguments and results are kept for the auditor, capped: a payload within 8 KiB and 29 levels
 * stays as it was (not copied); a bigger or deeper one becomes `{ "$truncated": { bytes, depth },
 * "preview": … }` (see lib/audit/sanitize.ts), `bytes` being its original size. Unstorable
 * characters are left for `mcpRequestEvent`, which escapes and counts them for the whole event.
 */
export function capPayload(value: unknown, limit = MAX_AUDIT_PAYLOAD_BYTES): { value: unknown; bytes: number; truncated: boolean } {
  if (value === undefined) return { value: undefined, bytes: 0, truncated: false };
  const result = sanitizeJson(value, { maxBytes: limit, maxDepth: MAX_PAYLOAD_DEPTH, shouldEscape: false });
  return { value: result.value, bytes: result.bytes, truncated: result.truncated };
}

export type McpRequestEventFields = {
  time: Date;
  identity: TokenIdentity | null;
  portal: string | null;
  server?: string | null;
  tool?: string | null;
  action: string;
  outcome: "allow" | "deny";
  reasons?: string[];
  sourceIp: string | null;
  requestId: string;
  data: Record<string, unknown>;
};

/**
 * What the request was about, as the audit table shows it: the upstream tool when the gateway
 * resolved one, else the name the client asked for (a tool turned off or unknown is still worth
 * seeing by name), else the portal.
 */
function target(fields: McpRequestEventFields): { targetType: string | null; targetId: string | null } {
  if (fields.tool) return { targetType: "tool", targetId: `${fields.server ?? ""}/${fields.tool}` };
  const requested = fields.data.exposedName;
  if (typeof requested === "string" && requested) return { targetType: "tool", targetId: requested };
  return { targetType: fields.portal ? "portal" : null, targetId: fields.portal ?? null };
}

/**
 * One `mcp.request` event: the shape every MCP request, allowed or denied, is recorded in. It is
 * storable whatever the caller sent (escaped, cut, truncated; see lib/audit/sanitize.ts), so the
 * control plane never refuses it for its content.
 */
export function mcpRequestEvent(fields: McpRequestEventFields): AuditEventInput {
  const identity = fields.identity;
  return sanitizeAuditEvent({
    id: randomUUID(),
    time: fields.time,
    kind: "mcp.request",
    actorType: identity ? identity.kind : "anonymous",
    actorId: identity?.subject ?? null,
    actorLabel: identity ? (identity.email ?? identity.clientId ?? identity.subject) : null,
    action: fields.action || "unknown",
    outcome: fields.outcome,
    ...target(fields),
    portal: fields.portal,
    server: fields.server ?? null,
    tool: fields.tool ?? null,
    reasons: fields.reasons?.length ? fields.reasons : null,
    data: fields.data,
    sourceIp: fields.sourceIp,
    requestId: fields.requestId,
  }, EVENT_DATA_LIMITS);
}
