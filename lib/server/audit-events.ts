import "server-only";
import { listAuditParams, type AuditEventView } from "@/lib/schemas/audit";
import type { Page } from "@/lib/schemas/common";
import type { AuditEvent, Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";

function toView(row: AuditEvent): AuditEventView {
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

/** Newest first, keyset-paginated by seq (the chain order). */
export async function listAuditEvents(db: Db, actor: Actor, raw: unknown): Promise<Page<AuditEventView>> {
  authorize(actor, "audit:read");
  const params = listAuditParams.parse(raw);
  const where: Prisma.AuditEventWhereInput = {
    ...(params.cursor ? { seq: { lt: BigInt(params.cursor) } } : {}),
    ...(params.kind ? { kind: params.kind } : {}),
    ...(params.outcome ? { outcome: params.outcome } : {}),
    ...(params.actor ? { actorLabel: { contains: params.actor, mode: "insensitive" } } : {}),
    ...(params.q
      ? { OR: [{ action: { contains: params.q, mode: "insensitive" } }, { targetId: params.q }, { tool: { contains: params.q, mode: "insensitive" } }] }
      : {}),
  };
  const rows = await db.auditEvent.findMany({ where, orderBy: { seq: "desc" }, take: params.limit + 1 });
  const items = rows.slice(0, params.limit);
  const last = items.at(-1);
  return { items: items.map(toView), nextCursor: rows.length > params.limit && last ? last.seq.toString() : null };
}
