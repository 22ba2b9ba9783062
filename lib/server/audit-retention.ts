import "server-only";
import { randomUUID } from "node:crypto";
import { signPurgeClaims } from "@/lib/audit/checkpoint";
import { GENESIS_HASH, PAYLOAD_KEYS, clearPayload, hashAuditEvent, type HashVersion } from "@/lib/audit/event";
import { Prisma, type AuditEvent } from "@/lib/generated/prisma/client";
import type { Settings } from "@/lib/schemas/settings";
import type { Db } from "./db/client";
import { authorize, systemActor, type Actor } from "./auth/actor";
import { CHAIN_LOCK, actorFields, appendAuditEvents } from "./audit";
import { toChainRow } from "./audit-verify";
import { describeError, log } from "./log";
import { readSettings } from "./settings";
import { getActiveSigningKey } from "./signing-keys";
import { FINE_ROLLUP_DAYS, pruneOverviewRollups } from "./traffic-rollups";

/**
 * Retention per data class. Four classes, each with its own number of days (Settings):
 * - payloads: the arguments and results inside MCP events, cleared from rows that stay;
 * - mcp: MCP request metadata (every `mcp.*` event), deleted;
 * - auth: sign-in and token events (`auth.*`), deleted;
 * - governance: everything else (config changes, step-up decisions, alerts, the log's own
 *   verification and purge events), deleted.
 *
 * How the chain stays verifiable:
 * - Clearing a payload: rows written since hash version 2 hash the payload's sha256, not the
 *   payload (lib/audit/event.ts `hashedData`); clearing keeps that digest in `data.payloadDigest`,
 *   so the row hashes exactly as it did. Rows of hash version 1 (written before) hashed the payload
 *   itself: clearing would break them, so they keep their payload until their row is deleted.
 * - Deleting rows: each run of deleted rows with no kept row between them gets a purge record,
 *   signed with the control plane's Ed25519 key, naming its seqs, the hash before it and its last
 *   hash. Verification crosses exactly those holes (lib/audit/chain-verify.ts); adjacent runs merge.
 * - Before anything is deleted or cleared, its rows are checked (content against hash, links within
 *   the run, the link to what precedes it): the purge never launders a row someone edited. A
 *   broken row stops the purge and the purge event says where.
 * - The chain's newest row is never deleted: the next event must link to a row that exists.
 * - Nor a row an enabled SIEM destination has not delivered yet (past its cursor): deletion stops
 *   at the lowest such cursor and goes on once the destination has the rows. Payloads are still
 *   cleared (the destination then receives the row without them, as an auditor would see it).
 */

export const RETENTION_CLASSES = ["payloads", "mcp", "auth", "governance"] as const;
export type RetentionClass = (typeof RETENTION_CLASSES)[number];
type RowClass = Exclude<RetentionClass, "payloads">;

export const RETENTION_SETTING: Record<RetentionClass, keyof Settings> = {
  payloads: "retentionPayloadDays",
  mcp: "retentionMcpDays",
  auth: "retentionAuthDays",
  governance: "retentionGovernanceDays",
};

const DAY_MS = 86_400_000;
const BATCH = 500;

const IS_MCP = Prisma.sql`"kind" LIKE 'mcp.%'`;
const IS_AUTH = Prisma.sql`"kind" LIKE 'auth.%'`;
const CLASS_SQL: Record<RowClass, Prisma.Sql> = {
  mcp: IS_MCP,
  auth: IS_AUTH,
  governance: Prisma.sql`NOT ("kind" LIKE 'mcp.%' OR "kind" LIKE 'auth.%')`,
};
const HAS_PAYLOAD = Prisma.sql`"data" ?| ${Prisma.raw(`ARRAY[${PAYLOAD_KEYS.map((k) => `'${k}'`).join(",")}]`)}`;

export function rowClass(kind: string): RowClass {
  return kind.startsWith("mcp.") ? "mcp" : kind.startsWith("auth.") ? "auth" : "governance";
}

