import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { ChainVerifier, type ChainFailure, type PurgedRun, type SignedHead } from "./chain-verify";
import { verifyCheckpoint, verifyPurge } from "./checkpoint";

/**
 * Offline verification of a JSON Lines export (`npm run audit:verify -- --file`): every event's
 * content against its hash, the links between consecutive events when the export is the whole
 * chain, and each signed checkpoint against the control plane's published key. Two passes over
 * the file (checkpoints are at its end), each line by line: memory does not grow with the file.
 */

const header = z.object({
  record: z.literal("header"),
  format: z.literal("portico-audit-export"),
  version: z.literal(1),
  isContiguous: z.boolean(),
  payloadsHidden: z.boolean(),
  keys: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
});

const eventLine = z.object({
  record: z.literal("event"),
  seq: z.string().regex(/^\d+$/),
  id: z.string(),
  time: z.iso.datetime(),
  kind: z.string(),
  actorType: z.enum(["user", "service_account", "api_token", "system", "anonymous"]),
  actorId: z.string().nullable(),
  actorLabel: z.string().nullable(),
  action: z.string(),
  outcome: z.enum(["allow", "deny", "success", "failure"]),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  portal: z.string().nullable(),
  server: z.string().nullable(),
  tool: z.string().nullable(),
  reasons: z.array(z.string()).nullable(),
  data: z.record(z.string(), z.unknown()).nullable(),
  sourceIp: z.string().nullable(),
  requestId: z.string().nullable(),
  prevHash: z.string(),
  hash: z.string(),
  // Files exported before hash version 2 carry no version: all their rows were version 1.
  hashVersion: z.union([z.literal(1), z.literal(2)]).default(1),
});

const checkpointLine = z.object({ record: z.literal("checkpoint"), seq: z.string(), hash: z.string(), signature: z.string() });
const purgeLine = z.object({ record: z.literal("purge"), fromSeq: z.string(), toSeq: z.string(), prevHash: z.string(), lastHash: z.string(), signature: z.string() });

export type ExportVerification = {
  ok: boolean;
  checked: number;
  /** Checkpoints whose signature verified and whose seq is in the file with the signed hash. */
  checkpointsMatched: number;
  /** The newest matched checkpoint: everything up to it is vouched for by the signing key. */
  lastCheckpoint: { seq: string } | null;
  /** True when the keys came from the file itself rather than from `--keys`: weaker evidence. */
  keysFromFile: boolean;
  isContiguous: boolean;
  failure: ChainFailure | { seq: null; problem: "invalid_file" | "bad_checkpoint"; detail: string } | null;
};

const CHUNK = 1000;

export async function verifyExport(open: () => AsyncIterable<string>, keys?: JSONWebKeySet): Promise<ExportVerification> {
  const result: ExportVerification = { ok: false, checked: 0, checkpointsMatched: 0, lastCheckpoint: null, keysFromFile: !keys, isContiguous: false, failure: null };
  const invalid = (detail: string) => ({ ...result, failure: { seq: null, problem: "invalid_file" as const, detail } });

  // Pass 1: the header and the checkpoints.
  let head: z.infer<typeof header> | null = null;
  const checkpoints: SignedHead[] = [];
  const purges: PurgedRun[] = [];
  let lineNo = 0;
  for await (const line of open()) {
    lineNo += 1;
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return invalid(`line ${lineNo} is not JSON`);
    }
    if (lineNo === 1) {
      const parsed = header.safeParse(value);
      if (!parsed.success) return invalid("the first line is not a Portico audit export header");
      head = parsed.data;
      continue;
    }
    const purge = purgeLine.safeParse(value);
    if (purge.success) {
      try {
        const claims = await verifyPurge(purge.data.signature, keys ?? (head!.keys as JSONWebKeySet));
        const p = purge.data;
        if (claims.fromSeq !== p.fromSeq || claims.toSeq !== p.toSeq || claims.prevHash !== p.prevHash || claims.lastHash !== p.lastHash) throw new Error("claims differ");
        purges.push({ fromSeq: BigInt(claims.fromSeq), toSeq: BigInt(claims.toSeq), prevHash: claims.prevHash, lastHash: claims.lastHash });
      } catch {
        return { ...result, failure: { seq: null, problem: "bad_checkpoint", detail: `the purge record from seq ${purge.data.fromSeq} does not verify against the key` } };
      }
      continue;
    }
    const cp = checkpointLine.safeParse(value);
    if (!cp.success) continue;
    try {
      const claims = await verifyCheckpoint(cp.data.signature, keys ?? (head!.keys as JSONWebKeySet));
      if (claims.seq !== cp.data.seq || claims.hash !== cp.data.hash) throw new Error("claims differ");
      checkpoints.push({ seq: BigInt(claims.seq), hash: claims.hash });
    } catch {
      return { ...result, failure: { seq: null, problem: "bad_checkpoint", detail: `the checkpoint at seq ${cp.data.seq} does not verify against the key` } };
    }
  }
  if (!head) return invalid("the file is empty");
  if (head.payloadsHidden) return invalid("this export omits arguments and results (exported without payload rights), so its hashes cannot be checked");
  result.isContiguous = head.isContiguous;

  // Pass 2: the events, in chunks.
  const verifier = new ChainVerifier({ linked: head.isContiguous, checkpoints, purges });
  const seen = new Set<string>();
  const wanted = new Set(checkpoints.map((c) => c.seq.toString()));
  let batch: Parameters<ChainVerifier["push"]>[0] = [];
  lineNo = 0;
  const flush = () => {
    const failure = verifier.push(batch);
    batch = [];
    return failure;
  };
  for await (const line of open()) {
    lineNo += 1;
    if (lineNo === 1 || !line.trim()) continue;
    const value = JSON.parse(line) as { record?: unknown };
    if (value.record !== "event") continue;
    const parsed = eventLine.safeParse(value);
    if (!parsed.success) return invalid(`line ${lineNo} is not a valid event`);
    const e = parsed.data;
    if (wanted.has(e.seq)) seen.add(e.seq);
    batch.push({ ...e, time: new Date(e.time), seq: BigInt(e.seq) });
    if (batch.length >= CHUNK && flush()) break;
  }
  if (!verifier.failure) flush();
  const matched = checkpoints.filter((c) => seen.has(c.seq.toString()) && (verifier.last === null || c.seq <= verifier.last.seq));
  return {
    ...result,
    ok: verifier.failure === null,
    checked: verifier.checked,
    checkpointsMatched: matched.length,
    lastCheckpoint: matched.length ? { seq: matched.at(-1)!.seq.toString() } : null,
    failure: verifier.failure,
  };
}
