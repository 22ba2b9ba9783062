import "server-only";
import { listVerificationsParams } from "@/lib/schemas/audit-verification";
import type { ChainFailure } from "@/lib/audit/chain-verify";
import { AppError, notFound } from "@/lib/errors";
import type { AuditVerification } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { VerificationCancelled, runAuditVerification } from "./audit-verify";
import { describeError, log } from "./log";

/**
 * Chain verification as a job: a row holds its progress and result, so the page can be reloaded
 * (or someone else can look) while it runs, and every past run stays listed. The run itself is a
 * background task of the control-plane process that started it; it writes progress with each
 * chunk and reads the cancel flag there too, so a cancel from any request or process stops it.
 * A live run beats its heartbeat every HEARTBEAT_MS, however slow its chunks; a process that dies
 * mid-run leaves a "running" row whose heartbeat stops: shown as interrupted once it is STALE_MS
 * old, and recorded so (status and finish time) by the control plane's sweep, which runs at
 * start-up and then every STALE_MS (startVerificationSweep).
 */

export type VerificationStatus = "running" | "passed" | "failed" | "cancelled" | "error" | "interrupted";
export type VerificationJobView = {
  id: string;
  status: VerificationStatus;
  startedBy: string;
  checked: number;
  total: number;
  verifiedUpTo: { seq: string; time: string } | null;
  checkpoints: number;
  failure: ChainFailure | null;
  createdAt: string;
  finishedAt: string | null;
};

const HEARTBEAT_MS = 5_000;
const STALE_MS = 30_000;
const PROGRESS_EVERY_MS = 500;

