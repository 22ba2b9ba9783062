import "server-only";
import { randomUUID } from "node:crypto";

import { BUCKET_COUNT, overviewTables, type DenialRow, type OverviewRow, type OverviewTable } from "@/lib/dashboards/rollup";
import { Prisma } from "@/lib/generated/prisma/client";

type Executor = Pick<Prisma.TransactionClient, "$executeRaw">;

/**
 * A Postgres text[] literal, quoted as node-postgres quotes arrays: every element in double quotes
 * with `"` and `\` escaped (looked for first: most values hold neither), NULL bare. NUL characters
 * are escaped or refused before this.
 */
export function textArray(values: ReadonlyArray<string | null>): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string | null;
    if (i > 0) out += ",";
    out += v === null ? "NULL" : v.includes('"') || v.includes("\\") ? `"${v.replace(/["\\]/g, "\\$&")}"` : `"${v}"`;
  }
  return `${out}}`;
}

const MEASURE_SQL: Record<Measure, { cast: string; text: (row: OverviewRow) => string }> = {
  count: { cast: "int", text: (r) => String(r.count) },
  bytes: { cast: "bigint", text: (r) => String(r.bytes) },
  latencySumMs: { cast: "double precision", text: (r) => String(r.latencySumMs) },
  upstreamErrors: { cast: "int", text: (r) => String(r.upstreamErrors) },
  latencyBuckets: { cast: "int[]", text: (r) => `{${r.latencyBuckets.join(",")}}` },
};
type Measure = (typeof overviewTables)[OverviewTable]["measures"][number];

const quote = (column: string) => `"${column}"`;

/**
 * Adds a batch's rows to one overview rollup table in one statement, every grain at once: new
 * periods are inserted, existing ones summed (latency buckets element by element). Null when
 * there is nothing to add. Ingest runs these as data-modifying CTEs of one statement, in the
 * transaction that inserts the events and from the events it inserts (ids already stored left
 * out), so the rollups count exactly the events stored and a re-sent batch adds nothing.
 */
export function overviewRollupUpsert(table: OverviewTable, rows: OverviewRow[]): Prisma.Sql | null {
  if (rows.length === 0) return null;
  const { dims, measures } = overviewTables[table] as { dims: readonly string[]; measures: readonly Measure[] };
  const target = quote(table);
  const keyColumns = ["grain", "start", ...dims].map(quote).join(", ");
  const columns = [...dims.map((d, i) => ({ name: d, cast: "text", values: rows.map((r) => r.key[i]!) })), ...measures.map((m) => ({ name: m, cast: MEASURE_SQL[m].cast, values: rows.map(MEASURE_SQL[m].text) }))];
  const sum = (m: Measure) =>
    m === "latencyBuckets"
      ? `ARRAY[${Array.from({ length: BUCKET_COUNT }, (_, i) => `COALESCE(${target}."latencyBuckets"[${i + 1}], 0) + COALESCE(EXCLUDED."latencyBuckets"[${i + 1}], 0)`).join(", ")}]`
      : `${target}.${quote(m)} + EXCLUDED.${quote(m)}`;
  const arrays = [rows.map((r) => r.grain), rows.map((r) => r.start), ...columns.map((c) => c.values)];
  return Prisma.sql`
    INSERT INTO ${Prisma.raw(target)} (${Prisma.raw(`${keyColumns}, ${measures.map(quote).join(", ")}`)})
    SELECT u.c0, (u.c1::timestamptz AT TIME ZONE 'UTC'), ${Prisma.raw(columns.map((c, i) => `u.c${i + 2}::${c.cast}`).join(", "))}
    FROM unnest(${Prisma.join(arrays.map((values) => Prisma.sql`${textArray(values)}::text[]`))})
      AS u(${Prisma.raw(arrays.map((_, i) => `c${i}`).join(", "))})
    ON CONFLICT (${Prisma.raw(keyColumns)}) DO UPDATE SET ${Prisma.raw(measures.map((m) => `${quote(m)} = ${sum(m)}`).join(", "))}`;
}

/** The upserts that add a batch's overview rows (`overviewRollupsOf`) to every overview table. */
export function overviewRollupUpserts(rows: Record<OverviewTable, OverviewRow[]>): Prisma.Sql[] {
  return (Object.keys(overviewTables) as OverviewTable[]).flatMap((table) => overviewRollupUpsert(table, rows[table]) ?? []);
}

/** Adds a batch's refused calls to the hourly denial counts; null when there are none. Ingest runs it as a CTE beside the traffic rollups, in the same transaction. */
export function denialRollupUpsert(rows: DenialRow[]): Prisma.Sql | null {
  if (rows.length === 0) return null;
  return Prisma.sql`
    INSERT INTO "DenialRollup" ("id", "hour", "portal", "reason", "count")
    SELECT u.id, (u.hour::timestamptz AT TIME ZONE 'UTC'), u.portal, u.reason, u.count::int
    FROM unnest(
      ${textArray(rows.map(() => randomUUID()))}::text[], ${textArray(rows.map((r) => r.hour))}::text[], ${textArray(rows.map((r) => r.portal))}::text[],
      ${textArray(rows.map((r) => r.reason))}::text[], ${textArray(rows.map((r) => String(r.count)))}::text[]
    ) AS u(id, hour, portal, reason, count)
    ON CONFLICT ("hour", "portal", "reason") DO UPDATE SET "count" = "DenialRollup"."count" + EXCLUDED."count"`;
}

/** The overview's longest range (30 days) and a day of slack: minute and hour rows older than this are read by no chart. */
export const FINE_ROLLUP_DAYS = 31;

/**
 * Bounds the rollups (run by the daily retention purge): minute and hour rows and the hourly
 * denial counts once no chart reads them (older than `fineBefore`), and every row once the MCP
 * request metadata it sums is past retention (`metadataBefore`): the caller and cost tables name
 * people, so they must not outlive the events they were counted from. Returns the rows deleted.
 */
export async function pruneOverviewRollups(db: Executor, fineBefore: Date, metadataBefore: Date): Promise<number> {
  const utc = (d: Date) => Prisma.sql`(${d.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
  const fine = utc(fineBefore < metadataBefore ? metadataBefore : fineBefore);
  const all = utc(metadataBefore);
  let deleted = 0;
  for (const table of Object.keys(overviewTables) as OverviewTable[]) {
    deleted += await db.$executeRaw`
      DELETE FROM ${Prisma.raw(quote(table))}
      WHERE ("grain" IN ('minute', 'hour') AND "start" < ${fine}) OR "start" < ${all}`;
  }
  deleted += await db.$executeRaw`DELETE FROM "DenialRollup" WHERE "hour" < ${fine}`;
  return deleted;
}
