import { randomUUID } from "node:crypto";

import type { AuditEventInput } from "@/lib/audit/event";

import type { TokenIdentity } from "./auth";

export type EmitAuditEvent = (event: AuditEventInput) => void;

/**
 * Every event names the replica that served it (`data.gateway`): behind a load balancer, that is
 * how an auditor or an operator tells which gateway answered a call.
 */
export function stampGateway(emit: EmitAuditEvent, gatewayName: string): EmitAuditEvent {
  return (event) => emit({ ...event, data: { ...event.data, gateway: gatewayName } });
}

export const MAX_AUDIT_PAYLOAD_BYTES = 8 * 1024;

/**
 * Arguments and results are kept for the auditor, capped: a small payload stays structured; a
 * large one is kept as its first 8 KiB of JSON, marked truncated.
 */
export function capPayload(value: unknown, limit = MAX_AUDIT_PAYLOAD_BYTES): { value: unknown; bytes: number; truncated: boolean } {
  if (value === undefined) return { value: undefined, bytes: 0, truncated: false };
  let json: string;
  try {
    json = JSON.stringify(value) ?? "null";
  } catch {
    return { value: "[unserializable]", bytes: 0, truncated: true };
  }
  const bytes = Buffer.byteLength(json);
  if (bytes <= limit) return { value, bytes, truncated: false };
  return { value: Buffer.from(json).subarray(0, limit).toString("utf8"), bytes, truncated: true };
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
  if (fields.tool) return { targetType: "tool", targetId: `${fields.server ?? ""}/${fields.tool}`.slice(0, 200) };
  const requested = fields.data.exposedName;
  if (typeof requested === "string" && requested) return { targetType: "tool", targetId: requested.slice(0, 200) };
  return { targetType: fields.portal ? "portal" : null, targetId: fields.portal ?? null };
}

/** One `mcp.request` event: the shape every MCP request, allowed or denied, is recorded in. */
export function mcpRequestEvent(fields: McpRequestEventFields): AuditEventInput {
  const identity = fields.identity;
  return {
    id: randomUUID(),
    time: fields.time,
    kind: "mcp.request",
    actorType: identity ? identity.kind : "anonymous",
    actorId: identity?.subject ?? null,
    actorLabel: identity ? (identity.email ?? identity.clientId ?? identity.subject) : null,
    action: fields.action.slice(0, 128),
    outcome: fields.outcome,
    ...target(fields),
    portal: fields.portal,
    server: fields.server ?? null,
    tool: fields.tool ?? null,
    reasons: fields.reasons?.length ? fields.reasons.map((r) => r.slice(0, 1000)).slice(0, 50) : null,
    data: fields.data,
    sourceIp: fields.sourceIp,
    requestId: fields.requestId,
  };
}