function toView(row: AuditVerification, now = new Date()): VerificationJobView {
  const isStale = row.status === "running" && now.getTime() - row.heartbeatAt.getTime() > STALE_MS;
  return {
    id: row.id,
    status: isStale ? "interrupted" : (row.status as VerificationStatus),
    startedBy: row.startedByLabel,
    checked: row.checked,
    total: row.total,
    verifiedUpTo: row.verifiedUpToSeq !== null && row.verifiedUpToAt ? { seq: row.verifiedUpToSeq.toString(), time: row.verifiedUpToAt.toISOString() } : null,
    checkpoints: row.checkpoints,
    failure: (row.failure as ChainFailure | null) ?? null,
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

const labelOf = (actor: Actor) => (actor.type === "system" ? actor.label : actor.email);

/**
 * Starts a verification, or returns the one already running (one at a time: two walks of the
 * same chain tell nothing more). Resolves once the job row exists; `done` settles with the run.
 */
export async function startVerificationJob(db: Db, actor: Actor, options: { chunk?: number } = {}): Promise<{ job: VerificationJobView; done: Promise<void> }> {
  authorize(actor, "audit:verify");
  const running = await db.auditVerification.findFirst({ where: { status: "running", heartbeatAt: { gt: new Date(Date.now() - STALE_MS) } }, orderBy: { createdAt: "desc" } });
  if (running) return { job: toView(running), done: Promise.resolve() };
  const row = await db.auditVerification.create({
    data: { startedById: actor.type === "system" ? null : actor.userId, startedByLabel: labelOf(actor), total: await db.auditEvent.count() },
  });
  const done = runJob(db, actor, row.id, options.chunk);
  return { job: toView(row), done };
}

async function runJob(db: Db, actor: Actor, id: string, chunk?: number): Promise<void> {
  let lastWrite = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const onProgress = ({ checked, total }: { checked: number; total: number }) => {
    const now = Date.now();
    if (now - lastWrite < PROGRESS_EVERY_MS) return;
    lastWrite = now;
    writing = writing
      .then(() => db.auditVerification.update({ where: { id }, data: { checked, total, heartbeatAt: new Date() } }))
      .catch((error: unknown) => log("warn", "could not record verification progress", describeError(error)));
  };
  // A slow chunk (a busy database) must not make a live run look dead.
  const heartbeat = setInterval(() => {
    writing = writing
      .then(() => db.auditVerification.updateMany({ where: { id, status: "running" }, data: { heartbeatAt: new Date() } }))
      .catch((error: unknown) => log("warn", "could not record verification heartbeat", describeError(error)));
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    const result = await runAuditVerification(db, actor, {
      onProgress,
      chunk,
      // Read with each chunk, so a cancel from any request or process stops the walk.
      isCancelled: async () => (await db.auditVerification.findUnique({ where: { id }, select: { isCancelRequested: true } }))?.isCancelRequested ?? true,
    });
    clearInterval(heartbeat);
    await writing;
    await db.auditVerification.update({
      where: { id },
      data: {
        status: result.ok ? "passed" : "failed",
        checked: result.checked,
        total: result.total,
        verifiedUpToSeq: result.verifiedUpTo ? BigInt(result.verifiedUpTo.seq) : null,
        verifiedUpToAt: result.verifiedUpTo ? new Date(result.verifiedUpTo.time) : null,
        checkpoints: result.checkpoints,
        failure: result.failure ?? undefined,
        finishedAt: new Date(),
        heartbeatAt: new Date(),
      },
    });
  } catch (error) {
    clearInterval(heartbeat);
    await writing;
    const isCancelled = error instanceof VerificationCancelled;
    if (!isCancelled) log("error", "audit verification job failed to run", { jobId: id, ...describeError(error) });
    await db.auditVerification
      .update({ where: { id }, data: { status: isCancelled ? "cancelled" : "error", finishedAt: new Date(), heartbeatAt: new Date() } })
      .catch((e: unknown) => log("warn", "could not record the end of a verification job", describeError(e)));
  }
}

export async function listVerificationJobs(db: Db, actor: Actor, raw: unknown): Promise<{ items: VerificationJobView[] }> {
  authorize(actor, "audit:verify");
  const { limit } = listVerificationsParams.parse(raw);
  const rows = await db.auditVerification.findMany({ orderBy: { createdAt: "desc" }, take: limit });
  const now = new Date();
  return { items: rows.map((r) => toView(r, now)) };
}

export async function getVerificationJob(db: Db, actor: Actor, id: string): Promise<VerificationJobView> {
  authorize(actor, "audit:verify");
  const row = await db.auditVerification.findUnique({ where: { id } });
  if (!row) throw notFound("Verification");
  return toView(row);
}

/** Asks a running job to stop; it stops at its next chunk and is then listed as cancelled. */
export async function cancelVerificationJob(db: Db, actor: Actor, id: string): Promise<VerificationJobView> {
  authorize(actor, "audit:verify");
  const row = await db.auditVerification.findUnique({ where: { id } });
  if (!row) throw notFound("Verification");
  if (row.status !== "running") throw new AppError("conflict", "This verification has already finished");
  return toView(await db.auditVerification.update({ where: { id }, data: { isCancelRequested: true } }));
}

/**
 * Records runs whose process died (heartbeat older than STALE_MS) as interrupted, finished when
 * their heartbeat stopped. A run of a live process, this one or another, beats every HEARTBEAT_MS
 * and is left alone. Returns how many it closed.
 */
export async function closeInterruptedVerifications(db: Db, now = new Date()): Promise<number> {
  return db.$executeRaw`
    UPDATE "AuditVerification" SET "status" = 'interrupted', "finishedAt" = "heartbeatAt"
    WHERE "status" = 'running' AND "heartbeatAt" < (${new Date(now.getTime() - STALE_MS).toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
}

/**
 * In the control-plane process: at start-up, then every STALE_MS, closes the runs a dead process
 * left "running" (a run orphaned just before a restart still has a fresh heartbeat, so the first
 * sweep after it goes stale closes it), so the list shows the truth and a new run can start.
 */
export function startVerificationSweep(db: Db, everyMs = STALE_MS): () => void {
  const sweep = () =>
    void closeInterruptedVerifications(db)
      .then((n) => (n > 0 ? log("warn", "audit verifications interrupted by a process that ended", { count: n }) : undefined))
      .catch((error: unknown) => log("warn", "could not close interrupted audit verifications", describeError(error)));
  sweep();
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
