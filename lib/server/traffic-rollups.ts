import "server-only";
import { randomUUID } from "node:crypto";

import type { DenialRow, RollupRow } from "@/lib/dashboards/rollup";
import { Prisma } from "@/lib/generated/prisma/client";

type Tx = Prisma.TransactionClient;

const textArray = (values: string[]) => `{${values.map((v) => `"${v.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;

/**
 * Adds a batch's rollups to the per-minute table in one statement: new minutes are inserted,
 * existing ones summed (latency buckets element by element). Runs inside the ingest transaction,
 * so rollups count exactly the events stored, and a re-sent batch (all duplicates) adds nothing.
 */
export async function addTrafficRollups(tx: Tx, rows: RollupRow[], table: RollupTable = "TrafficRollup"): Promise<void> {
  const upsert = trafficRollupUpsert(rows, table);
  if (upsert) await tx.$executeRaw(upsert);
}

export type RollupTable = "TrafficRollup" | "TrafficRollupHour" | "TrafficRollupDay";

/**
 * The upsert of `addTrafficRollups` as a statement of its own, null when there is nothing to add:
 * ingest runs it as a data-modifying CTE of its event insert, so the whole batch is one round trip.
 */
export function trafficRollupUpsert(rows: RollupRow[], table: RollupTable): Prisma.Sql | null {
  if (rows.length === 0) return null;
  const target = Prisma.raw(`"${table}"`);
  return Prisma.sql`
    INSERT INTO ${target} ("id", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors")
    SELECT u.id, (u.minute::timestamptz AT TIME ZONE 'UTC'), u.portal, u.server, u.tool, u.actor, u.decision, u.count::int, u.bytes::bigint,
      u.latency::double precision, u.buckets::int[], u.errors::int
    FROM unnest(
      ${textArray(rows.map(() => randomUUID()))}::text[], ${textArray(rows.map((r) => r.minute))}::text[], ${textArray(rows.map((r) => r.portal))}::text[],
      ${textArray(rows.map((r) => r.server))}::text[], ${textArray(rows.map((r) => r.tool))}::text[], ${textArray(rows.map((r) => r.actor))}::text[],
      ${textArray(rows.map((r) => r.decision))}::text[], ${textArray(rows.map((r) => String(r.count)))}::text[], ${textArray(rows.map((r) => String(r.bytes)))}::text[],
      ${textArray(rows.map((r) => String(r.latencySumMs)))}::text[], ${textArray(rows.map((r) => `{${r.latencyBuckets.join(",")}}`))}::text[],
      ${textArray(rows.map((r) => String(r.upstreamErrors)))}::text[]
    ) AS u(id, minute, portal, server, tool, actor, decision, count, bytes, latency, buckets, errors)
    ON CONFLICT ("minute", "portal", "server", "tool", "actor", "decision") DO UPDATE SET
      "count" = ${target}."count" + EXCLUDED."count",
      "bytes" = ${target}."bytes" + EXCLUDED."bytes",
      "latencySumMs" = ${target}."latencySumMs" + EXCLUDED."latencySumMs",
      "upstreamErrors" = ${target}."upstreamErrors" + EXCLUDED."upstreamErrors",
      "latencyBuckets" = (
        SELECT array_agg(COALESCE(x.a, 0) + COALESCE(x.b, 0) ORDER BY x.i)
        FROM unnest(${target}."latencyBuckets", EXCLUDED."latencyBuckets") WITH ORDINALITY AS x(a, b, i)
      )`;
}

/** Adds a batch's refused calls to the hourly denial counts, in the ingest transaction like the traffic rollups. */
export async function addDenialRollups(tx: Tx, rows: DenialRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO "DenialRollup" ("id", "hour", "portal", "reason", "count")
    SELECT u.id, (u.hour::timestamptz AT TIME ZONE 'UTC'), u.portal, u.reason, u.count::int
    FROM unnest(
      ${textArray(rows.map(() => randomUUID()))}::text[], ${textArray(rows.map((r) => r.hour))}::text[], ${textArray(rows.map((r) => r.portal))}::text[],
      ${textArray(rows.map((r) => r.reason))}::text[], ${textArray(rows.map((r) => String(r.count)))}::text[]
    ) AS u(id, hour, portal, reason, count)
    ON CONFLICT ("hour", "portal", "reason") DO UPDATE SET "count" = "DenialRollup"."count" + EXCLUDED."count"`;
}
