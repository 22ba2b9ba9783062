import "server-only";
import { stringify } from "csv-stringify/sync";

import { BUCKET_COUNT, percentileOf, type Decision, type Grain } from "@/lib/dashboards/rollup";
import { dashboardQuery } from "@/lib/schemas/dashboard";
import { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { serviceAccountNames } from "./actor-names";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/**
 * Per range: the chart's step, and the grain its series reads (the coarsest one as fine as the
 * step). The other charts read whole days, hours and minutes of the range at day, hour and minute
 * grain (`covering`), so a 30-day range reads about 30 days' rows, not 43,200 minutes' or 720 hours'.
 */
export const trafficRanges = { "1h": MINUTE, "6h": 5 * MINUTE, "24h": HOUR, "7d": 2 * HOUR, "30d": DAY } as const;
export type TrafficRange = keyof typeof trafficRanges;
const RANGE_MS: Record<TrafficRange, number> = { "1h": HOUR, "6h": 6 * HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY };

const seriesGrain = (stepMs: number): Grain => (stepMs >= DAY ? "day" : stepMs >= HOUR ? "hour" : "minute");

const ceilTo = (d: Date, grain: number) => new Date(Math.ceil(d.getTime() / grain) * grain);

/**
 * The rows of an overview table (lib/dashboards/rollup.ts) that cover [from, now] exactly, each
 * stretch at its coarsest grain: whole days, then the hours before the first whole day, then the
 * minutes before the first whole hour. Every event is counted at all three grains, so the sums
 * are those of the per-minute rows. One condition on one table (three ranges of its key, ORed
 * into one bitmap scan), not a UNION ALL: PostgreSQL runs a union's branches as a parallel append,
 * and starting its workers cost more than summing the few thousand rows on a busy machine.
 */
function covering(from: Date): Prisma.Sql {
  const hourStart = ceilTo(from, HOUR);
  const dayStart = ceilTo(from, DAY);
  return Prisma.sql`(("grain" = 'day' AND "start" >= ${dayStart})
    OR ("grain" = 'hour' AND "start" >= ${hourStart} AND "start" < ${dayStart})
    OR ("grain" = 'minute' AND "start" >= ${from} AND "start" < ${hourStart}))`;
}

/** Element-wise sums of the latency buckets: one pass over the rows, where unnest would multiply them by twelve. */
const bucketSums = Prisma.raw(Array.from({ length: BUCKET_COUNT }, (_, i) => `sum(r."latencyBuckets"[${i + 1}]) AS b${i}`).join(", "));

export const dashboardParams = dashboardQuery.omit({ format: true });

export type TrafficPoint = { time: string } & Record<Decision, number>;

export type Dashboards = {
  range: TrafficRange;
  /** The window every figure was counted over: from the start of a whole step to the moment of the query. */
  from: string;
  to: string;
  /** The series' step, in ms: every series has one point per step of the window, zeros included. */
  stepMs: number;
  portals: string[];
  calls: TrafficPoint[];
  totals: Record<Decision, number>;
  topTools: { server: string; tool: string; calls: number }[];
  /** `actor` as the events label it (the audit filter's value); `name`: a service account's name where that is its client id. */
  topCallers: { actor: string; name?: string; calls: number }[];
  denialsByRule: { reason: string; count: number }[];
  servers: { server: string; calls: number; errorRate: number; p50: number | null; p95: number | null }[];
  alertsBySeverity: ({ time: string } & Record<"low" | "medium" | "high" | "critical", number>)[];
  stepUp: StepUpCharts;
};

export const stepUpStatuses = ["approved", "denied", "expired", "withdrawn", "pending"] as const;
export type StepUpCharts = {
  /** Requests filed per bucket, by where they stand now. */
  requests: ({ time: string } & Record<(typeof stepUpStatuses)[number], number>)[];
  total: number;
  /** Approved among those decided (approved or denied) in range; null when none was decided. */
  approvalRate: number | null;
  /** Seconds from filing to decision, for requests decided in range. */
  decisionSeconds: { p50: number | null; p95: number | null };
  /** Grants active now, by risk class (not bound to the range: what is elevated at this moment). */
  activeGrants: { riskClass: string; count: number }[];
};

const num = (v: unknown) => Number(v ?? 0);

/** One zeroed point per step of [from, now], keyed by its start, for a series to add its rows to. */
function everyBucket<T extends object>(from: Date, now: Date, step: number, zero: () => T): Map<number, { time: string } & T> {
  const points = new Map<number, { time: string } & T>();
  for (let t = from.getTime(); t <= now.getTime(); t += step) points.set(t, { time: new Date(t).toISOString(), ...zero() });
  return points;
}

/**
 * The overview's charts, from the rollups kept at ingest (lib/dashboards/rollup.ts: traffic per
 * minute, hour and day, refused calls per hour and reason), the alert table and the step-up
 * tables: no query reads the audit events, so the overview costs the same at 10M events as at 10k.
 */
export async function getDashboards(db: Db, actor: Actor, raw: unknown, now = new Date()): Promise<Dashboards> {
  authorize(actor, "dashboards:read");
  const { range, portal } = dashboardParams.parse(raw);
  const step = trafficRanges[range];
  const from = new Date(Math.floor((now.getTime() - RANGE_MS[range]) / step) * step);
  const portalFilter = portal ?? null;
  const seconds = step / 1000;
  const rows = covering(from);

  const [series, tools, callers, denials, latency, alerts, portals, stepUp] = await Promise.all([
    db.$queryRaw<Array<{ bucket: Date; decision: Decision; calls: bigint }>>`
      SELECT to_timestamp(floor(extract(epoch from "start") / ${seconds}) * ${seconds}) AT TIME ZONE 'UTC' AS bucket, "decision", sum("count") AS calls
      FROM "TrafficByServer" WHERE "grain" = ${seriesGrain(step)} AND "start" >= ${from} AND (${portalFilter}::text IS NULL OR "portal" = ${portalFilter})
      GROUP BY 1, 2 ORDER BY 1`,
    db.$queryRaw<Array<{ server: string; tool: string; calls: bigint }>>`
      SELECT "server", "tool", sum("count") AS calls FROM "TrafficByTool" r
      WHERE ${rows} AND (${portalFilter}::text IS NULL OR "portal" = ${portalFilter})
      GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 8`,
    db.$queryRaw<Array<{ actor: string; calls: bigint }>>`
      SELECT "actor", sum("count") AS calls FROM "TrafficByActor" r
      WHERE ${rows} AND (${portalFilter}::text IS NULL OR "portal" = ${portalFilter})
      GROUP BY 1 ORDER BY 2 DESC LIMIT 8`,
    db.$queryRaw<Array<{ reason: string; count: bigint }>>`
      SELECT "reason", sum("count") AS count FROM "DenialRollup"
      WHERE "hour" >= ${new Date(Math.floor(from.getTime() / HOUR) * HOUR)} AND (${portalFilter}::text IS NULL OR "portal" = ${portalFilter})
      GROUP BY 1 ORDER BY 2 DESC LIMIT 8`,
    db.$queryRaw<Array<{ server: string; calls: bigint; errors: bigint } & Record<string, bigint | null>>>`
      SELECT r."server", sum(r."count") AS calls, sum(r."upstreamErrors") AS errors, ${bucketSums}
      FROM "TrafficByServer" r
      WHERE ${rows} AND r."server" <> '' AND r."decision" IN ('allowed', 'error') AND (${portalFilter}::text IS NULL OR r."portal" = ${portalFilter})
      GROUP BY 1`,
    db.$queryRaw<Array<{ bucket: Date; severity: string; n: bigint }>>`
      SELECT to_timestamp(floor(extract(epoch from "firstSeenAt") / ${seconds}) * ${seconds}) AT TIME ZONE 'UTC' AS bucket, "severity", count(*) AS n
      FROM "Alert" WHERE "firstSeenAt" >= ${from} GROUP BY 1, 2 ORDER BY 1`,
    db.portal.findMany({ select: { slug: true }, orderBy: { slug: "asc" } }),
    getStepUpCharts(db, from, step, portalFilter, now),
  ]);

  // The gateway labels a service account's calls with its client id; the dashboard names it (actor-names.ts).
  const callerNames = await serviceAccountNames(db, callers.map((r) => r.actor));

  // Every bucket of the range, so the chart's time axis has no holes where nothing happened.
  const empty = (): Record<Decision, number> => ({ allowed: 0, denied: 0, stepup: 0, error: 0 });
  const points = everyBucket(from, now, step, empty);
  const totals = empty();
  for (const row of series) {
    const t = new Date(row.bucket).getTime();
    const point = points.get(t) ?? { time: new Date(t).toISOString(), ...empty() };
    point[row.decision] += num(row.calls);
    totals[row.decision] += num(row.calls);
    points.set(t, point);
  }

  const byServer = new Map<string, { buckets: number[]; calls: number; errors: number }>();
  for (const row of latency) byServer.set(row.server, { buckets: Array.from({ length: BUCKET_COUNT }, (_, i) => num(row[`b${i}`])), calls: num(row.calls), errors: num(row.errors) });

  // Zeros too: a bar chart spaces its categories evenly, so a missing bucket would hide a gap in time.
  const severityPoints = everyBucket(from, now, step, () => ({ low: 0, medium: 0, high: 0, critical: 0 }));
  for (const row of alerts) {
    const t = new Date(row.bucket).getTime();
    const point = severityPoints.get(t) ?? { time: new Date(t).toISOString(), low: 0, medium: 0, high: 0, critical: 0 };
    if (row.severity in point) point[row.severity as "low"] += num(row.n);
    severityPoints.set(t, point);
  }

  return {
    range,
    from: from.toISOString(),
    to: now.toISOString(),
    stepMs: step,
    portals: portals.map((p) => p.slug),
    calls: [...points.values()].sort((a, b) => a.time.localeCompare(b.time)),
    totals,
    topTools: tools.map((r) => ({ server: r.server, tool: r.tool, calls: num(r.calls) })),
    topCallers: callers.map((r) => ({ actor: r.actor, ...(callerNames.has(r.actor) ? { name: callerNames.get(r.actor) } : {}), calls: num(r.calls) })),
    denialsByRule: denials.map((r) => ({ reason: r.reason, count: num(r.count) })),
    servers: [...byServer.entries()]
      .map(([server, s]) => ({ server, calls: s.calls, errorRate: s.calls ? s.errors / s.calls : 0, p50: percentileOf(s.buckets, 0.5), p95: percentileOf(s.buckets, 0.95) }))
      .sort((a, b) => b.calls - a.calls),
    alertsBySeverity: [...severityPoints.values()].sort((a, b) => a.time.localeCompare(b.time)),
    stepUp,
  };
}

/**
 * Step-up over the range, from the step-up tables themselves: requests are made by people, a few
 * hundred a day at most, so the table is small next to the audit events and needs no rollup.
 */
async function getStepUpCharts(db: Db, from: Date, step: number, portal: string | null, now: Date): Promise<StepUpCharts> {
  const seconds = step / 1000;
  const [series, decided, grants] = await Promise.all([
    db.$queryRaw<Array<{ bucket: Date; status: string; n: bigint }>>`
      SELECT to_timestamp(floor(extract(epoch from r."createdAt") / ${seconds}) * ${seconds}) AT TIME ZONE 'UTC' AS bucket, r."status", count(*) AS n
      FROM "StepUpRequest" r JOIN "Portal" p ON p."id" = r."portalId"
      WHERE r."createdAt" >= ${from} AND (${portal}::text IS NULL OR p."slug" = ${portal})
      GROUP BY 1, 2 ORDER BY 1`,
    db.$queryRaw<Array<{ approved: bigint; denied: bigint; p50: number | null; p95: number | null }>>`
      SELECT count(*) FILTER (WHERE r."status" = 'approved') AS approved, count(*) FILTER (WHERE r."status" = 'denied') AS denied,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch from r."decidedAt" - r."createdAt")) AS p50,
        percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch from r."decidedAt" - r."createdAt")) AS p95
      FROM "StepUpRequest" r JOIN "Portal" p ON p."id" = r."portalId"
      WHERE r."decidedAt" >= ${from} AND r."status" IN ('approved', 'denied') AND (${portal}::text IS NULL OR p."slug" = ${portal})`,
    db.elevatedGrant.groupBy({ by: ["riskClass"], where: { status: "active", endsAt: { gt: now }, ...(portal ? { portalSlug: portal } : {}) }, _count: { _all: true } }),
  ]);
  const points = everyBucket(from, now, step, () => ({ approved: 0, denied: 0, expired: 0, withdrawn: 0, pending: 0 }));
  let total = 0;
  for (const row of series) {
    const t = new Date(row.bucket).getTime();
    const point = points.get(t) ?? { time: new Date(t).toISOString(), approved: 0, denied: 0, expired: 0, withdrawn: 0, pending: 0 };
    if (row.status in point) point[row.status as "approved"] += num(row.n);
    total += num(row.n);
    points.set(t, point);
  }
  const d = decided[0];
  const approved = num(d?.approved);
  const decidedCount = approved + num(d?.denied);
  const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v)));
  return {
    requests: [...points.values()].sort((a, b) => a.time.localeCompare(b.time)),
    total,
    approvalRate: decidedCount ? approved / decidedCount : null,
    decisionSeconds: { p50: round(d?.p50), p95: round(d?.p95) },
    activeGrants: grants.map((g) => ({ riskClass: g.riskClass, count: g._count._all })).sort((a, b) => b.count - a.count),
  };
}

