import "server-only";
import { Prisma } from "@/lib/generated/prisma/client";
import { AUDIT_RANGE_MS, type AuditFilterParams } from "@/lib/schemas/audit";
import { can, type Actor } from "./auth/actor";
import type { Db } from "./db/client";

/**
 * What one reader may see of the audit log, decided once from their role and applied by every
 * read (list, facets, detail, export): it is part of the query, not a filter in the UI.
 * - `ownActorId`: set for readers without `audit:all:read` (viewers, approvers): their own events.
 * - `portals`: set for approvers (`audit:portals:read`): also the events of the portals they
 *   approve step-up requests for, as `approverPortals` reads them from the roles.
 * - `payloads`: false for readers without `audit:payloads:read` (approvers, viewers of others'…):
 *   arguments and results are removed from `data` before the event leaves the server.
 */
export type AuditScope = { ownActorId: string | null; portals: string[] | null; payloads: boolean };

export async function auditScope(db: Db, actor: Actor): Promise<AuditScope> {
  if (actor.type === "system" || can(actor, "audit:all:read")) return { ownActorId: null, portals: null, payloads: can(actor, "audit:payloads:read") };
  const portals = can(actor, "audit:portals:read") ? await approverPortals(db, actor.userId, actor.email) : null;
  // A viewer sees their own events whole; an approver sees other people's without payloads.
  return { ownActorId: actor.userId, portals, payloads: can(actor, "audit:payloads:read") || portals === null };
}

/**
 * The portals whose step-up requests this person may decide: portals granted to a role that has
 * step-up risk classes and either names no approvers (every approver) or names this person by
 * email or by one of their IdP groups. The same rule `cannotDecide` in step-up.ts applies.
 */
export async function approverPortals(db: Db, userId: string, email: string): Promise<string[]> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { idpGroups: true } });
  const groups = user?.idpGroups ?? [];
  const roles = await db.portalRole.findMany({
    where: { OR: [{ stepUpRiskClasses: { isEmpty: false } }, { perCallRiskClasses: { isEmpty: false } }] },
    select: { stepUpApprovers: true, grants: { select: { portal: { select: { slug: true } } } } },
  });
  const slugs = new Set<string>();
  for (const role of roles) {
    const isApprover = role.stepUpApprovers.length === 0 || role.stepUpApprovers.some((a) => a.toLowerCase() === email.toLowerCase() || groups.includes(a));
    if (isApprover) for (const g of role.grants) slugs.add(g.portal.slug);
  }
  return [...slugs].sort();
}

/** The parts of `data` that carry what a caller sent or an upstream answered. */
const PAYLOAD_KEYS = ["arguments", "result", "argumentsTruncated", "resultTruncated", "messages", "contents"] as const;

export function stripPayloads(data: unknown): unknown {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return data;
  const copy = { ...(data as Record<string, unknown>) };
  for (const key of PAYLOAD_KEYS) delete copy[key];
  return copy;
}

const escapeLike = (value: string) => value.replace(/[\\%_]/g, "\\$&");
const likePattern = (value: string) => `%${escapeLike(value)}%`;

/** `::ffff:10.0.0.1` is how Node names an IPv4 peer on a dual-stack socket; compare it as IPv4. */
const normalizeIp = (value: string) => (/^::ffff:\d+\.\d+\.\d+\.\d+(\/\d+)?$/i.test(value) ? value.slice(7) : value);

/** An address without a prefix length, or with the full one (/32, /128): inet equality matches it. */
const isSingleAddress = (value: string) => {
  const [address, bits] = value.split("/");
  return bits === undefined || Number(bits) === (address!.includes(":") ? 128 : 32);
};

/** An ISO instant as the table stores time: UTC wall clock in timestamp(3). */
const utc = (iso: string) => Prisma.sql`(${iso}::timestamptz AT TIME ZONE 'UTC')`;

type FilterKey = keyof AuditFilterParams;

/** The time range of a filter set, as ISO instants: a preset counts back from `now`. */
function timeBounds(params: AuditFilterParams, now: Date): { from?: string; to?: string } {
  if (params.range && params.range !== "custom") return { from: new Date(now.getTime() - AUDIT_RANGE_MS[params.range]).toISOString() };
  return { from: params.from || undefined, to: params.to || undefined };
}

/**
 * The seq range that holds every event of the filter's time range, from AuditSeqByHour (kept by
 * triggers on every write, migration 20261207152904): the lowest seq of the hours from the
 * range's start on, the highest of the hours up to its end. Added to a read ordered by seq, it
 * lets a (filter, seq) index hand over only the range's rows: without it, a filter with fewer
 * matches in the range than the read wants walked the filter's whole history (all 720,000
 * denials for "denied in the last 7 days", 1.4 s at 10M events, bench/audit-explorer.ts). Seq
 * order is only roughly time order (gateways deliver late, clocks differ), so this is a superset
 * and the time conditions stay: the counts and pages are exactly what they were.
 * Empty without a time range, or when no hour of the range has events (nothing to narrow).
 */
