import "server-only";
import { randomUUID } from "node:crypto";
import { ChainVerifier, type ChainFailure, type ChainRow, type PurgedRun } from "@/lib/audit/chain-verify";
import { verifyCheckpoint, verifyPurge } from "@/lib/audit/checkpoint";
import type { AuditEventInput } from "@/lib/audit/event";
import type { AuditEvent } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, systemActor, type Actor } from "./auth/actor";
import { actorFields, appendAuditEvents } from "./audit";
import { signChainHead } from "./audit-checkpoints";
import { describeError, log } from "./log";
import { publicJwks } from "./signing-keys";

export type VerifyProgress = { checked: number; total: number };
export type VerifyResult = {
  ok: boolean;
  checked: number;
  total: number;
  /** The last event that verified: "verified up to seq N at time T". */
  verifiedUpTo: { seq: string; time: string } | null;
  /** Signed checkpoints whose signature and hash matched. */
  checkpoints: number;
  /** Holes left by retention that signed purge records bridged. */
  purgesBridged: number;
  failure: ChainFailure | null;
  finishedAt: string;
};

const CHUNK = 2000;

export function toChainRow(row: AuditEvent): ChainRow {
  return {
    ...(row as unknown as AuditEventInput),
    reasons: (row.reasons as string[] | null) ?? null,
    data: (row.data as Record<string, unknown> | null) ?? null,
    seq: row.seq,
    prevHash: row.prevHash,
    hash: row.hash,
    hashVersion: row.hashVersion === 1 ? 1 : 2,
  };
}

/**
 * Walks the whole chain in seq order, CHUNK rows at a time (memory holds one chunk), checking
 * every link and content hash and every signed checkpoint on the way. Stops at the first broken
 * seq. Honours `signal` between chunks.
 */
/** Thrown between chunks when `isCancelled` says so. */
export class VerificationCancelled extends Error {
  constructor() {
    super("verification cancelled");
  }
}

type VerifyOptions = { onProgress?: (p: VerifyProgress) => void; signal?: AbortSignal; chunk?: number; isCancelled?: () => Promise<boolean> };

export async function verifyAuditChain(db: Db, options: VerifyOptions = {}): Promise<VerifyResult> {
  const chunk = options.chunk ?? CHUNK;
  const total = await db.auditEvent.count();
  const jwks = await publicJwks(db);
  // A checkpoint row is trusted only if the control plane's key signed exactly what it says.
  const stored = await db.auditCheckpoint.findMany({ orderBy: { seq: "asc" } });
  const heads: Array<{ seq: bigint; hash: string }> = [];
  let badCheckpoint: ChainFailure | null = null;
  for (const c of stored) {
    try {
      const claims = await verifyCheckpoint(c.signature, jwks);
      if (claims.seq !== c.seq.toString() || claims.hash !== c.hash) throw new Error("claims differ from the row");
      heads.push({ seq: c.seq, hash: c.hash });
    } catch {
      badCheckpoint ??= { seq: c.seq.toString(), time: c.eventTime.toISOString(), problem: "edited", detail: "the signed checkpoint at this seq does not verify against the published key" };
    }
  }
  // Retention's holes are bridged only by purge records the same key signed.
  const purges: PurgedRun[] = [];
  for (const p of await db.auditPurge.findMany({ orderBy: { fromSeq: "asc" } })) {
    try {
      const claims = await verifyPurge(p.signature, jwks);
      if (claims.fromSeq !== p.fromSeq.toString() || claims.toSeq !== p.toSeq.toString() || claims.prevHash !== p.prevHash || claims.lastHash !== p.lastHash) throw new Error("claims differ from the row");
      purges.push({ fromSeq: p.fromSeq, toSeq: p.toSeq, prevHash: p.prevHash, lastHash: p.lastHash });
    } catch {
      badCheckpoint ??= { seq: p.fromSeq.toString(), time: p.createdAt.toISOString(), problem: "edited", detail: "the signed purge record starting at this seq does not verify against the published key" };
    }
  }
  const verifier = new ChainVerifier({ checkpoints: heads, purges });
  let after: bigint | null = null;
  const finish = (): VerifyResult => {
    const failure = verifier.failure ?? badCheckpoint;
    const last = verifier.last;
    return {
      ok: failure === null,
      checked: verifier.checked,
      total,
      verifiedUpTo: last ? { seq: last.seq.toString(), time: last.time.toISOString() } : null,
      checkpoints: heads.filter((h) => last !== null && h.seq <= last.seq).length,
      purgesBridged: verifier.bridged,
      failure,
      finishedAt: new Date().toISOString(),
    };
  };
  for (;;) {
    options.signal?.throwIfAborted();
    if (options.isCancelled && (await options.isCancelled())) throw new VerificationCancelled();
    const rows: AuditEvent[] = await db.auditEvent.findMany({ where: after === null ? {} : { seq: { gt: after } }, orderBy: { seq: "asc" }, take: chunk });
    if (rows.length === 0) break;
    if (verifier.push(rows.map(toChainRow))) break;
    options.onProgress?.({ checked: verifier.checked, total });
    if (rows.length < chunk) break;
    after = rows.at(-1)!.seq;
  }
  return finish();
}

/**
 * A verification someone (or the daily schedule) asked for: its outcome is itself an audit event,
 * `audit.verify` or `audit.verify.failed` (the kind alert rules match on), and a verified chain
 * gets its head signed.
 */
export async function runAuditVerification(db: Db, actor: Actor, options: VerifyOptions = {}): Promise<VerifyResult> {
  authorize(actor, "audit:verify");
  const result = await verifyAuditChain(db, options);
  await db.$transaction((tx) =>
    appendAuditEvents(tx, [
      {
        id: randomUUID(),
        time: new Date(),
        kind: result.ok ? "audit.verify" : "audit.verify.failed",
        ...actorFields(actor),
        action: "audit.verify",
        outcome: result.ok ? "success" : "failure",
        targetType: "audit_chain",
        targetId: result.failure?.seq ?? result.verifiedUpTo?.seq ?? null,
        reasons: result.failure ? [`seq ${result.failure.seq}: ${result.failure.problem}: ${result.failure.detail}`] : null,
        data: { checked: result.checked, total: result.total, verifiedUpTo: result.verifiedUpTo, checkpoints: result.checkpoints, failure: result.failure },
        requestId: actor.requestId ?? null,
        sourceIp: actor.ip ?? null,
      },
    ]),
  );
  if (result.ok) await signChainHead(db);
  return result;
}

const DAY_MS = 86_400_000;

/** The daily verification, in the control-plane process; a failure lands in the log as `audit.verify.failed`. */
export function startDailyVerification(db: Db, everyMs = DAY_MS): () => void {
  let isRunning = false;
  const timer = setInterval(() => {
    if (isRunning) return;
    isRunning = true;
    void runAuditVerification(db, systemActor("scheduled audit verification"))
      .then((result) => log(result.ok ? "info" : "error", "scheduled audit verification", { ok: result.ok, checked: result.checked, failure: result.failure }))
      .catch((error: unknown) => log("error", "scheduled audit verification could not run", describeError(error)))
      .finally(() => (isRunning = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
