import "server-only";
import {
  AUDIT_FACET_TEXT_SCAN,
  AUDIT_FACET_WINDOW,
  AUDIT_FACETS,
  type AuditFacet,
  auditFilterParams,
  auditPageOrder,
  exportAuditParams,
  listAuditParams,
  type AuditEventView,
  type AuditFacets,
  type AuditFilterParams,
} from "@/lib/schemas/audit";
import type { Page } from "@/lib/schemas/common";
import { notFound } from "@/lib/errors";
import { Prisma, type AuditEvent } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { driverQuery } from "./db/driver";
import { authorize, type Actor } from "./auth/actor";
import { auditConditions, auditScope, seqRangeConditions, stripPayloads, textMatch, whereSql, type AuditScope } from "./audit-query";
import { auditWireFields } from "./audit-wire";
import { serviceAccountNames, unnamedServiceAccount } from "./actor-names";

/** Whether a row is in a reader's scope (the detail view reads one row by id, outside the SQL filters). */
function inScope(row: AuditEvent, scope: AuditScope): boolean {
  if (scope.ownActorId === null || row.actorId === scope.ownActorId) return true;
  return row.portal !== null && (scope.portals ?? []).includes(row.portal);
}

function toView(row: AuditEvent, scope: AuditScope): AuditEventView {
  // Payloads are hidden from readers without the right, except on their own events for viewers.
  const hidesPayloads = !scope.payloads && row.kind.startsWith("mcp.");
  return {
    ...auditWireFields(row),
    data: hidesPayloads ? stripPayloads(row.data) : row.data,
    ...(hidesPayloads ? { payloadsHidden: true } : {}),
  };
}

/**
 * The seqs of one keyset page, in the page's order. The filters run in SQL (jsonb, inet, ILIKE
 * over reasons); the rows themselves are then read through Prisma so their types are Prisma's.
 *
 * `by` is the page order: "seq" (chain order) or "time" (event time, ties by seq). A custom time
 * range in the past, and any range oldest first, pages by time: ordered by seq, Postgres would walk the seq index from the
 * newest event back to the window (15 s at 10M events, bench/audit-explorer.ts), because seq order
 * is only roughly time order and no index can serve "a time window, ordered by seq". The cursor
 * stays a seq either way; in time order the page continues after that event's (time, seq).
 */
async function pageSeqs(db: Db, conditions: Prisma.Sql[], order: "asc" | "desc", after: bigint | null, take: number, by: "seq" | "time" = "seq"): Promise<bigint[]> {
  const op = Prisma.raw(order === "desc" ? "<" : ">");
  const direction = Prisma.raw(order === "desc" ? "DESC" : "ASC");
  let all = conditions;
  if (after !== null) {
    all = [
      ...conditions,
      by === "seq" ? Prisma.sql`"seq" ${op} ${after}` : Prisma.sql`("time", "seq") ${op} (SELECT "time", "seq" FROM "AuditEvent" WHERE "seq" = ${after})`,
    ];
  }
  const orderBy = by === "seq" ? Prisma.sql`"seq" ${direction}` : Prisma.sql`"time" ${direction}, "seq" ${direction}`;
  const rows = await db.$queryRaw<Array<{ seq: bigint }>>`SELECT "seq" FROM "AuditEvent" ${whereSql(all)} ORDER BY ${orderBy} LIMIT ${take}`;
  return rows.map((r) => BigInt(r.seq));
}

/** The rows of `seqs`, in the order given. */
async function rowsBySeq(db: Db, seqs: bigint[]): Promise<AuditEvent[]> {
  if (seqs.length === 0) return [];
  const rows = await db.auditEvent.findMany({ where: { seq: { in: seqs } } });
  const bySeq = new Map(rows.map((r) => [r.seq, r]));
  return seqs.flatMap((seq) => bySeq.get(seq) ?? []);
}

/** Every column of AuditEvent, from the schema: the driver read below returns whole rows as Prisma does. */
const AUDIT_EVENT_COLUMNS = Object.values(Prisma.AuditEventScalarFieldEnum)
  .map((column) => `"${column}"`)
  .join(", ");

/**
 * The rows of `seqs`, in the order given, read through the driver (lib/server/db/driver.ts): the
 * same rows as rowsBySeq, with the same types, for exports, which read every row of their result.
 * The Prisma client's result path keeps each row alive far longer (it builds and converts every
 * value several times): at EXPORT_CHUNK rows a chunk, 200,000 rows exported through it grew the
 * old space by 141 MB, through the driver by 12 MB (bench/audit-export.ts).
 */