export async function seqRangeConditions(db: Db, params: AuditFilterParams, now: Date): Promise<Prisma.Sql[]> {
  const { from, to } = timeBounds(params, now);
  if (!from && !to) return [];
  const [row] = await db.$queryRaw<Array<{ lo: bigint | null; hi: bigint | null }>>`
    SELECT ${from ? Prisma.sql`(SELECT min("minSeq") FROM "AuditSeqByHour" WHERE "hour" >= date_trunc('hour', ${utc(from)}))` : Prisma.sql`NULL::bigint`} AS "lo",
      ${to ? Prisma.sql`(SELECT max("maxSeq") FROM "AuditSeqByHour" WHERE "hour" <= date_trunc('hour', ${utc(to)}))` : Prisma.sql`NULL::bigint`} AS "hi"`;
  const out: Prisma.Sql[] = [];
  if (row?.lo !== null && row?.lo !== undefined) out.push(Prisma.sql`"seq" >= ${BigInt(row.lo)}`);
  if (row?.hi !== null && row?.hi !== undefined) out.push(Prisma.sql`"seq" <= ${BigInt(row.hi)}`);
  return out;
}

/**
 * The SQL conditions for a filter set and a scope, ANDed. `omit` leaves one filter out: a facet
 * counts its own values under every other filter, so picking one value does not hide the rest.
 */
export function auditConditions(params: AuditFilterParams, scope: AuditScope, now: Date, omit?: FilterKey, seqRange: Prisma.Sql[] = []): Prisma.Sql[] {
  const has = (key: FilterKey) => key !== omit && params[key] !== undefined && params[key] !== "";
  const out: Prisma.Sql[] = [];
  if (scope.ownActorId !== null) {
    out.push(
      scope.portals?.length
        ? Prisma.sql`("actorId" = ${scope.ownActorId} OR "portal" IN (${Prisma.join(scope.portals)}))`
        : Prisma.sql`"actorId" = ${scope.ownActorId}`,
    );
  }

  const { from, to } = timeBounds(params, now);
  // With the seq range of the time range (seqRangeConditions), the time conditions only trim its
  // margin, and are written so the time index cannot take them: Postgres, which takes seq and time
  // for unrelated, otherwise ANDed a bitmap of the whole range's rows (1.17M for 7 days at 10M
  // events, 200 ms and a lossy bitmap) with the filter's few. Same meaning, exactly.
  const time = seqRange.length ? Prisma.sql`("time" + interval '0 seconds')` : Prisma.sql`"time"`;
  if (from) out.push(Prisma.sql`${time} >= ${utc(from)}`);
  if (to) out.push(Prisma.sql`${time} < ${utc(to)}`);
  out.push(...seqRange);
  if (has("kind")) out.push(Prisma.sql`"kind" = ${params.kind}`);
  if (has("actorType")) out.push(Prisma.sql`"actorType" = ${params.actorType}`);
  if (has("portal")) out.push(Prisma.sql`"portal" = ${params.portal}`);
  if (has("server")) out.push(Prisma.sql`"server" = ${params.server}`);
  if (has("tool")) out.push(Prisma.sql`"tool" = ${params.tool}`);
  if (has("outcome")) out.push(Prisma.sql`"outcome" = ${params.outcome}`);
  if (has("requestId")) out.push(Prisma.sql`"requestId" = ${params.requestId}`);
  // An exact actor id, or the start of an email or client label (case-insensitive): both indexed
  // (migration 20261207095000), where a substring anywhere would scan millions of rows.
  if (has("actor")) out.push(Prisma.sql`("actorId" = ${params.actor} OR lower("actorLabel") LIKE lower(${`${escapeLike(params.actor!)}%`}))`);
  if (has("rule")) out.push(Prisma.sql`"reasons"::text ILIKE ${likePattern(params.rule!)}`);
  if (has("grant")) out.push(Prisma.sql`"data"->>'grantId' = ${params.grant}`);
  if (has("session")) out.push(Prisma.sql`"data"->>'sessionId' = ${params.session}`);
  if (has("upstream")) out.push(Prisma.sql`"data"->>'upstreamOutcome' = ${params.upstream}`);
  // The partial (seq) index of events with a DLP match (migration 20261207154013) serves it.
  if (has("dlp")) out.push(Prisma.sql`"data"->'dlp' @> jsonb_build_array(jsonb_build_object('detector', ${params.dlp}::text))`);
  // portico_try_inet (migration 20261207063059): a stored source that is not an address is no match.
  // One address is an equality, so the (address, seq) btree hands a page over in seq order; a CIDR
  // block is a range of that index (Postgres turns <<= into >= and <= on a btree), then sorted.
  if (has("ip")) {
    const ip = normalizeIp(params.ip!);
    out.push(isSingleAddress(ip) ? Prisma.sql`portico_try_inet("sourceIp") = ${ip}::inet` : Prisma.sql`portico_try_inet("sourceIp") <<= ${ip}::inet`);
  }
  if (has("q")) out.push(textMatch(params.q!));
  return out;
}

/** The free-text condition: a substring of the action, reasons, target or tool, case-insensitive. */
export function textMatch(q: string): Prisma.Sql {
  const pattern = likePattern(q);
  return Prisma.sql`("action" ILIKE ${pattern} OR "reasons"::text ILIKE ${pattern} OR "targetId" ILIKE ${pattern} OR "tool" ILIKE ${pattern})`;
}

export function whereSql(conditions: Prisma.Sql[]): Prisma.Sql {
  return conditions.length ? Prisma.sql`WHERE ${Prisma.join(conditions, " AND ")}` : Prisma.empty;
}
