import { EventEmitter } from "node:events";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import path from "node:path";

import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from "jose";
import { z } from "zod";

import { describeError, log } from "./log";

/**
 * The running config snapshot. The control plane signs every version (JWS, Ed25519); the gateway
 * serves only what it verified itself, swaps versions atomically (one reference assignment, read
 * by every request), never goes backwards, and keeps the last good one on disk so a restart with
 * the control plane down still serves.
 */

export type SnapshotKeyResolver = (protectedHeader?: JWSHeaderParameters, token?: FlattenedJWSInput) => Promise<CryptoKey>;

/** Checks signature and schema; throws with a reason that is safe to log. */
export type VerifySignedSnapshot<S> = (jws: string, getKey: SnapshotKeyResolver) => Promise<S>;

export type Running<S> = { version: number; jws: string; snapshot: S; loadedAt: Date };

export type ApplyOutcome =
  | { status: 200; runningVersion: number }
  | { status: 409; runningVersion: number | null; reason: string }
  | { status: 422; runningVersion: number | null; reason: string };

export const signedConfigBody = z.object({
  version: z.number().int().min(0),
  jws: z.string().min(1).max(20 * 1024 * 1024),
});

const SNAPSHOT_FILE = "snapshot.json";
const JWKS_FILE = "config-jwks.json";
// The dashboard shows a gateway offline after three missed heartbeats (lib/server/gateways.ts).
const HEARTBEAT_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

export type ConfigStoreOptions<S> = {
  controlPlaneUrl: string;
  gatewayToken: string | undefined;
  gatewayName: string;
  /** Where the control plane pushes to and shows for this gateway. */
  gatewayUrl: string;
  dataDir: string;
  verify: VerifySignedSnapshot<S>;
  /** The version inside a verified snapshot: must equal the one announced next to the JWS. */
  versionOf: (snapshot: S) => number;
  heartbeatMs?: number;
  fetchImpl?: typeof fetch;
  /** What else the gateway reports with each heartbeat, such as its audit spool's dead letters. */
  report?: () => Record<string, unknown>;
};

export type ConfigStore<S> = ReturnType<typeof createConfigStore<S>>;