const utc = (d: Date) => Prisma.sql`(${d.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
const bigintArray = (values: bigint[]) => `{${values.join(",")}}`;

export type RetentionCutoffs = Record<RetentionClass, Date>;

export function retentionCutoffs(settings: Settings, now: Date): RetentionCutoffs {
  return Object.fromEntries(RETENTION_CLASSES.map((c) => [c, new Date(now.getTime() - (settings[RETENTION_SETTING[c]] as number) * DAY_MS)])) as RetentionCutoffs;
}

export type PurgeResult = {
  ok: boolean;
  deleted: Record<RowClass, number>;
  payloadsCleared: number;
  /** Payload bytes removed (their JSON text), approximately what the rows no longer hold. */
  payloadBytesCleared: number;
  /** Rows of hash version 1 past payload retention: they keep their payload until deleted. */
  legacyPayloadRows: number;
  purgeRecords: number;
  /** Overview rollup rows deleted: minute and hour rows older than any chart reads, and every row past MCP metadata retention. */
  rollupRows: number;
  batches: number;
  failure: { seq: string; detail: string } | null;
  cutoffs: Record<RetentionClass, string>;
  /** The enabled SIEM destination furthest behind: no row after its cursor was deleted. */
  heldBySiem: SiemHold | null;
};

export type SiemHold = { destination: string; deliveredUpTo: string };

/** The enabled SIEM destination with the lowest cursor: rows after it are not delivered everywhere yet. */
async function siemHold(db: Db): Promise<SiemHold | null> {
  const dest = await db.logDestination.findFirst({ where: { enabled: true }, orderBy: { cursor: "asc" }, select: { name: true, cursor: true } });
  return dest ? { destination: dest.name, deliveredUpTo: dest.cursor.toString() } : null;
}

class PurgeRefused extends Error {
  constructor(
    readonly seq: bigint,
    detail: string,
  ) {
    super(detail);
  }
}

const versionOf = (row: AuditEvent) => (row.hashVersion === 1 ? 1 : 2) as HashVersion;

function assertIntact(row: AuditEvent): void {
  if (hashAuditEvent(row.prevHash, toChainRow(row), versionOf(row)) !== row.hash) {
    throw new PurgeRefused(row.seq, "its content does not match its hash (edited?); nothing past it was purged");
  }
}

/** One batch of payload clearing; returns how many rows it cleared. */
async function clearPayloadBatch(db: Db, cutoff: Date, rowCutoff: Date, batch: number, result: PurgeResult): Promise<number> {
  // Rows whose whole row is due are left to the deletion below: clearing them first is wasted work.
  return db.$transaction(async (tx) => {
    const seqs = await tx.$queryRaw<Array<{ seq: bigint }>>`
      SELECT "seq" FROM "AuditEvent" WHERE ${IS_MCP} AND "hashVersion" = 2 AND "time" < ${utc(cutoff)} AND "time" >= ${utc(rowCutoff)} AND ${HAS_PAYLOAD}
      ORDER BY "seq" LIMIT ${batch} FOR UPDATE`;
    if (seqs.length === 0) return 0;
    const rows = await tx.auditEvent.findMany({ where: { seq: { in: seqs.map((r) => BigInt(r.seq)) } }, orderBy: { seq: "asc" } });
    const updates: Array<{ seq: bigint; data: string }> = [];
    for (const row of rows) {
      assertIntact(row);
      const data = row.data as Record<string, unknown>;
      const cleared = clearPayload(data);
      // The invariant the whole design rests on: the cleared row hashes as the full one did.
      if (hashAuditEvent(row.prevHash, { ...toChainRow(row), data: cleared }, 2) !== row.hash) throw new PurgeRefused(row.seq, "clearing its payload would change its hash");
      result.payloadBytesCleared += JSON.stringify(Object.fromEntries(PAYLOAD_KEYS.map((k) => [k, data[k]]))).length;
      updates.push({ seq: row.seq, data: JSON.stringify(cleared) });
    }
    await tx.$executeRaw`
      UPDATE "AuditEvent" AS a SET "data" = u.d::jsonb
      FROM unnest(${bigintArray(updates.map((u) => u.seq))}::bigint[], ${textArray(updates.map((u) => u.data))}::text[]) AS u(s, d)
      WHERE a."seq" = u.s`;
    return updates.length;
  });
}

/** One batch of row deletion, under the chain lock; returns how many rows it deleted. */
async function deleteBatch(db: Db, cutoffs: RetentionCutoffs, holdFrom: bigint | null, batch: number, key: { privateKey: Parameters<typeof signPurgeClaims>[1]; kid: string }, now: Date, result: PurgeResult): Promise<number> {
  return db.$transaction(
    async (tx) => {
      // The lock every chain writer takes: the newest row cannot change under us.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
      const due = Prisma.join(
        (Object.keys(CLASS_SQL) as RowClass[]).map((c) => Prisma.sql`(${CLASS_SQL[c]} AND "time" < ${utc(cutoffs[c])})`),
        " OR ",
      );
      const seqs = await tx.$queryRaw<Array<{ seq: bigint }>>`
        SELECT "seq" FROM "AuditEvent" WHERE (${due}) AND "seq" < (SELECT max("seq") FROM "AuditEvent") ${holdFrom === null ? Prisma.empty : Prisma.sql`AND "seq" <= ${holdFrom}`}
        ORDER BY "seq" LIMIT ${batch}`;
      if (seqs.length === 0) return 0;
      const rows = await tx.auditEvent.findMany({ where: { seq: { in: seqs.map((r) => BigInt(r.seq)) } }, orderBy: { seq: "asc" } });

      const lo = rows.slice(0, -1).map((r) => r.seq);
      const hi = rows.slice(1).map((r) => r.seq);
      const breaks = new Set<string>();
      if (lo.length) {
        const found = await tx.$queryRaw<Array<{ lo: bigint }>>`
          SELECT u.lo FROM unnest(${bigintArray(lo)}::bigint[], ${bigintArray(hi)}::bigint[]) AS u(lo, hi)
          WHERE EXISTS (SELECT 1 FROM "AuditEvent" e WHERE e."seq" > u.lo AND e."seq" < u.hi)`;
        for (const f of found) breaks.add(BigInt(f.lo).toString());
      }
      // Where a kept row sits between two consecutive candidates, or an earlier purge's hole does
      // (the link breaks), a run ends: each run is one stretch of the chain.
      const runs: AuditEvent[][] = [];
      for (const row of rows) {
        const run = runs.at(-1);
        const prev = run?.at(-1);
        if (run && prev && !breaks.has(prev.seq.toString()) && row.prevHash === prev.hash) run.push(row);
        else runs.push([row]);
      }

      for (const run of runs) {
        const first = run[0]!;
        const last = run.at(-1)!;
        for (const row of run) assertIntact(row);
        // The run must hang on the chain: on the kept row before it, on a purge record ending at
        // its prevHash, or on the genesis hash. Anything else is a hole nobody signed.
        const previousPurge = await tx.auditPurge.findFirst({ where: { lastHash: first.prevHash } });
        if (!previousPurge) {
          const pred = await tx.auditEvent.findFirst({ where: { seq: { lt: first.seq } }, orderBy: { seq: "desc" }, select: { hash: true } });
          const expected = pred?.hash ?? GENESIS_HASH;
          if (first.prevHash !== expected) throw new PurgeRefused(first.seq, "the row before it is missing and no signed purge record covers the hole");
        }
        const nextPurge = await tx.auditPurge.findUnique({ where: { prevHash: last.hash } });
        const claims = {
          fromSeq: (previousPurge?.fromSeq ?? first.seq).toString(),
          toSeq: (nextPurge?.toSeq ?? last.seq).toString(),
          prevHash: previousPurge?.prevHash ?? first.prevHash,
          lastHash: nextPurge?.lastHash ?? last.hash,
          count: run.length + (previousPurge?.count ?? 0) + (nextPurge?.count ?? 0),
          purgedAt: now.toISOString(),
        };
        const ids = [previousPurge?.id, nextPurge?.id].filter((id): id is string => id !== undefined);
        if (ids.length) await tx.auditPurge.deleteMany({ where: { id: { in: ids } } });
        const signature = await signPurgeClaims(claims, key.privateKey, key.kid);
        await tx.auditPurge.create({
          data: { fromSeq: BigInt(claims.fromSeq), toSeq: BigInt(claims.toSeq), prevHash: claims.prevHash, lastHash: claims.lastHash, count: claims.count, signature, kid: key.kid },
        });
        result.purgeRecords += 1 - ids.length;
        for (const row of run) result.deleted[rowClass(row.kind)] += 1;
      }
      await tx.$executeRaw`DELETE FROM "AuditEvent" WHERE "seq" = ANY(${bigintArray(rows.map((r) => r.seq))}::bigint[])`;
      return rows.length;
    },
    { maxWait: 15_000, timeout: 60_000 },
  );
}

/**
 * Drops the AuditSeqByHour rows (the seq range of each hour, kept by triggers for the explorer's
 * and the export's time ranges) of the hours wholly before the oldest event left: deleted rows
 * leave their hours behind, which stay correct (a superset) but would pile up for ever. Those
 * hours have no event, so no read can miss one. Under the chain lock every writer takes: an
 * event arriving late into such an hour either lands before this (its hour then holds the oldest
 * event and stays) or after (its trigger writes the hour again). Cheap: min("time") through the
 * time index, then a range of the hours' primary key, one row per hour of history.
 */
async function pruneSeqByHour(db: Db): Promise<void> {
  await db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
    await tx.$executeRaw`DELETE FROM "AuditSeqByHour" WHERE "hour" < (SELECT date_trunc('hour', min("time")) FROM "AuditEvent")`;
  });
}

/**
 * Drops what is past retention, `batch` rows per transaction (ingest waits for the chain lock one
 * batch at a time, never for the whole purge), and records what it did as an `audit.purge` event
 * (`audit.purge.failed` when a broken row stopped it). `now` is a parameter so tests move the clock.
 */
export async function runRetentionPurge(db: Db, actor: Actor, options: { now?: Date; batch?: number; maxBatches?: number } = {}): Promise<PurgeResult> {
  authorize(actor, "settings:write");
  const now = options.now ?? new Date();
  const batch = options.batch ?? BATCH;
  const maxBatches = options.maxBatches ?? 100_000;
  const cutoffs = retentionCutoffs(await readSettings(db), now);
  const result: PurgeResult = {
    ok: true,
    deleted: { mcp: 0, auth: 0, governance: 0 },
    payloadsCleared: 0,
    payloadBytesCleared: 0,
    legacyPayloadRows: 0,
    purgeRecords: 0,
    rollupRows: 0,
    batches: 0,
    failure: null,
    cutoffs: Object.fromEntries(RETENTION_CLASSES.map((c) => [c, cutoffs[c].toISOString()])) as Record<RetentionClass, string>,
    // Read once: a cursor only moves forward, so this hold is never too loose.
    heldBySiem: await siemHold(db),
  };
  const holdFrom = result.heldBySiem ? BigInt(result.heldBySiem.deliveredUpTo) : null;
  try {
    const key = await getActiveSigningKey(db);
    for (;;) {
      if (result.batches >= maxBatches) break;
      const n = await clearPayloadBatch(db, cutoffs.payloads, cutoffs.mcp, batch, result);
      if (n === 0) break;
      result.payloadsCleared += n;
      result.batches += 1;
    }
    for (;;) {
      if (result.batches >= maxBatches) break;
      const n = await deleteBatch(db, cutoffs, holdFrom, batch, key, now, result);
      if (n === 0) break;
      result.batches += 1;
    }
    await pruneSeqByHour(db);
    result.rollupRows = await pruneOverviewRollups(db, new Date(now.getTime() - FINE_ROLLUP_DAYS * DAY_MS), cutoffs.mcp);
    const [legacy] = await db.$queryRaw<Array<{ n: bigint | number }>>`
      SELECT count(*) AS n FROM "AuditEvent" WHERE ${IS_MCP} AND "hashVersion" = 1 AND "time" < ${utc(cutoffs.payloads)} AND ${HAS_PAYLOAD}`;
    result.legacyPayloadRows = Number(legacy?.n ?? 0);
  } catch (error) {
    if (!(error instanceof PurgeRefused)) throw error;
    result.ok = false;
    result.failure = { seq: error.seq.toString(), detail: error.message };
  }
  const deleted = result.deleted.mcp + result.deleted.auth + result.deleted.governance;
  await db.$transaction((tx) =>
    appendAuditEvents(tx, [
      {
        id: randomUUID(),
        time: new Date(),
        kind: result.ok ? "audit.purge" : "audit.purge.failed",
        ...actorFields(actor),
        action: "audit.purge",
        outcome: result.ok ? "success" : "failure",
        targetType: "audit_log",
        targetId: null,
        reasons: result.failure
          ? [`seq ${result.failure.seq}: ${result.failure.detail}`]
          : [`deleted ${deleted} events (${result.deleted.mcp} MCP, ${result.deleted.auth} sign-in/token, ${result.deleted.governance} config/step-up/other); cleared ${result.payloadsCleared} payloads`],
        data: { ...result },
        requestId: actor.requestId ?? null,
        sourceIp: actor.ip ?? null,
      },
    ]),
  );
  return result;
}

export type RetentionClassStatus = {
  class: RetentionClass;
  days: number;
  cutoff: string;
  rows: number;
  /** Bytes the class takes in the table (pg_column_size of its rows, or of its payloads). */
  bytes: number;
  /** Rows (or payloads) older than the cutoff: what the next purge removes. */
  due: number;
  oldest: string | null;
};

export type RetentionStatus = {
  classes: RetentionClassStatus[];
  legacyPayloadRows: number;
  purgeRecords: number;
  lastPurge: { time: string; outcome: string; summary: string | null; actorLabel: string | null } | null;
  /** Rows past retention that wait for a SIEM destination to deliver them before they are deleted. */
  heldBySiem: (SiemHold & { rows: number }) | null;
};

/**
 * Each class's days, size and what is due. One pass over the table (the payload figures come
 * from jsonb field sizes, before TOAST compression: an upper bound of what clearing frees).
 */
export async function getRetentionStatus(db: Db, actor: Actor, now = new Date()): Promise<RetentionStatus> {
  authorize(actor, "settings:read");
  const settings = await readSettings(db);
  const cutoffs = retentionCutoffs(settings, now);
  const payloadSize = Prisma.raw(PAYLOAD_KEYS.map((k) => `coalesce(pg_column_size("data"->'${k}'), 0)`).join(" + "));
  const hold = await siemHold(db);
  const isDue = Prisma.sql`((${IS_MCP} AND "time" < ${utc(cutoffs.mcp)}) OR (${IS_AUTH} AND "time" < ${utc(cutoffs.auth)})
        OR (${CLASS_SQL.governance} AND "time" < ${utc(cutoffs.governance)}))`;
  const rows = await db.$queryRaw<Array<{ cls: RowClass; rows: bigint | number; bytes: bigint | number | null; due: bigint | number; held: bigint | number; oldest: Date | null; payload_oldest: Date | null; payload_rows: bigint | number; payload_bytes: bigint | number | null; payload_due: bigint | number }>>`
    SELECT CASE WHEN ${IS_MCP} THEN 'mcp' WHEN ${IS_AUTH} THEN 'auth' ELSE 'governance' END AS cls,
      count(*) AS rows,
      sum(pg_column_size(e.*)) AS bytes,
      count(*) FILTER (WHERE ${isDue}) AS due,
      count(*) FILTER (WHERE ${isDue} AND "seq" > ${hold ? BigInt(hold.deliveredUpTo) : null}) AS held,
      min("time") AS oldest,
      min("time") FILTER (WHERE ${HAS_PAYLOAD}) AS payload_oldest,
      count(*) FILTER (WHERE ${HAS_PAYLOAD}) AS payload_rows,
      sum(${payloadSize}) AS payload_bytes,
      count(*) FILTER (WHERE ${HAS_PAYLOAD} AND "hashVersion" = 2 AND "time" < ${utc(cutoffs.payloads)} AND "time" >= ${utc(cutoffs.mcp)}) AS payload_due
    FROM "AuditEvent" e GROUP BY 1`;
  const by = new Map(rows.map((r) => [r.cls, r]));
  const num = (v: bigint | number | null | undefined) => Number(v ?? 0);
  const classes: RetentionClassStatus[] = RETENTION_CLASSES.map((c) => {
    const base = { class: c, days: settings[RETENTION_SETTING[c]] as number, cutoff: cutoffs[c].toISOString() };
    if (c === "payloads") {
      const all = [...by.values()];
      return {
        ...base,
        rows: all.reduce((s, r) => s + num(r.payload_rows), 0),
        bytes: all.reduce((s, r) => s + num(r.payload_bytes), 0),
        due: all.reduce((s, r) => s + num(r.payload_due), 0),
        // The oldest event that still carries a payload (it was left null: "15 events, oldest —").
        oldest: all.reduce<string | null>((min, r) => {
          const at = r.payload_oldest ? new Date(r.payload_oldest).toISOString() : null;
          return at && (!min || at < min) ? at : min;
        }, null),
      };
    }
    const r = by.get(c);
    return { ...base, rows: num(r?.rows), bytes: Math.max(0, num(r?.bytes) - num(r?.payload_bytes)), due: num(r?.due), oldest: r?.oldest ? new Date(r.oldest).toISOString() : null };
  });
  const [legacy] = await db.$queryRaw<Array<{ n: bigint | number }>>`
    SELECT count(*) AS n FROM "AuditEvent" WHERE ${IS_MCP} AND "hashVersion" = 1 AND "time" < ${utc(cutoffs.payloads)} AND ${HAS_PAYLOAD}`;
  const last = await db.auditEvent.findFirst({ where: { action: "audit.purge" }, orderBy: { seq: "desc" }, select: { time: true, outcome: true, reasons: true, actorLabel: true } });
  const held = rows.reduce((sum, r) => sum + num(r.held), 0);
  return {
    classes,
    heldBySiem: hold && held > 0 ? { ...hold, rows: held } : null,
    legacyPayloadRows: num(legacy?.n),
    purgeRecords: await db.auditPurge.count(),
    lastPurge: last ? { time: last.time.toISOString(), outcome: last.outcome, summary: (last.reasons as string[] | null)?.[0] ?? null, actorLabel: last.actorLabel } : null,
  };
}

/** The daily purge, in the control-plane process. */
export function startDailyPurge(db: Db, everyMs = DAY_MS): () => void {
  let isRunning = false;
  const tick = () => {
    if (isRunning) return;
    isRunning = true;
    void runRetentionPurge(db, systemActor("scheduled retention purge"))
      .then((r) => log(r.ok ? "info" : "error", "scheduled retention purge", { ok: r.ok, deleted: r.deleted, payloadsCleared: r.payloadsCleared, failure: r.failure }))
      .catch((error: unknown) => log("error", "scheduled retention purge could not run", describeError(error)))
      .finally(() => (isRunning = false));
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A Postgres text[] literal (as in audit-ingest): every element quoted, `"` and `\` escaped. */
function textArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
}
