import type { AuditEventInput } from "@/lib/audit/event";

/**
 * Traffic rollups, shaped from `mcp.request` events as they are ingested, so the overview's charts
 * read a few thousand rollup rows instead of millions of events: a batch is first grouped by
 * minute and every dimension (`rollupEvents`), then summed into one narrow table per chart at
 * minute, hour and day grain (`overviewRollups`). Pure: the upserts live in
 * lib/server/traffic-rollups.ts.
 */

/** Upper bounds (ms) of the latency buckets; the last bucket is everything slower. */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
export const BUCKET_COUNT = LATENCY_BOUNDS_MS.length + 1;

export const decisions = ["allowed", "denied", "stepup", "error"] as const;
export type Decision = (typeof decisions)[number];

/** Upstream outcomes that mean the call went through as far as the gateway could tell. */
const CLEAN_OUTCOMES = new Set(["success", "partial", "none", "not_called", "cancelled"]);

export function decisionOf(event: AuditEventInput): Decision {
  const data = (event.data ?? {}) as Record<string, unknown>;
  if (event.outcome === "deny") {
    const isStepUp = (event.reasons ?? []).some((r) => /step-up/i.test(r)) || (data.httpStatus === 403 && event.action === "tools/call");
    return isStepUp ? "stepup" : "denied";
  }
  const upstream = typeof data.upstreamOutcome === "string" ? data.upstreamOutcome : "none";
  const status = typeof data.httpStatus === "number" ? data.httpStatus : 200;
  return !CLEAN_OUTCOMES.has(upstream) || status >= 500 ? "error" : "allowed";
}

export function bucketOf(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

/** The bucket bound below which `p` (0–1) of the calls fall: an upper estimate, as Prometheus gives. */
export function percentileOf(buckets: number[], p: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = p * total;
  let seen = 0;
  for (const [i, n] of buckets.entries()) {
    seen += n;
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : LATENCY_BOUNDS_MS.at(-1)! * 2;
  }
  return LATENCY_BOUNDS_MS.at(-1)! * 2;
}

export type RollupRow = {
  minute: string;
  portal: string;
  server: string;
  tool: string;
  actor: string;
  decision: Decision;
  count: number;
  bytes: number;
  latencySumMs: number;
  latencyBuckets: number[];
  upstreamErrors: number;
};

/** One row per minute (or `grainMs`) × portal × server × tool × actor × decision present in the batch. */
export function rollupEvents(events: AuditEventInput[], grainMs = 60_000): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  // A batch spans a few minutes: format each one once, not once per event.
  const isoOf = new Map<number, string>();
  for (const event of events) {
    if (event.kind !== "mcp.request") continue;
    const data = (event.data ?? {}) as Record<string, unknown>;
    const floor = Math.floor(new Date(event.time).getTime() / grainMs) * grainMs;
    let minute = isoOf.get(floor);
    if (minute === undefined) isoOf.set(floor, (minute = new Date(floor).toISOString()));
    const decision = decisionOf(event);
    const row: Omit<RollupRow, "count" | "bytes" | "latencySumMs" | "latencyBuckets" | "upstreamErrors"> = {
      minute,
      portal: event.portal ?? "",
      server: event.server ?? "",
      tool: event.tool ?? "",
      actor: event.actorLabel ?? event.actorId ?? "anonymous",
      decision,
    };
    const key = `${row.minute}|${row.portal}|${row.server}|${row.tool}|${row.actor}|${row.decision}`;
    let acc = rows.get(key);
    if (!acc) {
      acc = { ...row, count: 0, bytes: 0, latencySumMs: 0, latencyBuckets: new Array<number>(BUCKET_COUNT).fill(0), upstreamErrors: 0 };
      rows.set(key, acc);
    }
    const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);
    const latency = num(data.upstreamLatencyMs) || num(data.latencyMs);
    acc.count += 1;
    acc.bytes += Math.round(num(data.requestBytes) + num(data.responseBytes));
    acc.latencySumMs += latency;
    acc.latencyBuckets[bucketOf(latency)]! += 1;
    if (decision === "error") acc.upstreamErrors += 1;
  }
  return [...rows.values()];
}