async function exportRowsBySeq(db: Db, seqs: bigint[]): Promise<AuditEvent[]> {
  if (seqs.length === 0) return [];
  const rows = await driverQuery(db)<AuditEvent>(`SELECT ${AUDIT_EVENT_COLUMNS} FROM "AuditEvent" WHERE "seq" = ANY($1::bigint[])`, [`{${seqs.join(",")}}`]);
  const bySeq = new Map(rows.map((r) => [r.seq, r]));
  return seqs.flatMap((seq) => bySeq.get(seq) ?? []);
}

/**
 * Keyset-paginated, newest first or oldest first: by seq (the chain order), or by event time
 * when a custom range is picked (see pageSeqs). Viewers get only their own events; readers
 * without payload rights get MCP events without arguments and results.
 */
export async function listAuditEvents(db: Db, actor: Actor, raw: unknown, now = new Date()): Promise<Page<AuditEventView>> {
  authorize(actor, "audit:read");
  const params = listAuditParams.parse(raw);
  const scope = await auditScope(db, actor);
  // Oldest first within a preset window too: by seq, the walk would start at the oldest event of all.
  const by = auditPageOrder(params);
  // In seq order, the seq range of the time range (a superset) keeps the walk inside it.
  const conditions = auditConditions(params, scope, now, undefined, by === "seq" ? await seqRangeConditions(db, params, now) : []);
  const seqs = await pageSeqs(db, conditions, params.order, params.cursor ? BigInt(params.cursor) : null, params.limit + 1, by);
  const rows = await rowsBySeq(db, seqs.slice(0, params.limit));
  const last = rows.at(-1);
  const [names, actors] = await Promise.all([targetNames(db, rows, scope), actorNames(db, rows)]);
  return {
    items: rows.map((r) => {
      const name = r.targetType && r.targetId ? names.get(`${r.targetType}\u0000${r.targetId}`) : undefined;
      const actorName = actors.get(unnamedServiceAccount(r) ?? "");
      return { ...toView(r, scope), ...(name ? { targetName: name } : {}), ...(actorName ? { actorName } : {}) };
    }),
    nextCursor: seqs.length > params.limit && last ? last.seq.toString() : null,
  };
}

/**
 * The names of a page's targets that are records (a server, a portal, a person, an alert), so the
 * explorer shows "server Cost Explorer" where the event holds only an id: one query per page, for
 * the whole page. People's emails only for readers of the whole log. A deleted record has no name
 * here (its delete event carries it in `before`).
 */
async function targetNames(db: Db, rows: AuditEvent[], scope: AuditScope): Promise<Map<string, string>> {
  const ids = (type: string) => [...new Set(rows.flatMap((r) => (r.targetType === type && r.targetId ? [r.targetId] : [])))];
  const servers = ids("server");
  const portals = ids("portal");
  const users = scope.ownActorId === null ? ids("user") : [];
  const alerts = ids("alert");
  if (!servers.length && !portals.length && !users.length && !alerts.length) return new Map();
  const found = await db.$queryRaw<Array<{ type: string; id: string; name: string }>>`
    SELECT 'server' AS "type", "id", "name" FROM "Server" WHERE "id" = ANY(${servers}::text[])
    UNION ALL SELECT 'portal', "id", "name" FROM "Portal" WHERE "id" = ANY(${portals}::text[])
    UNION ALL SELECT 'user', "id", "email" FROM "User" WHERE "id" = ANY(${users}::text[])
    UNION ALL SELECT 'alert', "id", "title" FROM "Alert" WHERE "id" = ANY(${alerts}::text[])`;
  return new Map(found.map((f) => [`${f.type}\u0000${f.id}`, f.name]));
}

/** Service accounts' names for a page's gateway events that label them by client id (actor-names.ts). */
function actorNames(db: Db, rows: AuditEvent[]): Promise<Map<string, string>> {
  return serviceAccountNames(db, rows.flatMap((r) => unnamedServiceAccount(r) ?? []));
}

const FACET_LIMIT = 12;

