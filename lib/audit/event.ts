import { createHash } from "node:crypto";
import { z } from "zod";

/**
 * The audit event contract shared by the control plane and the gateway. Events are hash-chained
 * in insertion order: each hash covers the previous one, so editing or deleting any stored event
 * breaks every later hash.
 */
export const auditEventInput = z.object({
  id: z.uuid(),
  time: z.coerce.date(),
  kind: z.string().min(1).max(64),
  actorType: z.enum(["user", "service_account", "api_token", "system", "anonymous"]),
  actorId: z.string().max(200).nullish(),
  actorLabel: z.string().max(320).nullish(),
  action: z.string().min(1).max(128),
  outcome: z.enum(["allow", "deny", "success", "failure"]),
  targetType: z.string().max(64).nullish(),
  targetId: z.string().max(200).nullish(),
  portal: z.string().max(128).nullish(),
  server: z.string().max(128).nullish(),
  tool: z.string().max(256).nullish(),
  reasons: z.array(z.string().max(1000)).max(50).nullish(),
  data: z.record(z.string(), z.unknown()).nullish(),
  sourceIp: z.string().max(64).nullish(),
  requestId: z.string().max(128).nullish(),
});

export type AuditEventInput = z.infer<typeof auditEventInput>;

export const GENESIS_HASH = "0".repeat(64);

/** JSON with object keys sorted at every depth, so the same event always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** Hashes exactly the contract's fields, so a stored row (with seq, prevHash…) hashes as its input did. */
export function hashAuditEvent(prevHash: string, event: AuditEventInput): string {
  const normalized = {
    id: event.id,
    time: event.time.toISOString(),
    kind: event.kind,
    actorType: event.actorType,
    actorId: event.actorId ?? null,
    actorLabel: event.actorLabel ?? null,
    action: event.action,
    outcome: event.outcome,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    portal: event.portal ?? null,
    server: event.server ?? null,
    tool: event.tool ?? null,
    reasons: event.reasons ?? null,
    data: event.data ?? null,
    sourceIp: event.sourceIp ?? null,
    requestId: event.requestId ?? null,
  };
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(normalized)).digest("hex");
}

/** Checks a run of stored events in chain order; returns the index of the first broken link. */
export function verifyChain(
  events: Array<AuditEventInput & { prevHash: string; hash: string }>,
  startPrevHash = GENESIS_HASH,
): { ok: true } | { ok: false; index: number; reason: string } {
  let prev = startPrevHash;
  for (const [index, event] of events.entries()) {
    if (event.prevHash !== prev) return { ok: false, index, reason: "previous hash does not match" };
    if (hashAuditEvent(prev, event) !== event.hash) return { ok: false, index, reason: "event content was altered" };
    prev = event.hash;
  }
  return { ok: true };
}

const SECRET_KEYS = /^(secret|secretEnc|password|passwordHash|totpSecretEnc|tokenHash|recoveryCodes|value|clientSecret|token)$/i;

/** Replaces secret-bearing fields with a mask before anything reaches the audit log. */
export function maskSecrets(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(maskSecrets);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEYS.test(k) && v !== null && v !== undefined && v !== "" ? "••••••" : maskSecrets(v),
    ]),
  );
}
