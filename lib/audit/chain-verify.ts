import { GENESIS_HASH, hashAuditEvent, type AuditEventInput, type HashVersion } from "./event";

/**
 * Chain verification, fed row by row in seq order, so a caller can stream millions of rows from
 * the database or from an export file through it in bounded memory. Pure: the control plane, the
 * CLI and the offline file check share it.
 *
 * What it can tell apart (seq gaps alone prove nothing: a rolled-back insert burns sequence values):
 * - edited: the row's content does not hash to its stored hash, or its hash differs from a signed
 *   checkpoint at that seq (the whole tail was re-hashed after an edit);
 * - missing: the row's prevHash names no row seen, nor one just ahead: rows before it were deleted;
 * - reordered: its prevHash names a row seen earlier (not the previous one) or one still ahead.
 *
 * Retention deletes rows, so the chain has holes on purpose. Each hole is bridged by a signed
 * purge record (seqs from..to, the hash before the first deleted row and the hash of the last):
 * when a row's prevHash is not the previous row's hash, the verifier follows the purge records
 * that start at the previous hash, and accepts the row only if they end at its prevHash and
 * before its seq. A deletion that no signed record covers is still "missing".
 */

export type ChainRow = AuditEventInput & { seq: bigint; prevHash: string; hash: string; hashVersion?: HashVersion };
export type ChainProblem = "edited" | "missing" | "reordered";
export type ChainFailure = { seq: string; time: string; problem: ChainProblem; detail: string };
export type SignedHead = { seq: bigint; hash: string };
/** A run of rows retention deleted, as its signed purge record states it. */
export type PurgedRun = { fromSeq: bigint; toSeq: bigint; prevHash: string; lastHash: string };

// Hashes remembered to tell "reordered" from "missing"; a reorder further back than this is reported as missing.
const RECENT = 10_000;

export class ChainVerifier {
  private prev: string;
  private linked: boolean;
  private recent = new Map<string, bigint>();
  private checkpoints: Map<string, string>;
  private purges: Map<string, PurgedRun>;
  /** Rows skipped over signed purge records. */
  bridged = 0;
  /** The last row that verified. */
  last: { seq: bigint; time: Date } | null = null;
  checked = 0;
  failure: ChainFailure | null = null;

  /**
   * `startPrevHash`: the hash before the first row fed (genesis for a full chain; a trusted
   * checkpoint's hash to resume after it). `linked` false for a filtered export, whose rows are
   * not consecutive: each row is still checked against its own prevHash.
   */
  constructor(
    options: { startPrevHash?: string; linked?: boolean; checkpoints?: SignedHead[]; purges?: PurgedRun[] } = {},
  ) {
    this.prev = options.startPrevHash ?? GENESIS_HASH;
    this.linked = options.linked ?? true;
    this.checkpoints = new Map((options.checkpoints ?? []).map((c) => [c.seq.toString(), c.hash]));
    this.purges = new Map((options.purges ?? []).map((p) => [p.prevHash, p]));
  }

  /** The hash a row may link to after `prev` by crossing signed purge records, or null. */
  private bridge(prev: string, row: ChainRow): string | null {
    let at = prev;
    let afterSeq = this.last?.seq ?? -1n;
    for (let hops = 0; hops <= this.purges.size; hops += 1) {
      const run = this.purges.get(at);
      if (!run || run.fromSeq <= afterSeq || run.toSeq >= row.seq) return null;
      at = run.lastHash;
      afterSeq = run.toSeq;
      if (at === row.prevHash) return at;
    }
    return null;
  }

  /**
   * Checks a run of rows (a chunk) in seq order; stops at the first problem. `ahead` lets a broken
   * link look forward within the chunk to tell a reorder from a deletion.
   */
  push(rows: ChainRow[]): ChainFailure | null {
    if (this.failure) return this.failure;
    for (const [index, row] of rows.entries()) {
      const fail = (problem: ChainProblem, detail: string) => {
        this.failure = { seq: row.seq.toString(), time: row.time.toISOString(), problem, detail };
        return this.failure;
      };
      if (this.linked && row.prevHash !== this.prev && this.bridge(this.prev, row) !== null) this.bridged += 1;
      else if (this.linked && row.prevHash !== this.prev) {
        if (this.recent.has(row.prevHash)) return fail("reordered", `its predecessor is seq ${this.recent.get(row.prevHash)}, which came earlier`);
        const later = rows.slice(index + 1).find((r) => r.hash === row.prevHash);
        if (later) return fail("reordered", `its predecessor is seq ${later.seq}, which comes after it`);
        return fail("missing", "the event before it is gone (deleted) or was replaced");
      }
      if (hashAuditEvent(row.prevHash, row, row.hashVersion ?? 2) !== row.hash) return fail("edited", "its content does not match its hash");
      const signed = this.checkpoints.get(row.seq.toString());
      if (signed !== undefined && signed !== row.hash) return fail("edited", "its hash differs from the signed checkpoint at this seq (the chain was re-hashed)");
      this.prev = row.hash;
      this.recent.set(row.hash, row.seq);
      if (this.recent.size > RECENT) this.recent.delete(this.recent.keys().next().value!);
      this.last = { seq: row.seq, time: row.time };
      this.checked += 1;
    }
    return null;
  }
}
