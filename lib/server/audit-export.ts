import "server-only";
import { stringify } from "csv-stringify/sync";
import type { AuditEventView } from "@/lib/schemas/audit";
import type { AuditEvent } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { streamAuditEvents } from "./audit-events";
import { checkpointsBetween, purgesUpTo, signChainHead, type CheckpointView, type PurgeView } from "./audit-checkpoints";
import { runAuditVerification } from "./audit-verify";
import { describeError, log } from "./log";
import { publicJwks } from "./signing-keys";

export const EXPORT_FORMAT = "portico-audit-export";

const CSV_COLUMNS = [
  "seq",
  "id",
  "time",
  "kind",
  "actorType",
  "actorId",
  "actorLabel",
  "action",
  "outcome",
  "targetType",
  "targetId",
  "portal",
  "server",
  "tool",
  "reasons",
  "sourceIp",
  "requestId",
  "data",
  "prevHash",
  "hash",
  "hashVersion",
  // "event" for an event; "checkpoint" or "purge" for the signed records appended after the events.
  "record",
] as const;

function csvRow(view: AuditEventView, row: AuditEvent): unknown[] {
  return [
    view.seq,
    view.id,
    view.time,
    view.kind,
    view.actorType,
    view.actorId,
    view.actorLabel,
    view.action,
    view.outcome,
    view.targetType,
    view.targetId,
    view.portal,
    view.server,
    view.tool,
    view.reasons ? view.reasons.join("; ") : null,
    view.sourceIp,
    view.requestId,
    view.data == null ? null : JSON.stringify(view.data),
    row.prevHash,
    row.hash,
    row.hashVersion,
    "event",
  ];
}

/**
 * The signed records a CSV export spans, as rows after the events (the `record` column tells them
 * apart): a checkpoint carries seq, its event's time, the hash and, in `data`, the JWS and key id;
 * a purge record its seqs (seq = from, targetId = to), hashes and JWS. An auditor checks the JWS
 * against /.well-known/jwks.json and the hash against the row with that seq.
 */
function csvCheckpointRow(c: CheckpointView): unknown[] {
  const row: Record<string, unknown> = { seq: c.seq, time: c.eventTime, kind: "audit.checkpoint", hash: c.hash, data: JSON.stringify({ signature: c.signature, kid: c.kid }), record: "checkpoint" };
  return CSV_COLUMNS.map((col) => row[col] ?? null);
}
function csvPurgeRow(p: PurgeView): unknown[] {
  const row: Record<string, unknown> = {
    seq: p.fromSeq,
    time: p.createdAt,
    kind: "audit.purge_record",
    targetId: p.toSeq,
    prevHash: p.prevHash,
    hash: p.lastHash,
    data: JSON.stringify({ toSeq: p.toSeq, count: p.count, signature: p.signature, kid: p.kid }),
    record: "purge",
  };
  return CSV_COLUMNS.map((col) => row[col] ?? null);
}

/** One JSON Lines record of an event: every stored field, with the chain fields to verify it by. */
function jsonlEvent(view: AuditEventView, row: AuditEvent) {
  const { payloadsHidden: _hidden, ...rest } = view;
  void _hidden;
  return { record: "event", ...rest, prevHash: row.prevHash, hash: row.hash, hashVersion: row.hashVersion };
}

const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, "-");

/**
 * The filtered set as CSV (csv-stringify, one call per chunk) or JSON Lines, pulled chunk by
 * chunk as the client reads: a slow reader holds back the database, nothing piles up in memory.
 * JSON Lines starts with a header (filters, the public keys) and ends with the signed checkpoints
 * the exported seqs span, so `npm run audit:verify -- --file` can check it offline.
 * `now` is what a preset time range counts back from (a parameter so tests fix the clock).
 */
