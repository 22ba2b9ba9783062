import "server-only";
import { randomUUID } from "node:crypto";
import { GENESIS_HASH, auditEventInput, hashAuditEvent, maskSecrets, type AuditEventInput } from "@/lib/audit/event";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Actor } from "./auth/actor";
import { observeAuditEvents } from "./alerts/engine";
import { currentTraceId } from "./tracing";

type Tx = Prisma.TransactionClient;

// Any fixed number: every writer of the chain takes this transaction-scoped lock, so two writers
// never read the same tail hash.
export const CHAIN_LOCK = 7_031_977;

/** Appends events to the hash chain inside the caller's transaction. */
export async function appendAuditEvents(tx: Tx, events: AuditEventInput[]): Promise<void> {
  if (events.length === 0) return;
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
  const tail = await tx.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { hash: true } });
  let prev = tail?.hash ?? GENESIS_HASH;
  const parsed: AuditEventInput[] = [];
  const rows = events.map((raw) => {
    const event = auditEventInput.parse(raw);
    parsed.push(event);
    const hash = hashAuditEvent(prev, event);
    const row = { ...event, reasons: event.reasons ?? undefined, data: (event.data ?? undefined) as Prisma.InputJsonValue | undefined, prevHash: prev, hash };
    prev = hash;
    return row;
  });
  // createMany keeps the array order for seq, which is the chain order.
  await tx.auditEvent.createMany({ data: rows });
  // Evaluated once the caller's transaction has committed (the engine waits to see the rows).
  observeAuditEvents(parsed, false);
}

export function actorFields(actor: Actor | null): Pick<AuditEventInput, "actorType" | "actorId" | "actorLabel"> {
  if (!actor) return { actorType: "anonymous", actorId: null, actorLabel: null };
  if (actor.type === "api_token") return { actorType: "api_token", actorId: actor.tokenId, actorLabel: `${actor.email} (token ${actor.tokenPrefix})` };
  if (actor.type === "system") return { actorType: "system", actorId: null, actorLabel: actor.label };
  return { actorType: "user", actorId: actor.userId, actorLabel: actor.email };
}

export type ConfigChange = {
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
};

/** Records a config change with masked old and new values. Call inside the change's transaction. */
export async function recordConfigChange(tx: Tx, actor: Actor, change: ConfigChange): Promise<void> {
  // The request's or publish's trace, when tracing is on, so the explorer can link to it.
  const traceId = currentTraceId();
  await appendAuditEvents(tx, [
    {
      id: randomUUID(),
      time: new Date(),
      kind: "config.change",
      ...actorFields(actor),
      action: change.action,
      outcome: "success",
      targetType: change.targetType,
      targetId: change.targetId,
      data: { before: maskSecrets(change.before ?? null), after: maskSecrets(change.after ?? null), ...(traceId ? { traceId } : {}) },
      requestId: actor.requestId ?? null,
      sourceIp: actor.ip ?? null,
    },
  ]);
}
