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

/** A payload made storable in one walk: capped as `capPayload` does, and escaped, its escapes counted. */
export type AuditPayload = { value: unknown; truncated: boolean; escaped: number };

/**
 * `capPayload` and the event's own escaping in one walk (the hot path's form): the payload is
 * capped, and unstorable characters escaped and counted, here, so `mcpRequestEvent` need not walk
 * it again. Strings are cut to the event's limit after escaping, as a second pass would.
 */
export function auditPayload(value: unknown, limit = MAX_AUDIT_PAYLOAD_BYTES): AuditPayload | undefined {
  if (value === undefined) return undefined;
  const result = sanitizeJson(value, { maxBytes: limit, maxDepth: MAX_PAYLOAD_DEPTH, maxString: EVENT_DATA_LIMITS.maxString, shouldEscape: true });
  return { value: result.value, truncated: result.truncated, escaped: result.escaped };
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
  /** Payloads already made storable (`auditPayload`): added to `data` after it is sanitized, not walked again. */
  payloads?: { arguments?: AuditPayload; result?: AuditPayload };
};

/**
 * What the request was about, as the audit table shows it: the upstream tool when the gateway
 * resolved one, else the name the client asked for when it is a tool of the portal's (one turned
 * off or quarantined is still worth seeing by name), else the portal. A name no tool has is no
 * tool target: it stays in `data.unknownTool`, with the reason "unknown tool".
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
  const event = sanitizeAuditEvent({
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
  const payloads = fields.payloads;
  if (!payloads || (payloads.arguments === undefined && payloads.result === undefined)) return event;
  // The rest of `data` is small (names, counts, at most a few KiB of client-chosen text), and each
  // payload is capped at MAX_AUDIT_PAYLOAD_BYTES: the whole stays within EVENT_DATA_LIMITS.
  const data: Record<string, unknown> = event.data === fields.data ? { ...event.data } : event.data!;
  let escaped = 0;
  const { arguments: args, result } = payloads;
  if (args) {
    data.arguments = args.value;
    if (args.truncated) data.argumentsTruncated = true;
    escaped += args.escaped;
  }
  if (result) {
    data.result = result.value;
    if (result.truncated) data.resultTruncated = true;
    escaped += result.escaped;
  }
  if (escaped > 0) data.escapedCharacters = (typeof data.escapedCharacters === "number" ? data.escapedCharacters : 0) + escaped;
  event.data = data;
  return event;
}