export async function exportResponse(db: Db, actor: Actor, raw: unknown, signal?: AbortSignal, now = new Date()): Promise<Response> {
  const { params, scope, chunks } = await streamAuditEvents(db, actor, raw, now);
  const isCsv = params.format === "csv";
  const encoder = new TextEncoder();
  const { format: _format, order, ...filters } = params;
  void _format;
  const isFiltered = Object.values(filters).some((v) => v !== undefined) || scope.ownActorId !== null;
  let header: string | null = null;
  // Every export spans at least the head's checkpoint: signed now if it is not yet.
  await signChainHead(db).catch((error: unknown) => log("warn", "could not sign the audit chain head for an export", describeError(error)));
  if (!isCsv) {
    header = JSON.stringify({
      record: "header",
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: now.toISOString(),
      order,
      filters,
      // A filtered export's rows are not consecutive: each row is checked against its own prevHash.
      isContiguous: !isFiltered && order === "asc",
      payloadsHidden: !scope.payloads,
      keys: await publicJwks(db),
    });
  }
  let minSeq: bigint | null = null;
  let maxSeq: bigint | null = null;
  let isFirst = true;

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (signal?.aborted) throw signal.reason;
        if (header !== null) {
          controller.enqueue(encoder.encode(`${header}\n`));
          header = null;
          return;
        }
        const next = await chunks.next();
        if (next.done) {
          if (isCsv && isFirst) controller.enqueue(encoder.encode(stringify([], { header: true, columns: [...CSV_COLUMNS] })));
          if (minSeq !== null && maxSeq !== null) {
            const checkpoints = await checkpointsBetween(db, minSeq, maxSeq);
            // The holes retention left up to the last exported row: a whole-chain file crosses them.
            const purges = await purgesUpTo(db, maxSeq);
            const text = isCsv
              ? stringify([...checkpoints.map(csvCheckpointRow), ...purges.map(csvPurgeRow)])
              : [...checkpoints.map((c) => JSON.stringify({ record: "checkpoint", ...c })), ...purges.map((p) => JSON.stringify({ record: "purge", ...p }))].map((l) => `${l}\n`).join("");
            if (text) controller.enqueue(encoder.encode(text));
          }
          controller.close();
          return;
        }
        const { views, rows } = next.value;
        for (const row of rows) {
          if (minSeq === null || row.seq < minSeq) minSeq = row.seq;
          if (maxSeq === null || row.seq > maxSeq) maxSeq = row.seq;
        }
        const text = isCsv
          ? stringify(
              views.map((v, i) => csvRow(v, rows[i]!)),
              { header: isFirst, columns: [...CSV_COLUMNS] },
            )
          : views.map((v, i) => `${JSON.stringify(jsonlEvent(v, rows[i]!))}\n`).join("");
        isFirst = false;
        controller.enqueue(encoder.encode(text));
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  const ext = isCsv ? "csv" : "jsonl";
  return new Response(body, {
    headers: {
      "content-type": isCsv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="portico-audit-${stamp(now)}.${ext}"`,
    },
  });
}

/** Runs a verification, streaming `progress` lines and one `result` line (JSON Lines). */
export function verificationResponse(db: Db, actor: Actor, signal?: AbortSignal): Response {
  authorize(actor, "audit:verify");
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (value: unknown) => {
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(value)}\n`));
        } catch {
          // The reader went away; the signal stops the run.
        }
      };
      runAuditVerification(db, actor, { signal, onProgress: (p) => send({ type: "progress", ...p }) })
        .then((result) => send({ type: "result", ...result }))
        .catch((error: unknown) => {
          if (!signal?.aborted) {
            log("error", "audit verification failed to run", { requestId: actor.requestId, ...describeError(error) });
            send({ type: "error", message: "The verification could not run." });
          }
        })
        .finally(() => {
          try {
            controller.close();
          } catch {
            // Already closed by a cancel.
          }
        });
    },
  });
  return new Response(body, { headers: { "content-type": "application/x-ndjson; charset=utf-8" } });
}