/**
 * Counts of the main filters' values under the current filters, each facet without its own
 * filter (so the other values of a picked facet stay visible), the most frequent first.
 *
 * Counted over the newest AUDIT_FACET_WINDOW matching events (by seq, or by event time within a
 * time range), read in that order through the same
 * indexes as a page: with 10M events an exact GROUP BY over everything is seconds of work per
 * keystroke. Facets whose conditions are the same (those whose own filter is not set) share one
 * read, grouped by GROUPING SETS. `window` tells the UI when a count stopped at the window.
 */
export async function auditFacets(db: Db, actor: Actor, raw: unknown, now = new Date(), window = AUDIT_FACET_WINDOW, textScan = AUDIT_FACET_TEXT_SCAN): Promise<AuditFacets> {
  authorize(actor, "audit:read");
  const params = auditFilterParams.parse(raw);
  const scope = await auditScope(db, actor);
  const isSet = (facet: AuditFacet) => params[facet] !== undefined && params[facet] !== "";
  const shared = AUDIT_FACETS.filter((f) => !isSet(f));
  const groups: Array<{ facets: AuditFacet[]; omit?: AuditFacet }> = [
    ...(shared.length ? [{ facets: shared }] : []),
    ...AUDIT_FACETS.filter(isSet).map((f) => ({ facets: [f], omit: f })),
  ];
  // A text search is not a condition an index can serve: it reads a bounded number of the newest
  // events that pass the other filters and counts the matches among them (10 s at 10M events
  // when it read until 20,000 matches of a 1 % term, bench/audit-explorer.ts).
  const text = params.q ? textMatch(params.q) : null;
  const others = { ...params, q: undefined };
  const seqRange = await seqRangeConditions(db, others, now);
  const results = await Promise.all(
    groups.map((g) => {
      const by = facetOrder(others, scope, g.omit);
      // Read in seq order, the seq range of the time range (a superset) bounds the walk: see seqRangeConditions.
      const conditions = auditConditions(others, scope, now, g.omit, by === "seq" ? seqRange : []);
      return countFacets(db, conditions, g.facets, text ? { scan: textScan, text } : { window }, by);
    }),
  );
  const out = {
    window: results.some((r) => r.isPartial && !text) ? window : null,
    searched: results.some((r) => r.isPartial && text) ? textScan : null,
  } as AuditFacets;
  for (const r of results) Object.assign(out, r.counts);
  return out;
}

/** Filters with a (filter, seq) index (or one that finds few rows): a facet read walks it in seq order. */
const SEQ_INDEXED = ["kind", "actor", "portal", "server", "tool", "outcome", "requestId", "grant", "session", "ip"] as const;

/**
 * The order in which a facet read takes the newest events. Under a time range and no filter
 * with its own index, by event time: the time index hands the newest rows first. Ordered by seq,
 * Postgres took a day's rows as spread over the whole table, read all 167,000 of them through
 * the time index and sorted them (2.7 s at 10M events). With such a filter, by seq, through its
 * (filter, seq) index: ordered by time, 7 days of denials were a walk of the time index past
 * 278,000 rows (1.4 s).
 */
function facetOrder(params: AuditFilterParams, scope: AuditScope, omit?: AuditFacet): "seq" | "time" {
  const ranged = Boolean(params.range || params.from || params.to);
  const indexed = scope.ownActorId !== null || SEQ_INDEXED.some((key) => key !== omit && params[key] !== undefined && params[key] !== "");
  return ranged && !indexed ? "time" : "seq";
}

/**
 * One read for a group of facets. `window`: the newest `window` events that match. `scan`: the
 * newest `scan` events that match the other conditions, of which those matching `text` count.
 * `isPartial`: the read stopped at its bound, so the counts are not totals.
 */
