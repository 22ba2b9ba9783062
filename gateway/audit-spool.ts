import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { AuditEventInput } from "@/lib/audit/event";
import { describeError, log as gatewayLog } from "./log";

/**
 * The gateway's audit spool: every event goes to disk first, then to the control plane.
 *
 * Layout of `dir`:
 *   seg-000000000042.jsonl  append-only segments, one JSON event per line; the highest is active
 *   commit.json             `{ segment, offset }`: everything before it is acknowledged
 *   dead-letter.jsonl       events the control plane refused as invalid (422), kept for an operator
 *   dead-letter-reason.json `{ reason, at }` of the latest refusal, shown on the Gateways page
 *   dead-letter.replaying.jsonl  dead letters being re-queued (a crash mid-replay finishes it on start)
 *
 * Durability: `emit` writes its line with one synchronous `write(2)` on an O_APPEND descriptor
 * before returning (a few microseconds, no fsync). Once `emit` returns, the event survives the
 * gateway process dying in any way (crash, OOM kill, SIGKILL): it is in the kernel's page cache.
 * The data is fdatasync'ed every `flushIntervalMs`, on rotation, on `flush()` and on `close()`,
 * so a machine crash or power loss loses at most the last interval. fsync per event would cost
 * milliseconds on the request path; an in-process buffer would lose events already answered to
 * clients when the process is killed. A torn last line (a crash inside a write, a full disk) only
 * ever sits at the end of a segment, because a restart and a write error both start a new segment;
 * the deliverer skips it with a warning.
 *
 * Delivery is at least once, in order: a batch is acknowledged (commit.json replaced atomically)
 * only after the control plane answered 2xx, so a crash in between re-sends it, and the ingest
 * route, idempotent by event id, counts the repeats as duplicates. Nothing is dropped on failure:
 * network errors and 5xx/401/429 are retried with exponential backoff and jitter.
 */

export type AuditSpoolLog = (level: "debug" | "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;

export type AuditSpoolOptions = {
  dir: string;
  controlPlaneUrl: string;
  token: string;
  /** Events per POST, 1,000 by default (the ingest route takes at most 2,000). */
  batchSize?: number;
  /** How long events may wait before delivery, and how often the active segment is fdatasync'ed. */
  flushIntervalMs?: number;
  /**
   * After delivering a partial batch, how long to let the next one fill before sending it (a full
   * batch goes at once). Each delivery costs a file read, a POST and a commit write: under steady
   * traffic, sending whatever arrived during the last round trip made those a per-call cost.
   */
  gatherMs?: number;
  maxBackoffMs?: number;
  fetchImpl?: typeof fetch;
  /** Bytes of events per POST; the ingest route takes bodies up to 5 MiB. */
  maxBatchBytes?: number;
  /** A segment is sealed and a new one started past this size. */
  maxSegmentBytes?: number;
  requestTimeoutMs?: number;
  log?: AuditSpoolLog;
};

export type DeadLetterStatus = { count: number; lastReason: string | null; lastAt: string | null };

export type AuditSpool = {
  /** Writes the event to the spool; never throws and never waits on the network. */
  emit(event: AuditEventInput): void;
  /** Events set aside in the dead-letter file, and why the last ones were refused. */
  deadLetters(): DeadLetterStatus;
  /**
   * Re-queues every dead letter behind the events already spooled (once the cause is fixed), and
   * empties the file; events the control plane refuses again come back to it. Returns how many.
   */
  replayDeadLetters(): Promise<number>;
  /** Events spooled and not yet acknowledged by the control plane (or set aside). */
  depth(): number;
  /**
   * Ends a backoff wait now: the control plane is known to be back (it answered a heartbeat), so
   * the backlog need not wait out up to `maxBackoffMs` more.
   */
  retryNow(): void;
  /** Resolves when every event emitted before the call is acknowledged; retries meanwhile. */
  flush(): Promise<void>;
  /** Stops delivery and syncs the disk. Undelivered events stay in `dir` for the next start. */
  close(): Promise<void>;
};

const INGEST_PATH = "/api/internal/audit/ingest";
const MAX_INGEST_EVENTS = 2000;
const MAX_INGEST_BODY_BYTES = 5 * 1024 * 1024;
const BODY_OVERHEAD = '{"events":[]}'.length;
const SEGMENT = /^seg-(\d{12})\.jsonl$/;
const COMMIT_FILE = "commit.json";
const DEAD_LETTER_FILE = "dead-letter.jsonl";
const DEAD_LETTER_REASON_FILE = "dead-letter-reason.json";
const REPLAYING_FILE = "dead-letter.replaying.jsonl";
const NEWLINE = 0x0a;
// Lines held in memory while the disk refuses writes (full, read-only): a bounded amount.
const MAX_UNWRITTEN = 50_000;

type Position = { segment: number; offset: number };

/** A line of a segment on its way to the control plane. */
type Line = { offset: number; end: number; text: string };

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`ingest answered ${status}`);
  }
}

