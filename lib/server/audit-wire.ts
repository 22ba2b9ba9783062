import "server-only";
import type { AuditEvent } from "@/lib/generated/prisma/client";

/**
 * The stored fields of one audit event as they go over the wire (seq as a string, time as
 * ISO 8601), in one place for every reader: the explorer's API view (audit-events.ts, which
 * hides payloads from some readers on top) and what a SIEM destination receives
 * (log-destinations.ts, which adds the chain fields).
 */
export function auditWireFields(row: AuditEvent) {
  return {
    id: row.id,
    seq: row.seq.toString(),
    time: row.time.toISOString(),
    kind: row.kind,
    actorType: row.actorType,
    actorId: row.actorId,
    actorLabel: row.actorLabel,
    action: row.action,
    outcome: row.outcome,
    targetType: row.targetType,
    targetId: row.targetId,
    portal: row.portal,
    server: row.server,
    tool: row.tool,
    reasons: (row.reasons as string[] | null) ?? null,
    data: row.data,
    sourceIp: row.sourceIp,
    requestId: row.requestId,
  };
}
