import type { AuditEventInput } from "@/lib/audit/event";

/**
 * Per-minute traffic rollups, shaped from `mcp.request` events as they are ingested, so the
 * overview's charts read a few thousand rollup rows instead of millions of events. Pure: the
 * upsert lives in lib/server/traffic-rollups.ts.
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

/**
 * The same rollups on a coarser grain (minutes into hours): rows are sums, so adding up the
 * finer rows gives what `rollupEvents(events, grainMs)` would, from far fewer rows than events.
 */
export function regrainRollups(rows: RollupRow[], grainMs: number): RollupRow[] {
  const out = new Map<string, RollupRow>();
  for (const row of rows) {
    const minute = new Date(Math.floor(Date.parse(row.minute) / grainMs) * grainMs).toISOString();
    const key = `${minute}|${row.portal}|${row.server}|${row.tool}|${row.actor}|${row.decision}`;
    const acc = out.get(key);
    if (!acc) {
      out.set(key, { ...row, minute, latencyBuckets: [...row.latencyBuckets] });
      continue;
    }
    acc.count += row.count;
    acc.bytes += row.bytes;
    acc.latencySumMs += row.latencySumMs;
    acc.upstreamErrors += row.upstreamErrors;
    row.latencyBuckets.forEach((n, i) => (acc.latencyBuckets[i]! += n));
  }
  return [...out.values()];
}

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
