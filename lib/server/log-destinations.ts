import "server-only";
import type { AuditEvent, LogDestination } from "@/lib/generated/prisma/client";
import { notFound } from "@/lib/errors";
import { createLogDestinationInput, updateLogDestinationInput, type LogDestinationView } from "@/lib/schemas/log-destination";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { decryptSecret, encryptSecret } from "./crypto";
import { signBody } from "./alerts/deliveries";
import { describeError, log } from "./log";
import { readSettings } from "./settings";
import { assertAllowedUpstream } from "./url-guard";
import { auditWireFields } from "./audit-wire";

/**
 * SIEM streaming: the audit log, in seq order, to HTTPS endpoints (JSON Lines, HMAC-signed) or a
 * Splunk HTTP Event Collector. At least once and in order: each destination has a cursor (the last
 * seq it acknowledged with a 2xx), and a batch is sent again until acknowledged, never skipped.
 * Seq order is commit order (every chain writer holds the chain lock until it commits), so a
 * reader of "seq > cursor" never passes over a row that commits later with a lower seq.
 * Delivery runs in the control plane's worker, never on the ingest path; a failing destination
 * backs off (1 s, doubling, capped at 5 min) and holds up no other.
 */

const BATCH = 500;
const MAX_BATCHES_PER_TURN = 20;
const SEND_TIMEOUT_MS = 10_000;
const LEASE_MS = 60_000;
const LAG_CAP = 100_000;
export const SIEM_SIGNATURE_HEADER = "x-portico-signature";

export function siemBackoffMs(failures: number): number {
  return Math.min(300_000, 1000 * 2 ** Math.max(0, failures - 1));
}

async function toView(db: Db, row: LogDestination): Promise<LogDestinationView> {
  const [lag] = await db.$queryRaw<Array<{ n: bigint | number }>>`
    SELECT count(*) AS n FROM (SELECT 1 FROM "AuditEvent" WHERE "seq" > ${row.cursor} LIMIT ${LAG_CAP + 1}) AS t`;
  const lagEvents = Number(lag?.n ?? 0);
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as LogDestinationView["kind"],
    url: row.url,
    enabled: row.enabled,
    // Created "from now on", the cursor starts at the head: it is where delivery starts, not a delivery.
    lastDeliveredSeq: row.lastDeliveredAt ? row.cursor.toString() : null,
    nextAfterSeq: row.cursor.toString(),
    lastDeliveredAt: row.lastDeliveredAt?.toISOString() ?? null,
    lagEvents: Math.min(lagEvents, LAG_CAP),
    isLagCapped: lagEvents > LAG_CAP,
    failures: row.failures,
    lastError: row.lastError,
    lastErrorAt: row.lastErrorAt?.toISOString() ?? null,
    nextAttemptAt: row.nextAttemptAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
  };
}

/** What a change records: never the secret, only whether it changed. */
const auditable = (row: LogDestination) => ({ name: row.name, kind: row.kind, url: row.url, enabled: row.enabled });

export async function listLogDestinations(db: Db, actor: Actor): Promise<{ items: LogDestinationView[] }> {
  authorize(actor, "settings:read");
  const rows = await db.logDestination.findMany({ orderBy: { createdAt: "asc" } });
  return { items: await Promise.all(rows.map((r) => toView(db, r))) };
}

export async function createLogDestination(db: Db, actor: Actor, raw: unknown): Promise<LogDestinationView> {
  authorize(actor, "settings:write");
  const input = createLogDestinationInput.parse(raw);
  await assertAllowedUpstream(input.url, await readSettings(db));
  const row = await db.$transaction(async (tx) => {
    const head = input.startFrom === "now" ? await tx.auditEvent.findFirst({ orderBy: { seq: "desc" }, select: { seq: true } }) : null;
    const created = await tx.logDestination.create({
      data: { name: input.name, kind: input.kind, url: input.url, enabled: input.enabled, secretEnc: encryptSecret(input.secret), cursor: head?.seq ?? 0n },
    });
    await recordConfigChange(tx, actor, { action: "log_destination.create", targetType: "log_destination", targetId: created.id, after: auditable(created) });
    return created;
  });
  return toView(db, row);
}

export async function updateLogDestination(db: Db, actor: Actor, id: string, raw: unknown): Promise<LogDestinationView> {
  authorize(actor, "settings:write");
  const input = updateLogDestinationInput.parse(raw);
  if (input.url) await assertAllowedUpstream(input.url, await readSettings(db));
  const row = await db.$transaction(async (tx) => {
    const before = await tx.logDestination.findUnique({ where: { id } });
    if (!before) throw notFound("Log destination");
    const after = await tx.logDestination.update({
      where: { id },
      data: {
        name: input.name,
        url: input.url,
        enabled: input.enabled,
        ...(input.secret ? { secretEnc: encryptSecret(input.secret) } : {}),
        // A change is a reason to try again now rather than at the end of a backoff.
        nextAttemptAt: new Date(),
      },
    });
    await recordConfigChange(tx, actor, {
      action: "log_destination.update",
      targetType: "log_destination",
      targetId: id,
      before: auditable(before),
      after: { ...auditable(after), ...(input.secret ? { secret: "changed" } : {}) },
    });
    return after;
  });
  return toView(db, row);
}