async function countFacets(db: Db, conditions: Prisma.Sql[], facets: AuditFacet[], bound: { window: number } | { scan: number; text: Prisma.Sql }, by: "seq" | "time") {
  const columns = Prisma.raw(facets.map((f) => `"${f}"`).join(", "));
  const sets = Prisma.raw(facets.map((f) => `("${f}")`).join(", "));
  const grouping = Prisma.raw(facets.length > 1 ? `GROUPING(${facets.map((f) => `"${f}"`).join(", ")})` : "0");
  const [read, limit, counted] =
    "text" in bound ? [Prisma.sql`${columns}, ${bound.text} AS "hit"`, bound.scan, Prisma.sql`WHERE "hit"`] : [columns, bound.window, Prisma.empty];
  const rows = await db.$queryRaw<Array<Record<string, string | null> & { grouping: number; count: bigint | number; total: bigint | number }>>`
    WITH newest AS (SELECT ${read} FROM "AuditEvent" ${whereSql(conditions)} ORDER BY ${Prisma.raw(by === "time" ? `"time" DESC, "seq" DESC` : `"seq" DESC`)} LIMIT ${limit})
    SELECT ${columns}, ${grouping}::int AS "grouping", count(*) AS "count", (SELECT count(*) FROM newest) AS "total"
    FROM newest ${counted} GROUP BY GROUPING SETS (${sets})`;
  const counts = Object.fromEntries(facets.map((f) => [f, [] as Array<{ value: string; count: number }>])) as Record<AuditFacet, Array<{ value: string; count: number }>>;
  let total = 0;
  for (const row of rows) {
    total = Number(row.total);
    // Each row belongs to the one facet it is grouped by; GROUPING() has a 0 bit for it.
    const facet = facets.length === 1 ? facets[0]! : facets.find((_, i) => ((row.grouping >> (facets.length - 1 - i)) & 1) === 0)!;
    const value = row[facet];
    if (value !== null && value !== undefined) counts[facet].push({ value, count: Number(row.count) });
  }
  for (const facet of facets) {
    counts[facet].sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    counts[facet] = counts[facet].slice(0, FACET_LIMIT);
  }
  return { counts, isPartial: total >= limit };
}

export type AuditEventDetail = {
  event: AuditEventView;
  /** The config version in force when the event happened (the newest published before it). */
  configVersion: number | null;
};

/** One event with what the drawer links to; an event outside the reader's scope is not found. */
export async function getAuditEvent(db: Db, actor: Actor, id: string): Promise<AuditEventDetail> {
  authorize(actor, "audit:read");
  const scope = await auditScope(db, actor);
  const row = await db.auditEvent.findUnique({ where: { id } });
  if (!row || !inScope(row, scope)) throw notFound("Audit event");
  const version = await db.configVersion.findFirst({ where: { createdAt: { lte: row.time } }, orderBy: { version: "desc" }, select: { version: true } });
  const actorName = (await actorNames(db, [row])).get(unnamedServiceAccount(row) ?? "");
  return { event: { ...toView(row, scope), ...(actorName ? { actorName } : {}) }, configVersion: version?.version ?? null };
}

/**
 * Rows per export chunk. Small on purpose: a chunk's rows live from the moment the driver starts
 * parsing them until they are written out, and what lives across two young-generation collections
 * is promoted to the old space, where V8 (under Node's default ~4 GB limit) lets garbage pile up
 * before collecting. Measured on 200,000 rows exported as CSV (Postgres, default heap,
 * bench/audit-export.ts): old space peak +111 MB at 1000 rows a chunk, +129 MB at 500, +12 MB at
 * 250, +14 MB at 100 (through Prisma: +141 MB even at 250). 100 leaves room for rows with larger
 * payloads than the bench's, at no cost in speed there (an indexed round trip per 100 rows).
 */
export const EXPORT_CHUNK = 100;

/**
 * The filtered set in keyset chunks, for exports: memory holds one chunk whatever the size of
 * the result. Same scope as the list (a viewer exports their own events, an approver metadata).
 * Authorizes and validates now, so a refusal is an error response, not a broken stream.
 * In seq order (the chain's), like the explorer's seq-ordered pages: under a time range, the
 * range's seqs (seqRangeConditions) keep the walk inside it rather than over the whole log.
 */
export async function streamAuditEvents(db: Db, actor: Actor, raw: unknown, now = new Date()) {
  authorize(actor, "audit:read");
  const params = exportAuditParams.parse(raw);
  const scope = await auditScope(db, actor);
  const conditions = auditConditions(params, scope, now, undefined, await seqRangeConditions(db, params, now));
  async function* chunks(): AsyncGenerator<{ views: AuditEventView[]; rows: AuditEvent[] }, void, undefined> {
    let after: bigint | null = null;
    for (;;) {
      const seqs = await pageSeqs(db, conditions, params.order, after, EXPORT_CHUNK);
      if (seqs.length === 0) return;
      const rows = await exportRowsBySeq(db, seqs);
      yield { views: rows.map((r) => toView(r, scope)), rows };
      if (seqs.length < EXPORT_CHUNK) return;
      after = seqs.at(-1)!;
    }
  }
  return { params, scope, chunks: chunks() };
}

export type { AuditFilterParams };
