import { GENESIS_HASH, hashAuditEvent, type AuditEventInput } from "./event";

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
 */

export type ChainRow = AuditEventInput & { seq: bigint; prevHash: string; hash: string };
export type ChainProblem = "edited" | "missing" | "reordered";
export type ChainFailure = { seq: string; time: string; problem: ChainProblem; detail: string };
export type SignedHead = { seq: bigint; hash: string };

// Hashes remembered to tell "reordered" from "missing"; a reorder further back than this is reported as missing.
const RECENT = 10_000;

export class ChainVerifier {
  private prev: string;
  private linked: boolean;
  private recent = new Map<string, bigint>();
  private checkpoints: Map<string, string>;
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
    options: { startPrevHash?: string; linked?: boolean; checkpoints?: SignedHead[] } = {},
  ) {
    this.prev = options.startPrevHash ?? GENESIS_HASH;
    this.linked = options.linked ?? true;
    this.checkpoints = new Map((options.checkpoints ?? []).map((c) => [c.seq.toString(), c.hash]));
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
      if (this.linked && row.prevHash !== this.prev) {
        if (this.recent.has(row.prevHash)) return fail("reordered", `its predecessor is seq ${this.recent.get(row.prevHash)}, which came earlier`);
        const later = rows.slice(index + 1).find((r) => r.hash === row.prevHash);
        if (later) return fail("reordered", `its predecessor is seq ${later.seq}, which comes after it`);
        return fail("missing", "the event before it is gone (deleted) or was replaced");
      }
      if (hashAuditEvent(row.prevHash, row) !== row.hash) return fail("edited", "its content does not match its hash");
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
