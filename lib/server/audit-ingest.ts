import "server-only";
import { GENESIS_HASH, auditEventInput, hashAuditEvent, type AuditEventInput } from "@/lib/audit/event";
import { AppError, type FieldError } from "@/lib/errors";
import { UNSTORABLE_TEXT_MESSAGE, isStorableText } from "@/lib/storable-text";
import type { Db } from "./db/client";
import { CHAIN_LOCK } from "./audit";
import { observeAuditEvents } from "./alerts/engine";
import { overviewRollupsOf, rollupDenials } from "@/lib/dashboards/rollup";
import { Prisma } from "@/lib/generated/prisma/client";
import { denialRollupUpsert, overviewRollupUpserts, textArray } from "./traffic-rollups";
import { publishConfig } from "./config-publisher";
import { recordGrantUse } from "./step-up";

const MAX_REPORTED_ERRORS = 50;

export type IngestResult = { accepted: number; duplicates: number };

/**
 * Appends a gateway's batch to the audit chain, idempotent by event id: ids already stored (or
 * repeated within the batch) are counted as duplicates and skipped, so a gateway may re-send a
 * batch whose acknowledgement it never saw. All or nothing: one invalid event refuses the batch.
 */
export async function ingestAuditEvents(db: Db, events: unknown[]): Promise<IngestResult> {
  const parsed = parseBatch(events);
  if (parsed.length === 0) return { accepted: 0, duplicates: 0 };

  const unique = new Map<string, AuditEventInput>();
  for (const event of parsed) if (!unique.has(event.id)) unique.set(event.id, event);
  // What the batch adds to the rollups needs no chain: summed before the lock is taken. A batch
  // that turns out to hold stored ids (a re-sent one, rare) is summed again from what it stores.
  let rollups = rollupStatement([...unique.values()]);

  let isGrantUsedUp = false;
  const result = await db.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
      // Read under the lock, in a statement of its own (its snapshot is taken after the lock is
      // held): a concurrent ingest of the same ids has committed or not started. The ids already
      // stored and the chain's tail come back in one round trip.
      const ids = [...unique.keys()];
      const [head] = await tx.$queryRaw<Array<{ tail: string | null; existing: string[] | null }>>`
        SELECT (SELECT "hash" FROM "AuditEvent" ORDER BY "seq" DESC LIMIT 1) AS "tail",
          ARRAY(SELECT "id" FROM "AuditEvent" WHERE "id" = ANY(${textArray(ids)}::text[])) AS "existing"`;
      const existing = head?.existing ?? [];
      for (const id of existing) unique.delete(id);
      const fresh = [...unique.values()];
      if (fresh.length === 0) return { accepted: 0, duplicates: parsed.length, fresh };
      if (existing.length > 0) rollups = rollupStatement(fresh);
      // The rollups go first, in a statement of their own: Postgres sums them into the rollup
      // tables while this process chains the hashes and builds the insert. Both are awaited before
      // the transaction commits, so the rollups still count exactly the events it stores.
      const summed = rollups ? started(tx.$executeRaw(rollups)) : null;
      if (summed) await new Promise((resolve) => setImmediate(resolve)); // on the wire before the CPU work below

      let prev = head?.tail ?? GENESIS_HASH;
      const cols = {
        id: [] as string[],
        time: [] as string[],
        kind: [] as string[],
        actorType: [] as string[],
        actorId: [] as Array<string | null>,
        actorLabel: [] as Array<string | null>,
        action: [] as string[],
        outcome: [] as string[],
        targetType: [] as Array<string | null>,
        targetId: [] as Array<string | null>,
        portal: [] as Array<string | null>,
        server: [] as Array<string | null>,
        tool: [] as Array<string | null>,
        reasons: [] as Array<string | null>,
        data: [] as Array<string | null>,
        sourceIp: [] as Array<string | null>,
        requestId: [] as Array<string | null>,
        prevHash: [] as string[],
        hash: [] as string[],
      };
      for (const event of fresh) {
        const hash = hashAuditEvent(prev, event);
        cols.id.push(event.id);
        cols.time.push(event.time.toISOString());
        cols.kind.push(event.kind);
        cols.actorType.push(event.actorType);
        cols.actorId.push(event.actorId ?? null);
        cols.actorLabel.push(event.actorLabel ?? null);
        cols.action.push(event.action);
        cols.outcome.push(event.outcome);
        cols.targetType.push(event.targetType ?? null);
        cols.targetId.push(event.targetId ?? null);
        cols.portal.push(event.portal ?? null);
        cols.server.push(event.server ?? null);
        cols.tool.push(event.tool ?? null);
        // null is stored as SQL NULL, not JSON null, exactly as appendAuditEvents stores it.
        cols.reasons.push(event.reasons == null ? null : JSON.stringify(event.reasons));
        cols.data.push(event.data == null ? null : JSON.stringify(event.data));
        cols.sourceIp.push(event.sourceIp ?? null);
        cols.requestId.push(event.requestId ?? null);
        cols.prevHash.push(prev);
        cols.hash.push(hash);
        prev = hash;
      }
      // One statement for the whole batch (createMany is several times slower, and each statement
      // is a round trip inside the transaction). seq comes from the column's sequence, drawn row by
      // row in ORDER BY ord, so seq order is chain order. Times are UTC instants, stored as UTC
      // wall clock in timestamp(3) like Prisma stores them. Each column travels as one array
      // literal: Prisma passes JS arrays element by element, which cost more than the insert itself.
      const inserted = started(tx.$executeRaw`
        INSERT INTO "AuditEvent" ("id", "time", "kind", "actorType", "actorId", "actorLabel", "action", "outcome",
          "targetType", "targetId", "portal", "server", "tool", "reasons", "data", "sourceIp", "requestId", "prevHash", "hash")
        SELECT u.c_id, (u.c_time::timestamptz AT TIME ZONE 'UTC'), u.c_kind, u.c_actor_type, u.c_actor_id, u.c_actor_label,
          u.c_action, u.c_outcome, u.c_target_type, u.c_target_id, u.c_portal, u.c_server, u.c_tool,
          u.c_reasons::jsonb, u.c_data::jsonb, u.c_source_ip, u.c_request_id, u.c_prev_hash, u.c_hash
        FROM unnest(
          ${textArray(cols.id)}::text[], ${textArray(cols.time)}::text[], ${textArray(cols.kind)}::text[], ${textArray(cols.actorType)}::text[], ${textArray(cols.actorId)}::text[],
          ${textArray(cols.actorLabel)}::text[], ${textArray(cols.action)}::text[], ${textArray(cols.outcome)}::text[], ${textArray(cols.targetType)}::text[],
          ${textArray(cols.targetId)}::text[], ${textArray(cols.portal)}::text[], ${textArray(cols.server)}::text[], ${textArray(cols.tool)}::text[],
          ${textArray(cols.reasons)}::text[], ${textArray(cols.data)}::text[], ${textArray(cols.sourceIp)}::text[], ${textArray(cols.requestId)}::text[],
          ${textArray(cols.prevHash)}::text[], ${textArray(cols.hash)}::text[]
        ) WITH ORDINALITY AS u(c_id, c_time, c_kind, c_actor_type, c_actor_id, c_actor_label, c_action, c_outcome,
          c_target_type, c_target_id, c_portal, c_server, c_tool, c_reasons, c_data, c_source_ip, c_request_id,
          c_prev_hash, c_hash, ord)
        ORDER BY u.ord`);
      await settled([summed, inserted]);
      // Calls made under a step-up grant (only fresh events, so a re-sent batch counts nothing twice).
      const uses = fresh.flatMap((e) => (e.kind === "mcp.request" && e.outcome === "allow" && typeof e.data?.grantId === "string" ? [{ grantId: e.data.grantId, time: e.time }] : []));
      if (uses.length > 0) isGrantUsedUp = await recordGrantUse(tx, uses);
      return { accepted: fresh.length, duplicates: parsed.length - fresh.length, fresh };
    },
    // Waiting for the chain lock behind other writers counts against the transaction's time.
    { maxWait: 15_000, timeout: 60_000 },
  );
  // Stored and committed: alert rules see the batch now, off this request (never awaited).
  observeAuditEvents(result.fresh, true);
  // A per-call grant was used: every gateway should drop it, not only the one that served the call.
  if (isGrantUsedUp) void publishConfig(db, "per-call step-up grant used");
  return { accepted: result.accepted, duplicates: result.duplicates };
}

