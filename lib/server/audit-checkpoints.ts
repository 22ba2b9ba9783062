import "server-only";
import { signCheckpointClaims } from "@/lib/audit/checkpoint";
import type { Db } from "./db/client";
import { describeError, log } from "./log";
import { getActiveSigningKey } from "./signing-keys";

export type CheckpointView = { seq: string; hash: string; eventTime: string; signature: string; kid: string; createdAt: string };

const HOUR_MS = 3_600_000;

/**
 * Signs the current chain head, unless it is already signed. Idempotent: two processes doing it
 * at once write one row (seq is unique; the loser's insert is skipped).
 */
export async function signChainHead(db: Db): Promise<CheckpointView | null> {
  const head = await db.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true, hash: true, time: true } });
  if (!head) return null;
  const existing = await db.auditCheckpoint.findUnique({ where: { seq: head.seq } });
  if (existing) return toView(existing);
  const key = await getActiveSigningKey(db);
  const signature = await signCheckpointClaims({ seq: head.seq.toString(), hash: head.hash, eventTime: head.time.toISOString() }, key.privateKey, key.kid);
  await db.auditCheckpoint.createMany({ data: [{ seq: head.seq, hash: head.hash, eventTime: head.time, signature, kid: key.kid }], skipDuplicates: true });
  const row = await db.auditCheckpoint.findUnique({ where: { seq: head.seq } });
  return row ? toView(row) : null;
}

/** Checkpoints with seq in [from, to], oldest first: what an export spanning that range carries. */
export async function checkpointsBetween(db: Db, from: bigint, to: bigint): Promise<CheckpointView[]> {
  const rows = await db.auditCheckpoint.findMany({ where: { seq: { gte: from, lte: to } }, orderBy: { seq: "asc" } });
  return rows.map(toView);
}

export type PurgeView = { fromSeq: string; toSeq: string; prevHash: string; lastHash: string; count: number; signature: string; kid: string; createdAt: string };

/** Signed purge records of holes before `to`, oldest first: what a whole-chain export needs to cross them. */
export async function purgesUpTo(db: Db, to: bigint): Promise<PurgeView[]> {
  const rows = await db.auditPurge.findMany({ where: { fromSeq: { lte: to } }, orderBy: { fromSeq: "asc" } });
  return rows.map((p) => ({
    fromSeq: p.fromSeq.toString(),
    toSeq: p.toSeq.toString(),
    prevHash: p.prevHash,
    lastHash: p.lastHash,
    count: p.count,
    signature: p.signature,
    kid: p.kid,
    createdAt: p.createdAt.toISOString(),
  }));
}

function toView(row: { seq: bigint; hash: string; eventTime: Date; signature: string; kid: string; createdAt: Date }): CheckpointView {
  return { seq: row.seq.toString(), hash: row.hash, eventTime: row.eventTime.toISOString(), signature: row.signature, kid: row.kid, createdAt: row.createdAt.toISOString() };
}

/** Signs the chain head every hour, in the control-plane process. */
export function startHourlyCheckpoints(db: Db, sign: (db: Db) => Promise<unknown> = signChainHead, everyMs = HOUR_MS): () => void {
  let isRunning = false;
  const tick = () => {
    if (isRunning) return;
    isRunning = true;
    void sign(db)
      .catch((error: unknown) => log("warn", "could not sign the audit chain head", describeError(error)))
      .finally(() => (isRunning = false));
  };
  // One at start too: a control plane restarted more often than hourly still leaves checkpoints.
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