/**
 * The segment being appended to. Writes are synchronous; fdatasync calls run in the thread pool,
 * chained so that none runs on a descriptor after it is closed.
 */
class ActiveSegment {
  bytes = 0;
  broken = false;
  private dirty = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly id: number,
    private readonly fd: number,
    private readonly log: AuditSpoolLog,
  ) {}

  /** Appends all of `buf` or throws; a partial write leaves a torn line, so the caller seals this segment. */
  append(buf: Buffer): void {
    let done = 0;
    while (done < buf.length) {
      const n = fs.writeSync(this.fd, buf, done, buf.length - done);
      if (n <= 0) throw new Error("write made no progress");
      done += n;
      this.bytes += n;
      this.dirty = true;
    }
  }

  sync(): Promise<void> {
    if (!this.dirty) return this.chain;
    this.dirty = false;
    this.chain = this.chain.then(() => this.datasync());
    return this.chain;
  }

  close(): Promise<void> {
    this.dirty = false;
    this.chain = this.chain.then(async () => {
      await this.datasync();
      await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
    });
    return this.chain;
  }

  private datasync(): Promise<void> {
    return new Promise((resolve) =>
      fs.fdatasync(this.fd, (error) => {
        if (error) this.log("warn", "audit spool fdatasync failed", { segment: this.id, ...describeError(error) });
        resolve();
      }),
    );
  }
}