/**
 * Everything a batch adds to the rollups, as one statement of data-modifying CTEs: each overview
 * table at minute, hour and day grain, and the hourly denial counts. Null when it adds nothing.
 */
function rollupStatement(events: AuditEventInput[]): Prisma.Sql | null {
  const upserts = [...overviewRollupUpserts(overviewRollupsOf(events)), ...[denialRollupUpsert(rollupDenials(events))].filter((sql) => sql !== null)];
  if (upserts.length === 0) return null;
  const ctes = upserts.map((sql, i) => Prisma.sql`${Prisma.raw(i === 0 ? "WITH" : ",")} ${Prisma.raw(`rollup_${i}`)} AS (${sql})`);
  return Prisma.sql`${Prisma.join(ctes, " ")} SELECT 1`;
}

/** A Prisma query sent now (they are lazy until awaited), its failure kept for `settled`. */
function started<T>(query: PromiseLike<T>): Promise<T> {
  const promise = Promise.resolve().then(() => query);
  promise.catch(() => {});
  return promise;
}

/** Waits for every query sent, then throws the first failure: nothing is left running when the transaction ends. */
async function settled(queries: Array<Promise<unknown> | null>): Promise<void> {
  const results = await Promise.allSettled(queries.filter((q) => q !== null));
  const failure = results.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
}