export type CostRow = { team: string; tool: string; calls: number; bytes: number; latencyMs: number };

/**
 * What each team's AI usage costs upstream: calls, bytes and upstream time per team and tool.
 * A person's team is their first IdP group (alphabetically; "no group" for local accounts); a
 * service account or API client is its own team. One person's calls are counted once.
 */
export async function getCostAttribution(db: Db, actor: Actor, raw: unknown, now = new Date()): Promise<CostRow[]> {
  authorize(actor, "dashboards:read");
  const { range, portal } = dashboardParams.parse(raw);
  // The charts' window (from the start of the step it falls in), so the table adds up to what the
  // charts above it show, and a day or longer reads whole hours or days, never the per-minute rows.
  const step = trafficRanges[range];
  const from = new Date(Math.floor((now.getTime() - RANGE_MS[range]) / step) * step);
  const portalFilter = portal ?? null;
  const [rows, users] = await Promise.all([
    db.$queryRaw<Array<{ actor: string; server: string; tool: string; calls: bigint; bytes: bigint; latency: number }>>`
      SELECT "actor", "server", "tool", sum("count") AS calls, sum("bytes") AS bytes, sum("latencySumMs") AS latency
      FROM "TrafficCost" r WHERE ${covering(from)} AND (${portalFilter}::text IS NULL OR "portal" = ${portalFilter})
      GROUP BY 1, 2, 3`,
    db.user.findMany({ select: { email: true, idpGroups: true } }),
  ]);
  const teamOf = new Map(users.map((u) => [u.email, [...u.idpGroups].sort()[0] ?? "no group"]));
  const out = new Map<string, CostRow>();
  for (const r of rows) {
    const team = teamOf.get(r.actor) ?? (r.actor.startsWith("sa_") ? `service account ${r.actor}` : r.actor);
    const tool = `${r.server}/${r.tool}`;
    const row = out.get(`${team}|${tool}`) ?? { team, tool, calls: 0, bytes: 0, latencyMs: 0 };
    row.calls += num(r.calls);
    row.bytes += num(r.bytes);
    row.latencyMs += Math.round(num(r.latency));
    out.set(`${team}|${tool}`, row);
  }
  return [...out.values()].sort((a, b) => a.team.localeCompare(b.team) || b.calls - a.calls);
}

// A cell a spreadsheet would run as a formula (names come from IdP groups and upstream tools).
const inert = (cell: string) => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell);

export function costAttributionCsv(rows: CostRow[]): string {
  return stringify(
    rows.map((r) => [inert(r.team), inert(r.tool), r.calls, r.bytes, r.latencyMs]),
    { header: true, columns: ["team", "tool", "calls", "bytes", "upstream_ms"] },
  );
}
