import "server-only";
import { createHash } from "node:crypto";
import { isRevocationLive, REVOCATION_KEEP_MS, sortRevocations, type RevocationEntry, type RevocationKind, type RevocationReason } from "@/lib/config/revocations";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";

type Tx = Prisma.TransactionClient;

/**
 * The control plane's side of revocation (the rule itself is in lib/config/revocations.ts).
 *
 * Events (disabled, deleted, disconnected, replaced without grace) are rows written in the same
 * transaction as the change they follow, then published at once (config-publisher.ts). Ends known
 * in advance (a service account's expiry, its previous secret's grace end) are derived from the
 * accounts' own dates at every build, so existing accounts need no backfill and a renewed account
 * needs no row deleted.
 */

/**
 * What names a service-account secret in the tokens it mints (`portico_secret`) and in
 * revocations: a digest of its stored HMAC. Neither the secret nor the HMAC can be recovered from
 * it, and it is stable for as long as the secret is.
 */
export function secretIdOf(secretHash: string): string {
  return createHash("sha256").update(`portico/secret-id/v1\u0000${secretHash}`).digest("base64url").slice(0, 22);
}

export type RevocationInput = { kind: RevocationKind; id: string; reason: RevocationReason; at?: Date };

/** Records revocations; call in the transaction of the change that ended the access. */
export async function recordRevocations(tx: Tx | Db, entries: RevocationInput[], now = new Date()): Promise<void> {
  if (entries.length === 0) return;
  await tx.revocation.createMany({
    data: entries.map((e) => {
      const at = e.at ?? now;
      return { kind: e.kind, value: e.id, reason: e.reason, at, keepUntil: new Date(at.getTime() + REVOCATION_KEEP_MS) };
    }),
  });
}

/** Every revocation a gateway must know at `now`: stored events and derived ends, sorted. */
export async function liveRevocations(tx: Tx | Db, now = new Date()): Promise<RevocationEntry[]> {
  const since = new Date(now.getTime() - REVOCATION_KEEP_MS);
  // In turn: `tx` may be a transaction, whose queries share one connection.
  const rows = await tx.revocation.findMany({ where: { keepUntil: { gt: now } }, select: { kind: true, value: true, at: true, reason: true } });
  const accounts = await tx.serviceAccount.findMany({
    where: { OR: [{ expiresAt: { gt: since } }, { previousSecretExpiresAt: { gt: since } }] },
    select: { secretHash: true, expiresAt: true, previousSecretHash: true, previousSecretExpiresAt: true },
  });
  const entries: RevocationEntry[] = rows.map((r) => ({ kind: r.kind as RevocationKind, id: r.value, at: r.at.toISOString(), reason: r.reason as RevocationReason }));
  for (const account of accounts) {
    // Tied to the secret, not the account: renewing is rotating, so the new secret's tokens are
    // not touched by the old secret's expiry.
    if (account.expiresAt > since) {
      entries.push({ kind: "secret", id: secretIdOf(account.secretHash), at: account.expiresAt.toISOString(), reason: "service account expired" });
    }
    if (account.previousSecretHash && account.previousSecretExpiresAt && account.previousSecretExpiresAt > since) {
      entries.push({ kind: "secret", id: secretIdOf(account.previousSecretHash), at: account.previousSecretExpiresAt.toISOString(), reason: "service account secret replaced" });
    }
  }
  return sortRevocations(entries.filter((e) => isRevocationLive(e, now.getTime())));
}

/** Deletes rows no gateway needs any more. */
export async function pruneRevocations(tx: Tx | Db, now = new Date()): Promise<number> {
  const { count } = await tx.revocation.deleteMany({ where: { keepUntil: { lte: now } } });
  return count;
}