/** Validates every event; the error names the first bad index and lists each problem by field. */
function parseBatch(events: unknown[]): AuditEventInput[] {
  if (!Array.isArray(events)) {
    throw new AppError("validation_failed", "events must be an array of audit events", [{ field: "events", message: "Expected an array" }]);
  }
  const parsed: AuditEventInput[] = [];
  const errors: FieldError[] = [];
  const badIndexes: number[] = [];
  events.forEach((raw, index) => {
    const result = auditEventInput.safeParse(raw);
    const issues: FieldError[] = result.success
      ? storageProblems(result.data)
      : result.error.issues.map((issue) => ({ field: issue.path.join("."), message: issue.message }));
    if (issues.length === 0 && result.success) {
      parsed.push(result.data);
      return;
    }
    badIndexes.push(index);
    for (const issue of issues) errors.push({ field: issue.field ? `events.${index}.${issue.field}` : `events.${index}`, message: issue.message });
  });
  if (badIndexes.length > 0) {
    const more = badIndexes.length > 1 ? ` (and ${badIndexes.length - 1} more)` : "";
    throw new AppError("validation_failed", `Audit event ${badIndexes[0]} is not valid${more}`, errors.slice(0, MAX_REPORTED_ERRORS));
  }
  return parsed;
}

/**
 * What the schema lets through but Postgres would refuse in a structural field. Content is never
 * refused here: the schema has already made it storable (escaped, truncated; see
 * lib/audit/sanitize.ts), so what a caller sent cannot keep an event out of the trail.
 */
function storageProblems(event: AuditEventInput): FieldError[] {
  const year = event.time.getUTCFullYear();
  if (year < 1970 || year > 9999) return [{ field: "time", message: "Must be between 1970 and 9999" }];
  if (!isStorableText(event.kind)) return [{ field: "kind", message: UNSTORABLE_TEXT_MESSAGE }];
  return [];
}