async function writeFileAtomic(file: string, data: string) {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(data, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

class VerificationFailed extends Error {}

export function createConfigStore<S>(options: ConfigStoreOptions<S>) {
  const events = new EventEmitter<{ change: [Running<S>, Running<S> | null]; contact: [] }>();
  const fetchImpl = options.fetchImpl ?? fetch;
  const cp = options.controlPlaneUrl;
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  let running: Running<S> | null = null;
  let closed = false;
  let applying: Promise<unknown> = Promise.resolve();
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let pullTimer: NodeJS.Timeout | undefined;
  let pullFailures = 0;
  let lastContactAt: Date | null = null;
  // Reported with every heartbeat: a later one than the control plane knew means this gateway restarted.
  const startedAt = new Date().toISOString();

  // --- snapshot-signing keys: fetched from the control plane, kept on disk for offline restarts ---
  let keySet: ReturnType<typeof createLocalJWKSet> | null = null;
  let keysFetchedAt = 0;

  const authHeaders = (): Record<string, string> => (options.gatewayToken ? { authorization: `Bearer ${options.gatewayToken}` } : {});

  async function fetchKeys(): Promise<boolean> {
    // Unknown kids can be sent by anyone who can push; do not let them hammer the control plane.
    if (Date.now() - keysFetchedAt < 5_000 && keySet) return false;
    keysFetchedAt = Date.now();
    try {
      const res = await fetchImpl(`${cp}/api/internal/config/jwks`, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const jwks = (await res.json()) as JSONWebKeySet;
      if (!jwks || !Array.isArray(jwks.keys)) throw new Error("not a JWKS");
      keySet = createLocalJWKSet(jwks);
      await writeFileAtomic(path.join(options.dataDir, JWKS_FILE), JSON.stringify(jwks)).catch((error: unknown) =>
        log("warn", "could not persist config signing keys", describeError(error)),
      );
      return true;
    } catch (error) {
      log("warn", "config signing keys unavailable from the control plane", describeError(error));
      return false;
    }
  }

  async function loadKeysFromDisk(): Promise<void> {
    try {
      const jwks = JSON.parse(await readFile(path.join(options.dataDir, JWKS_FILE), "utf8")) as JSONWebKeySet;
      if (Array.isArray(jwks.keys)) keySet = createLocalJWKSet(jwks);
    } catch {
      // First start, or no keys saved yet.
    }
  }

  const getKey: SnapshotKeyResolver = async (header, token) => {
    if (!keySet) await fetchKeys();
    if (!keySet) throw new VerificationFailed("no snapshot signing keys available");
    try {
      return await keySet(header, token);
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey && (await fetchKeys())) return keySet(header, token);
      throw error;
    }
  };

  async function verify(version: number, jws: string): Promise<S> {
    let snapshot: S;
    try {
      snapshot = await options.verify(jws, getKey);
    } catch (error) {
      throw new VerificationFailed(error instanceof Error ? error.message.slice(0, 300) : "verification failed");
    }
    const inner = options.versionOf(snapshot);
    if (inner !== version) throw new VerificationFailed(`announced version ${version} but the signed snapshot is version ${inner}`);
    return snapshot;
  }

  /** Serialized: a push and a pull racing must not both pass the "newer" check. */
  function apply(body: unknown, source: "push" | "pull" | "disk"): Promise<ApplyOutcome> {
    const next = applying.then(() => applyNow(body, source));
    applying = next.catch(() => undefined);
    return next;
  }

  async function applyNow(body: unknown, source: "push" | "pull" | "disk"): Promise<ApplyOutcome> {
    const parsed = signedConfigBody.safeParse(body);
    const current = running?.version ?? null;
    if (!parsed.success) {
      log("warn", "config refused", { source, reason: "body is not { version, jws }" });
      return { status: 422, runningVersion: current, reason: "body must be { version: integer, jws: string }" };
    }
    const { version, jws } = parsed.data;
    if (current !== null && version <= current) {
      const reason = version === current ? `version ${version} is already running` : `version ${version} is older than the running ${current}`;
      if (source === "push") log("info", "config refused", { source, version, runningVersion: current, reason });
      return { status: 409, runningVersion: current, reason };
    }
    let snapshot: S;
    try {
      snapshot = await verify(version, jws);
    } catch (error) {
      const reason = error instanceof Error ? error.message : "verification failed";
      log("error", "config refused: verification failed", { source, version, runningVersion: current, reason });
      return { status: 422, runningVersion: current, reason: "signature or schema verification failed" };
    }
    // Re-check: nothing else can apply meanwhile (serialized), but keep the invariant local.
    if (running && version <= running.version) return { status: 409, runningVersion: running.version, reason: "a newer version is running" };
    const previous = running;
    running = { version, jws, snapshot, loadedAt: new Date() };
    log("info", "config applied", { source, version, previousVersion: previous?.version ?? null });
    if (source !== "disk") {
      await writeFileAtomic(path.join(options.dataDir, SNAPSHOT_FILE), JSON.stringify({ version, jws })).catch((error: unknown) =>
        log("error", "could not persist the config snapshot", describeError(error)),
      );
    }
    try {
      events.emit("change", running, previous);
    } catch (error) {
      log("error", "config change listener failed", describeError(error));
    }
    if (source === "push") void heartbeat();
    return { status: 200, runningVersion: version };
  }

  async function loadFromDisk() {
    let raw: string;
    try {
      raw = await readFile(path.join(options.dataDir, SNAPSHOT_FILE), "utf8");
    } catch {
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      log("error", "the saved config snapshot is not JSON; ignoring it");
      return;
    }
    const outcome = await apply(body, "disk");
    if (outcome.status !== 200) log("error", "the saved config snapshot was refused", { reason: outcome.reason });
  }

  /** Pulls the latest version. Resolves true when the control plane answered (even "none yet"). */
  async function pull(): Promise<boolean> {
    try {
      const res = await fetchImpl(`${cp}/api/internal/config/latest`, { headers: authHeaders(), signal: AbortSignal.timeout(10_000) });
      if (res.status === 404) return true;
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      contacted();
      const outcome = await apply(await res.json(), "pull");
      if (outcome.status === 422) log("error", "the control plane's latest config was refused", { reason: outcome.reason });
      return true;
    } catch (error) {
      log("warn", "config pull failed; serving the last good snapshot", { runningVersion: running?.version ?? null, ...describeError(error) });
      return false;
    }
  }

  /** Keeps pulling with backoff until the control plane answers once. */
  function pullUntilReached() {
    if (closed) return;
    clearTimeout(pullTimer);
    void pull().then((ok) => {
      if (ok || closed) {
        pullFailures = 0;
        return;
      }
      pullFailures += 1;
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(pullFailures, 10)) * (0.5 + Math.random() / 2);
      pullTimer = setTimeout(pullUntilReached, delay);
      pullTimer.unref();
    });
  }

  /** The control plane answered: whatever waits on it (the audit spool's backoff) may try again now. */
  function contacted() {
    lastContactAt = new Date();
    events.emit("contact");
  }

  async function heartbeat(): Promise<void> {
    if (closed) return;
    try {
      const res = await fetchImpl(`${cp}/api/internal/gateways/heartbeat`, {
        method: "POST",
        headers: { ...authHeaders(), "content-type": "application/json" },
        body: JSON.stringify({ ...options.report?.(), name: options.gatewayName, url: options.gatewayUrl, runningVersion: running?.version ?? null, startedAt }),
        signal: AbortSignal.timeout(5_000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      contacted();
      const { latestVersion } = (await res.json()) as { latestVersion?: unknown };
      if (typeof latestVersion === "number" && latestVersion > (running?.version ?? -1)) pullUntilReached();
    } catch (error) {
      log("debug", "heartbeat failed", describeError(error));
    }
  }

  return {
    /** The snapshot every request reads; replaced whole, never mutated. */
    current(): Running<S> | null {
      return running;
    },
    lastContactAt: () => lastContactAt,
    onChange(listener: (next: Running<S>, previous: Running<S> | null) => void) {
      events.on("change", listener);
      return () => events.off("change", listener);
    },
    /** Called whenever the control plane answers a pull or a heartbeat. */
    onContact(listener: () => void) {
      events.on("contact", listener);
      return () => events.off("contact", listener);
    },
    /** Loads the last good snapshot from disk, then pulls and heartbeats in the background. */
    async start() {
      await mkdir(options.dataDir, { recursive: true });
      await loadKeysFromDisk();
      await loadFromDisk();
      pullUntilReached();
      void heartbeat();
      heartbeatTimer = setInterval(() => void heartbeat(), heartbeatMs);
      heartbeatTimer.unref();
    },
    /** A push from the control plane (`POST /internal/config`). */
    accept(body: unknown): Promise<ApplyOutcome> {
      return apply(body, "push");
    },
    pull,
    heartbeat,
    close() {
      closed = true;
      clearInterval(heartbeatTimer);
      clearTimeout(pullTimer);
      events.removeAllListeners();
    },
  };
}