export async function deleteLogDestination(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "settings:write");
  await db.$transaction(async (tx) => {
    const before = await tx.logDestination.findUnique({ where: { id } });
    if (!before) throw notFound("Log destination");
    await tx.logDestination.delete({ where: { id } });
    await recordConfigChange(tx, actor, { action: "log_destination.delete", targetType: "log_destination", targetId: id, before: auditable(before) });
  });
}

/** One event as a destination receives it: every stored field, with the chain fields to check it by. */
export function siemEvent(row: AuditEvent) {
  return { ...auditWireFields(row), prevHash: row.prevHash, hash: row.hash, hashVersion: row.hashVersion };
}

/** The request for one batch, in the destination's format. */
export function buildRequest(dest: Pick<LogDestination, "kind" | "secretEnc">, rows: AuditEvent[], now = new Date()): { headers: Record<string, string>; body: string } {
  const secret = decryptSecret(dest.secretEnc);
  const first = rows[0]!.seq.toString();
  const last = rows.at(-1)!.seq.toString();
  const common = { "user-agent": "Portico-SIEM/1", "x-portico-first-seq": first, "x-portico-last-seq": last };
  if (dest.kind === "splunk_hec") {
    // HEC takes several event objects in one body, one after the other.
    const body = rows
      .map((r) => JSON.stringify({ time: r.time.getTime() / 1000, source: "portico", sourcetype: "portico:audit", event: siemEvent(r) }))
      .join("\n");
    return { headers: { ...common, "content-type": "application/json", authorization: `Splunk ${secret}` }, body };
  }
  const body = rows.map((r) => `${JSON.stringify(siemEvent(r))}\n`).join("");
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return { headers: { ...common, "content-type": "application/x-ndjson", [SIEM_SIGNATURE_HEADER]: signBody(secret, timestamp, body) }, body };
}

/** Why a send failed, in words safe to show: a status or a kind of failure, never a body or a secret. */
class SendFailed extends Error {}

async function send(dest: LogDestination, rows: AuditEvent[], allowPrivateTargets: boolean): Promise<void> {
  // Checked again at each send: the name may resolve elsewhere since the destination was saved.
  await assertAllowedUpstream(dest.url, { allowPrivateTargets }).catch(() => {
    throw new SendFailed("the URL now points at an address the SSRF guard refuses");
  });
  const { headers, body } = buildRequest(dest, rows);
  let res: Response;
  try {
    res = await fetch(dest.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  } catch (error) {
    throw new SendFailed(error instanceof Error && error.name === "TimeoutError" ? "the receiver did not answer within 10 s" : "the receiver could not be reached");
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new SendFailed(`the receiver answered HTTP ${res.status}`);
}

/**
 * One turn for one destination: holds its lease, sends batches after the cursor until caught up
 * (or MAX_BATCHES_PER_TURN), moving the cursor after each acknowledged batch. A failure stops the
 * turn and schedules the next attempt; the batch is sent again from the same cursor.
 */
export async function deliverDestination(db: Db, id: string, now = new Date()): Promise<{ delivered: number; error: string | null }> {
  const claimed = await db.logDestination.updateMany({
    where: { id, enabled: true, nextAttemptAt: { lte: now }, OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }] },
    data: { leaseUntil: new Date(now.getTime() + LEASE_MS) },
  });
  if (claimed.count === 0) return { delivered: 0, error: null };
  let dest = await db.logDestination.findUniqueOrThrow({ where: { id } });
  const { allowPrivateTargets } = await readSettings(db);
  let delivered = 0;
  try {
    for (let turn = 0; turn < MAX_BATCHES_PER_TURN; turn += 1) {
      const rows = await db.auditEvent.findMany({ where: { seq: { gt: dest.cursor } }, orderBy: { seq: "asc" }, take: BATCH });
      if (rows.length === 0) break;
      await send(dest, rows, allowPrivateTargets);
      delivered += rows.length;
      dest = await db.logDestination.update({
        where: { id },
        data: { cursor: rows.at(-1)!.seq, lastDeliveredAt: new Date(), failures: 0, lastError: null, nextAttemptAt: now },
      });
      if (rows.length < BATCH) break;
    }
    await db.logDestination.update({ where: { id }, data: { leaseUntil: null } });
    return { delivered, error: null };
  } catch (error) {
    const message = error instanceof SendFailed ? error.message : "delivery failed unexpectedly";
    if (!(error instanceof SendFailed)) log("error", "SIEM delivery failed", { destinationId: id, ...describeError(error) });
    const failures = dest.failures + 1;
    await db.logDestination.update({
      where: { id },
      data: { failures, lastError: message, lastErrorAt: new Date(), nextAttemptAt: new Date(now.getTime() + siemBackoffMs(failures)), leaseUntil: null },
    });
    return { delivered, error: message };
  }
}

/** Every destination that is due, one after the other. */
export async function deliverDue(db: Db, now = new Date()): Promise<void> {
  const due = await db.logDestination.findMany({ where: { enabled: true, nextAttemptAt: { lte: now } }, select: { id: true } });
  for (const { id } of due) await deliverDestination(db, id, now);
}

/** The delivery worker, in the control-plane process. */
export function startSiemDelivery(db: Db, everyMs = 2000): () => void {
  let isRunning = false;
  const timer = setInterval(() => {
    if (isRunning) return;
    isRunning = true;
    void deliverDue(db)
      .catch((error: unknown) => log("warn", "SIEM delivery turn failed", describeError(error)))
      .finally(() => (isRunning = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