export function createAuditSpool(options: AuditSpoolOptions): AuditSpool {
  const dir = path.resolve(options.dir);
  // Each POST costs the control plane a transaction, the chain lock and a commit: a backlog goes
  // out several times faster in batches of 1,000 than of 200 (bench/audit-ingest.ts).
  const batchSize = Math.min(Math.max(1, options.batchSize ?? 1000), MAX_INGEST_EVENTS);
  const flushIntervalMs = Math.max(1, options.flushIntervalMs ?? 500);
  // 200 ms: each delivery costs a file read, a POST and a commit. At 50 ms, a gateway at a few
  // dozen to hundreds of calls a second spent about an eighth of its CPU on them (bench
  // gateway-overhead --profile, c=1: undici, open/read/close/rename, the spool).
  const gatherMs = Math.max(0, options.gatherMs ?? 200);
  let lastBatchLines = 0;
  const maxBackoffMs = Math.max(1, options.maxBackoffMs ?? 30_000);
  const maxBatchBytes = Math.min(options.maxBatchBytes ?? 4 * 1024 * 1024, MAX_INGEST_BODY_BYTES - BODY_OVERHEAD);
  const maxSegmentBytes = options.maxSegmentBytes ?? 8 * 1024 * 1024;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const fetchImpl = options.fetchImpl ?? fetch;
  const log = options.log ?? gatewayLog;
  const ingestUrl = `${options.controlPlaneUrl.replace(/\/+$/, "")}${INGEST_PATH}`;
  const segmentPath = (id: number) => path.join(dir, `seg-${String(id).padStart(12, "0")}.jsonl`);

  // ---- recovery (synchronous: the spool is usable as soon as it is created) ----
  fs.mkdirSync(dir, { recursive: true });
  let commit = readCommit();
  const segments: number[] = [];
  for (const name of fs.readdirSync(dir)) {
    const match = SEGMENT.exec(name);
    if (match) {
      const id = Number(match[1]);
      // Acknowledged already: the previous run crashed between committing past it and deleting it.
      if (id < commit.segment) fs.rmSync(segmentPath(id), { force: true });
      else segments.push(id);
    } else if (name.startsWith(`${COMMIT_FILE}.`)) {
      fs.rmSync(path.join(dir, name), { force: true });
    }
  }
  segments.sort((a, b) => a - b);
  if (segments[0] !== undefined && segments[0] !== commit.segment) commit = { segment: segments[0], offset: 0 };
  const backlog = segments.reduce((sum, id) => sum + countLines(segmentPath(id), id === commit.segment ? commit.offset : 0), 0);
  if (backlog > 0) log("info", "audit spool resumes its backlog", { events: backlog, segments: segments.length });

  // Never append to a segment from an earlier run: its last line may be torn.
  let active = openSegment(Math.max(commit.segment, ...segments, 0) + 1);
  // Segments from here on are this instance's own: every newline-terminated line in them is a whole
  // JSON.stringify of an event (a failed write leaves a fragment without a newline, read as torn).
  const firstOwnSegment = active.id;

  let spooled = backlog; // events ever written or found on disk by this instance
  let settled = 0; // of those, acknowledged or set aside
  const unwritten: Buffer[] = []; // lines a failed write left in memory, written first when the disk is back
  let closed = false;
  let isWriteFailing = false;
  let lost = 0; // events refused because the disk and the memory buffer were both full
  let failures = 0;
  const setAside = new Set<string>(); // `${segment}:${offset}` of dead-lettered lines not yet committed past
  const deadLetterFile = path.join(dir, DEAD_LETTER_FILE);
  const deadLetterStatus: DeadLetterStatus = { count: 0, lastReason: null, lastAt: null };
  const flushWaiters: Array<{ target: number; resolve: () => void; reject: (error: Error) => void }> = [];
  let inflight: AbortController | null = null;
  let wakeSleep: ((force: boolean) => void) | null = null;

  const syncTimer = setInterval(() => {
    drainUnwritten();
    void active.sync();
  }, flushIntervalMs);
  syncTimer.unref();

  const loop = runDeliverer();

  function readCommit(): Position {
    const file = path.join(dir, COMMIT_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return { segment: 0, offset: 0 };
    }
    try {
      const value = JSON.parse(text) as Partial<Position>;
      if (Number.isSafeInteger(value.segment) && Number.isSafeInteger(value.offset) && value.segment! >= 0 && value.offset! >= 0) {
        return { segment: value.segment!, offset: value.offset! };
      }
    } catch {
      // fall through
    }
    // Re-sending from the oldest segment is safe (ingest is idempotent); skipping is not.
    log("warn", "audit spool commit file is unreadable; re-sending from the oldest segment", { file });
    return { segment: 0, offset: 0 };
  }

  function openSegment(id: number): ActiveSegment {
    const fd = fs.openSync(segmentPath(id), "ax");
    segments.push(id);
    syncDir();
    return new ActiveSegment(id, fd, log);
  }

  function syncDir() {
    // A new or renamed entry is only durable once its directory is synced; best effort, off the
    // request path.
    fs.open(dir, "r", (openError, fd) => {
      if (openError) return;
      fs.fsync(fd, () => fs.close(fd, () => {}));
    });
  }

  function seal() {
    const old = active;
    active = openSegment(old.id + 1);
    void old.close();
  }

  function write(buf: Buffer): boolean {
    try {
      // A segment whose write failed may end in part of a line: nothing more goes after it.
      if (active.broken) seal();
      active.append(buf);
    } catch (error) {
      active.broken = true;
      if (!isWriteFailing) {
        isWriteFailing = true;
        log("error", "audit spool cannot write; keeping events in memory until the disk takes them", { segment: active.id, ...describeError(error) });
      }
      return false;
    }
    if (isWriteFailing) {
      isWriteFailing = false;
      log("info", "audit spool writes again", { segment: active.id });
    }
    if (active.bytes >= maxSegmentBytes) {
      try {
        seal();
      } catch (error) {
        log("error", "audit spool could not start a new segment", describeError(error));
      }
    }
    return true;
  }

  function drainUnwritten() {
    while (unwritten.length > 0) {
      if (!write(unwritten[0]!)) return;
      unwritten.shift();
    }
  }

  function emit(event: AuditEventInput): void {
    if (closed) {
      log("error", "audit event emitted after the spool was closed; it is not recorded", { id: event.id });
      return;
    }
    let buf: Buffer;
    try {
      buf = Buffer.from(`${JSON.stringify(event)}\n`, "utf8");
    } catch (error) {
      log("error", "audit event is not serializable; it is not recorded", { id: event.id, ...describeError(error) });
      return;
    }
    append(buf);
  }

  function append(buf: Buffer): void {
    if (unwritten.length >= MAX_UNWRITTEN) {
      // The disk has refused writes for a long while; holding more would take the gateway down.
      lost++;
      if (lost === 1 || lost % 1_000 === 0) log("error", "audit spool cannot write and its memory buffer is full; events are being lost", { lost });
      return;
    }
    spooled++;
    // Order on disk is emit order: while older lines wait in memory, newer ones queue behind them.
    if (unwritten.length > 0) {
      unwritten.push(buf);
      drainUnwritten();
    } else if (!write(buf)) {
      unwritten.push(buf);
    }
    if (spooled - settled >= batchSize) wake(false);
  }

  function wake(force: boolean) {
    wakeSleep?.(force);
  }

  /** Waits `ms`; an idle wait ends early on any wake, a backoff wait only on a forced one (flush, close). */
  function sleep(ms: number, isBackoff: boolean): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleep = null;
        resolve();
      }
      wakeSleep = (force) => {
        if (force || !isBackoff) done();
      };
    });
  }

  function settle(count: number) {
    settled += count;
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const waiter = flushWaiters[i]!;
      if (settled >= waiter.target) {
        flushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  async function runDeliverer(): Promise<void> {
    while (!closed) {
      let progressed: boolean;
      try {
        progressed = await deliverOnce();
        failures = 0;
      } catch (error) {
        if (closed) break;
        failures++;
        const ceiling = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures - 1, 20));
        // Equal jitter: at least half the step, so gateways that failed together spread out.
        const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
        log(failures === 1 || failures % 10 === 0 ? "warn" : "debug", "audit delivery failed; retrying", {
          attempt: failures,
          retryInMs: delay,
          depth: spooled - settled,
          ...(error instanceof HttpStatusError ? { status: error.status } : describeError(error)),
        });
        await sleep(delay, true);
        continue;
      }
      if (closed) break;
      if (!progressed) await sleep(flushIntervalMs, false);
      else if (lastBatchLines > 0 && lastBatchLines < batchSize && gatherMs > 0 && spooled - settled < batchSize && flushWaiters.length === 0) await sleep(gatherMs, false);
      lastBatchLines = 0;
    }
  }

  /** Moves the delivery forward by one step; false when there is nothing to deliver. */
  async function deliverOnce(): Promise<boolean> {
    const index = segments.indexOf(commit.segment);
    if (index === -1) {
      // The committed segment is gone (fully delivered); the next one starts at 0.
      const next = segments.find((id) => id > commit.segment);
      if (next === undefined) return false;
      commit = { segment: next, offset: 0 };
      return true;
    }
    const isActive = commit.segment === active.id;
    const file = segmentPath(commit.segment);
    // The active segment holds whole lines up to `bytes` (writes are synchronous); a sealed one
    // may end in a torn line.
    const end = isActive ? active.bytes : (await fsp.stat(file)).size;
    if (commit.offset >= end) {
      return isActive ? false : finishSegment(commit.segment, index);
    }

    const { lines, next, torn } = await readLines(file, commit.offset, end);
    if (torn) {
      log("warn", "audit spool skipped a torn line at the end of a segment", { segment: commit.segment, offset: torn.offset, bytes: torn.end - torn.offset });
    }
    const events: Line[] = [];
    // Parsing every line again only guards against what an earlier run or the disk left behind; for
    // this run's own lines it was a second JSON.parse of each event, payloads included.
    const isOwn = commit.segment >= firstOwnSegment;
    for (const line of lines) {
      if (setAside.has(`${commit.segment}:${line.offset}`)) continue;
      if (isOwn ? isObjectText(line.text) : isJsonObject(line.text)) events.push(line);
      else log("warn", "audit spool skipped a corrupt line", { segment: commit.segment, offset: line.offset, bytes: line.end - line.offset });
    }
    if (events.length > 0) await send(commit.segment, events);
    await writeCommit({ segment: commit.segment, offset: next });
    for (const line of lines) setAside.delete(`${commit.segment}:${line.offset}`);
    settle(lines.length);
    // Only the live tail is worth waiting on; a backlog goes out as fast as it can.
    lastBatchLines = isActive ? lines.length : 0;
    return true;
  }

  /** Up to `batchSize` whole lines and `maxBatchBytes` from `offset`; a line larger than that goes alone. */
  async function readLines(file: string, offset: number, end: number): Promise<{ lines: Line[]; next: number; torn: Line | null }> {
    const handle = await fsp.open(file, "r");
    try {
      let size = Math.min(end - offset, maxBatchBytes);
      for (;;) {
        const buf = Buffer.alloc(size);
        const { bytesRead } = await handle.read(buf, 0, size, offset);
        const chunk = buf.subarray(0, bytesRead);
        const lines: Line[] = [];
        let start = 0;
        while (lines.length < batchSize) {
          const nl = chunk.indexOf(NEWLINE, start);
          // The first line goes whatever its size; later ones only within the byte budget.
          if (nl === -1 || (lines.length > 0 && nl + 1 > maxBatchBytes)) break;
          lines.push({ offset: offset + start, end: offset + nl + 1, text: chunk.toString("utf8", start, nl) });
          start = nl + 1;
        }
        if (lines.length > 0) return { lines, next: offset + start, torn: null };
        if (bytesRead < size || offset + bytesRead >= end) {
          // No newline before the end of a sealed segment: the write of this line never finished.
          return { lines: [], next: end, torn: { offset, end, text: "" } };
        }
        // One line longer than a batch: read all of it and send it on its own.
        size = Math.min(end - offset, size * 2);
      }
    } finally {
      await handle.close();
    }
  }

  /** Sends the lines until each is acknowledged or set aside; failures worth retrying throw. */
  async function send(segment: number, lines: Line[]): Promise<void> {
    let pending = lines;
    while (pending.length > 0) {
      const body = `{"events":[${pending.map((l) => l.text).join(",")}]}`;
      if (pending.length === 1 && Buffer.byteLength(body) > MAX_INGEST_BODY_BYTES) {
        await setAsideLines(segment, pending, "The event alone is larger than the ingest route accepts");
        return;
      }
      try {
        await post(body);
        return;
      } catch (error) {
        const named = error instanceof HttpStatusError && error.status === 422 ? invalidIndexes(error.body, pending.length) : [];
        // Anything else (network, 5xx, 401, 429, a 422 naming no event) is retried with backoff.
        if (named.length === 0) throw error;
        // The control plane will never take these: keep them aside and send the rest.
        const refused = new Set(named);
        await setAsideLines(segment, pending.filter((_, i) => refused.has(i)), problemTitle((error as HttpStatusError).body) ?? "refused");
        pending = pending.filter((_, i) => !refused.has(i));
      }
    }
  }

  async function post(body: string): Promise<void> {
    inflight = new AbortController();
    const signal = AbortSignal.any([inflight.signal, AbortSignal.timeout(requestTimeoutMs)]);
    try {
      const response = await fetchImpl(ingestUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
        body,
        signal,
      });
      const text = await response.text().catch(() => "");
      if (!response.ok) throw new HttpStatusError(response.status, text.slice(0, 64 * 1024));
    } finally {
      inflight = null;
    }
  }

  async function setAsideLines(segment: number, lines: Line[], reason: string): Promise<void> {
    const ids = lines.map((l) => idOf(l.text));
    log("error", "control plane refused audit events; kept in the dead-letter file", {
      count: lines.length,
      ids: ids.slice(0, 20),
      file: DEAD_LETTER_FILE,
      reason,
    });
    const handle = await fsp.open(path.join(dir, DEAD_LETTER_FILE), "a");
    try {
      await handle.write(lines.map((l) => `${l.text}\n`).join(""));
      await handle.datasync();
    } finally {
      await handle.close();
    }
    for (const line of lines) setAside.add(`${segment}:${line.offset}`);
    deadLetterStatus.count += lines.length;
    deadLetterStatus.lastReason = reason.slice(0, 500);
    deadLetterStatus.lastAt = new Date().toISOString();
    await fsp.writeFile(path.join(dir, DEAD_LETTER_REASON_FILE), JSON.stringify({ reason: deadLetterStatus.lastReason, at: deadLetterStatus.lastAt })).catch(() => undefined);
  }

  function loadDeadLetterStatus() {
    deadLetterStatus.count = fs.existsSync(deadLetterFile) ? countLines(deadLetterFile, 0) : 0;
    try {
      const saved = JSON.parse(fs.readFileSync(path.join(dir, DEAD_LETTER_REASON_FILE), "utf8")) as { reason?: unknown; at?: unknown };
      deadLetterStatus.lastReason = typeof saved.reason === "string" ? saved.reason : null;
      deadLetterStatus.lastAt = typeof saved.at === "string" ? saved.at : null;
    } catch {
      deadLetterStatus.lastReason = deadLetterStatus.count > 0 ? "unknown (refused before this version of the gateway)" : null;
      deadLetterStatus.lastAt = null;
    }
  }

  /**
   * Moves the dead letters aside (one rename, so letters refused meanwhile start a new file), then
   * appends them to the spool. A crash in between leaves the moved file, which the next start
   * re-queues: ingest is idempotent by event id, so a repeat is only counted as a duplicate.
   */
  async function replayDeadLetters(): Promise<number> {
    if (closed) throw new Error("the audit spool is closed");
    const replaying = path.join(dir, REPLAYING_FILE);
    if (!fs.existsSync(replaying)) {
      if (!fs.existsSync(deadLetterFile)) return 0;
      await fsp.rename(deadLetterFile, replaying);
    }
    const lines = (await fsp.readFile(replaying, "utf8")).split("\n").filter((line) => line && isJsonObject(line));
    for (const line of lines) append(Buffer.from(`${line}\n`, "utf8"));
    drainUnwritten();
    await active.sync();
    await fsp.rm(replaying, { force: true });
    await fsp.rm(path.join(dir, DEAD_LETTER_REASON_FILE), { force: true });
    loadDeadLetterStatus();
    log("info", "dead-lettered audit events re-queued", { count: lines.length });
    wake(true);
    return lines.length;
  }

  async function writeCommit(position: Position): Promise<void> {
    const file = path.join(dir, COMMIT_FILE);
    const partial = `${file}.${process.pid}`;
    const handle = await fsp.open(partial, "w");
    try {
      // No fsync: a commit lost to a power cut only makes the next start re-send (idempotently).
      await handle.writeFile(JSON.stringify(position));
    } finally {
      await handle.close();
    }
    await fsp.rename(partial, file);
    commit = position;
  }

  async function finishSegment(id: number, index: number): Promise<boolean> {
    // A sealed segment always has a successor: sealing opens it first.
    const next = segments[index + 1];
    if (next === undefined) return false;
    // Commit past the segment before deleting it: a crash in between leaves a file the next start removes.
    await writeCommit({ segment: next, offset: 0 });
    segments.splice(index, 1);
    await fsp.rm(segmentPath(id), { force: true });
    return true;
  }

  loadDeadLetterStatus();
  if (fs.existsSync(path.join(dir, REPLAYING_FILE))) void replayDeadLetters().catch((error: unknown) => log("error", "could not finish re-queuing dead letters", describeError(error)));

  return {
    emit,
    deadLetters: () => ({ ...deadLetterStatus }),
    replayDeadLetters,
    depth: () => spooled - settled,
    retryNow() {
      if (!closed && spooled > settled) wake(true);
    },
    async flush() {
      if (closed) throw new Error("the audit spool is closed");
      const target = spooled;
      drainUnwritten();
      await active.sync();
      if (settled >= target) return;
      await new Promise<void>((resolve, reject) => {
        flushWaiters.push({ target, resolve, reject });
        wake(true);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(syncTimer);
      inflight?.abort();
      wake(true);
      await loop;
      drainUnwritten();
      await active.close();
      for (const waiter of flushWaiters.splice(0)) waiter.reject(new Error("the audit spool was closed before delivering"));
    },
  };
}

/** Newline-terminated lines from `offset` on; a trailing fragment is not counted. */
function countLines(file: string, offset: number): number {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(1024 * 1024);
    let count = 0;
    let position = offset;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, position);
      if (n === 0) return count;
      for (let i = buf.indexOf(NEWLINE, 0); i !== -1 && i < n; i = buf.indexOf(NEWLINE, i + 1)) count++;
      position += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Cheap shape check for lines this instance wrote itself. */
function isObjectText(text: string): boolean {
  return text.charCodeAt(0) === 0x7b && text.charCodeAt(text.length - 1) === 0x7d;
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

function idOf(text: string): string | null {
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === "string" ? id.slice(0, 64) : null;
  } catch {
    return null;
  }
}

function problemTitle(body: string): string | undefined {
  try {
    const title = (JSON.parse(body) as { title?: unknown }).title;
    return typeof title === "string" ? title.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/** Indexes named by a 422 problem's field errors (`events.<i>.<field>`). */
function invalidIndexes(body: string, count: number): number[] {
  try {
    const errors = (JSON.parse(body) as { errors?: Array<{ field?: unknown }> }).errors ?? [];
    const indexes = new Set<number>();
    for (const e of errors) {
      const match = typeof e.field === "string" ? /^events\.(\d+)(\.|$)/.exec(e.field) : null;
      const i = match ? Number(match[1]) : NaN;
      if (Number.isInteger(i) && i >= 0 && i < count) indexes.add(i);
    }
    return [...indexes];
  } catch {
    return [];
  }
}