/** The periods every overview rollup is kept at: a range reads whole days, then hours, then minutes. */
export const GRAINS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type Grain = keyof typeof GRAINS;

type Dim = "portal" | "server" | "tool" | "actor" | "decision";
type Measure = "count" | "bytes" | "latencySumMs" | "upstreamErrors" | "latencyBuckets";

/**
 * The overview's rollup tables (prisma/schema.prisma), one per chart purpose, each keyed only by
 * what its chart groups or filters by: the calls-over-time and latency charts never sum rows
 * split by caller and tool, and cost attribution only keeps the calls that reached the upstream.
 */
export const overviewTables = {
  TrafficByServer: { dims: ["portal", "server", "decision"], measures: ["count", "upstreamErrors", "latencyBuckets"], keeps: () => true },
  TrafficByTool: { dims: ["portal", "server", "tool"], measures: ["count"], keeps: (r) => r.tool !== "" },
  TrafficByActor: { dims: ["portal", "actor"], measures: ["count"], keeps: () => true },
  TrafficCost: {
    dims: ["portal", "actor", "server", "tool"],
    measures: ["count", "bytes", "latencySumMs"],
    keeps: (r) => r.tool !== "" && (r.decision === "allowed" || r.decision === "error"),
  },
} as const satisfies Record<string, { dims: readonly Dim[]; measures: readonly Measure[]; keeps: (row: RollupRow) => boolean }>;
export type OverviewTable = keyof typeof overviewTables;

/** One row of an overview table: `key` holds the values of the table's `dims`, in order. */
export type OverviewRow = Pick<RollupRow, Measure> & { grain: Grain; start: string; key: string[] };

/**
 * What ingest adds to each overview table for a batch, from the batch's per-minute rollups
 * (`rollupEvents`): per table, the rows it keeps summed by its own key at every grain.
 */
export function overviewRollups(minutes: RollupRow[]): Record<OverviewTable, OverviewRow[]> {
  const out = {} as Record<OverviewTable, OverviewRow[]>;
  const startOf = new Map<string, string>();
  const floorIso = (iso: string, grain: Grain) => {
    const memo = `${grain}${iso}`;
    let start = startOf.get(memo);
    if (start === undefined) startOf.set(memo, (start = new Date(Math.floor(Date.parse(iso) / GRAINS[grain]) * GRAINS[grain]).toISOString()));
    return start;
  };
  for (const [table, spec] of Object.entries(overviewTables) as [OverviewTable, (typeof overviewTables)[OverviewTable]][]) {
    const rows = new Map<string, OverviewRow>();
    for (const row of minutes) {
      if (!spec.keeps(row)) continue;
      const key = spec.dims.map((d) => row[d]);
      for (const grain of Object.keys(GRAINS) as Grain[]) {
        const start = floorIso(row.minute, grain);
        const id = `${grain}\u0000${start}\u0000${key.join("\u0000")}`;
        const acc = rows.get(id);
        if (!acc) {
          rows.set(id, { grain, start, key, count: row.count, bytes: row.bytes, latencySumMs: row.latencySumMs, upstreamErrors: row.upstreamErrors, latencyBuckets: [...row.latencyBuckets] });
          continue;
        }
        acc.count += row.count;
        acc.bytes += row.bytes;
        acc.latencySumMs += row.latencySumMs;
        acc.upstreamErrors += row.upstreamErrors;
        row.latencyBuckets.forEach((n, i) => (acc.latencyBuckets[i]! += n));
      }
    }
    out[table] = [...rows.values()];
  }
  return out;
}

/**
 * `overviewRollups(rollupEvents(events))` in one pass over the events, as ingest needs it for every
 * batch: no per-minute rows in between, each period's start formatted once per minute seen, and
 * latency buckets only in the table that stores them (the others' rows share one empty array).
 * The same rows in the same order; sums of fractional latencies may differ in the last bit
 * (events summed directly rather than minute by minute).
 */
export function overviewRollupsOf(events: AuditEventInput[]): Record<OverviewTable, OverviewRow[]> {
  const tables = (Object.keys(overviewTables) as OverviewTable[]).map((name) => {
    const spec = overviewTables[name] as { dims: readonly Dim[]; measures: readonly Measure[]; keeps: (row: RollupRow) => boolean };
    return { name, dims: spec.dims, keeps: spec.keeps, buckets: spec.measures.includes("latencyBuckets"), rows: new Map<string, OverviewRow>() };
  });
  const grains = Object.keys(GRAINS) as Grain[];
  const startsOf = new Map<number, string[]>();
  const noBuckets: number[] = [];
  for (const event of events) {
    if (event.kind !== "mcp.request") continue;
    const data = (event.data ?? {}) as Record<string, unknown>;
    const minute = Math.floor(new Date(event.time).getTime() / GRAINS.minute) * GRAINS.minute;
    let starts = startsOf.get(minute);
    if (starts === undefined) startsOf.set(minute, (starts = grains.map((g) => new Date(Math.floor(minute / GRAINS[g]) * GRAINS[g]).toISOString())));
    const decision = decisionOf(event);
    // What keeps() reads of a per-minute row, and the dimensions a key is made of.
    const row = { portal: event.portal ?? "", server: event.server ?? "", tool: event.tool ?? "", actor: event.actorLabel ?? event.actorId ?? "anonymous", decision } as RollupRow;
    const latency = nonNegative(data.upstreamLatencyMs) || nonNegative(data.latencyMs);
    const bytes = Math.round(nonNegative(data.requestBytes) + nonNegative(data.responseBytes));
    const bucket = bucketOf(latency);
    const upstreamErrors = decision === "error" ? 1 : 0;
    for (const table of tables) {
      if (!table.keeps(row)) continue;
      const key = table.dims.map((d) => row[d]);
      const keyId = key.join("\u0000");
      for (let g = 0; g < grains.length; g++) {
        const start = starts[g]!;
        const id = `${g}\u0000${start}\u0000${keyId}`;
        let acc = table.rows.get(id);
        if (!acc) {
          acc = { grain: grains[g]!, start, key, count: 0, bytes: 0, latencySumMs: 0, upstreamErrors: 0, latencyBuckets: table.buckets ? new Array<number>(BUCKET_COUNT).fill(0) : noBuckets };
          table.rows.set(id, acc);
        }
        acc.count += 1;
        acc.bytes += bytes;
        acc.latencySumMs += latency;
        acc.upstreamErrors += upstreamErrors;
        if (table.buckets) acc.latencyBuckets[bucket]! += 1;
      }
    }
  }
  return Object.fromEntries(tables.map((t) => [t.name, [...t.rows.values()]])) as Record<OverviewTable, OverviewRow[]>;
}

const nonNegative = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

export type DenialRow = { hour: string; portal: string; reason: string; count: number };

/** The first reason of a refused call as the denial chart shows it: at most 120 characters. */
export const denialReason = (reasons: readonly string[] | null | undefined) => Array.from(reasons?.[0] ?? "(no reason recorded)").slice(0, 120).join("");

/** Refused MCP calls per hour, portal and first reason, for the "denials by rule" chart. */
export function rollupDenials(events: AuditEventInput[]): DenialRow[] {
  const rows = new Map<string, DenialRow>();
  for (const event of events) {
    if (event.kind !== "mcp.request" || event.outcome !== "deny") continue;
    const hour = new Date(Math.floor(new Date(event.time).getTime() / 3_600_000) * 3_600_000).toISOString();
    const portal = event.portal ?? "";
    const reason = denialReason(event.reasons);
    const key = `${hour}|${portal}|${reason}`;
    const row = rows.get(key);
    if (row) row.count++;
    else rows.set(key, { hour, portal, reason, count: 1 });
  }
  return [...rows.values()];
}
