import "server-only";
import { z } from "zod";
import type { Db } from "./db/client";
import { AppError, notFound } from "@/lib/errors";
import { escapeUnstorable } from "@/lib/storable-text";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { iso } from "./pagination";
import { describeError, log } from "./log";
import { env } from "./env";
import { withSpan, withTraceHeaders } from "./tracing";
import { SpanKind } from "@opentelemetry/api";

export const heartbeatInput = z.object({
  name: z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9._-]+$/, "Use letters, digits, . _ -"),
  url: z.string().url().max(2048),
  runningVersion: z.number().int().min(0).nullable(),
  /** Absent from gateways older than the dead-letter report: their count is left as it was. */
  deadLetters: z
    .object({
      count: z.number().int().min(0),
      // The refusal's title, which may quote what a caller sent: stored escaped, never refused.
      lastReason: z
        .string()
        .nullable()
        .transform((reason) => (reason === null ? null : escapeUnstorable(reason.slice(0, 500)).text)),
      lastAt: z.iso.datetime().nullable(),
    })
    .optional(),
  // When the gateway process started; absent from gateways older than this field.
  startedAt: z.iso.datetime().optional(),
});

/** A gateway reporting in: remembered with the version it runs; answered with the latest one. */
export async function recordHeartbeat(db: Db, raw: unknown): Promise<{ latestVersion: number | null }> {
  const input = heartbeatInput.parse(raw);
  const deadLetters = input.deadLetters
    ? { deadLetterCount: input.deadLetters.count, deadLetterReason: input.deadLetters.lastReason, deadLetterAt: input.deadLetters.lastAt ? new Date(input.deadLetters.lastAt) : null }
    : {};
  await db.gateway.upsert({
    where: { name: input.name },
    create: { name: input.name, url: input.url, runningVersion: input.runningVersion, lastSeenAt: new Date(), startedAt: input.startedAt ?? null, ...deadLetters },
    update: { url: input.url, runningVersion: input.runningVersion, lastSeenAt: new Date(), ...(input.startedAt ? { startedAt: input.startedAt } : {}), ...deadLetters },
  });
  if (input.runningVersion !== null) await recordAck(db, input.name, input.runningVersion);
  return { latestVersion: await latestVersionNumber(db) };
}

/** The first time a gateway is known to run a version; later reports of it change nothing. */
async function recordAck(db: Db, gatewayName: string, version: number): Promise<void> {
  await db.gatewayVersionAck.createMany({ data: [{ gatewayName, version, ackedAt: new Date() }], skipDuplicates: true });
}

async function latestVersionNumber(db: Db): Promise<number | null> {
  const latest = await db.configVersion.findFirst({ orderBy: { version: "desc" }, select: { version: true } });
  return latest?.version ?? null;
}

/** The newest signed snapshot, as gateways pull it. The JWS carries the snapshot itself. */
export async function latestSignedConfig(db: Db): Promise<{ version: number; jws: string } | null> {
  const latest = await db.configVersion.findFirst({ orderBy: { version: "desc" }, select: { version: true, signature: true } });
  return latest ? { version: latest.version, jws: latest.signature } : null;
}

// A gateway that has not reported for this long is shown as offline: three missed heartbeats
// (gateway/config-store.ts sends one every 10 s).
export const OFFLINE_AFTER_MS = 30_000;

/** Reported within the offline window: a gateway that serves clients now. */
export const isLive = (lastSeenAt: Date | null, now = Date.now()) => Boolean(lastSeenAt && now - lastSeenAt.getTime() < OFFLINE_AFTER_MS);

export type GatewayView = {
  id: string;
  name: string;
  url: string;
  runningVersion: number | null;
  latestVersion: number | null;
  isBehind: boolean;
  isOnline: boolean;
  lastSeenAt: string | null;
  /** Audit events this gateway's spool set aside because the control plane refused them. */
  deadLetters: { count: number; lastReason: string | null; lastAt: string | null };
  /** When the running gateway process started. */
  startedAt: string | null;
  /** Started again within the last 10 minutes, after it had already reported from an earlier start. */
  hasRestartedRecently: boolean;
  /** Versions published that it does not run yet. */
  versionsBehind: number;
  /** How long the oldest version it lacks has been published, in ms; 0 when up to date. */
  lagMs: number;
  /** More than a minute behind: pushes and pulls both failed to bring it up to date. */
  isLagging: boolean;
  /** From publishing its running version to the gateway first running it, in ms; null when unknown. */
  publishToAckMs: number | null;
};

export const LAGGING_AFTER_MS = 60_000;

const RECENT_RESTART_MS = 10 * 60_000;

export async function listGateways(db: Db, actor: Actor): Promise<GatewayView[]> {
  authorize(actor, "registry:read");
  const [rows, latestVersion] = await Promise.all([db.gateway.findMany({ orderBy: { name: "asc" } }), latestVersionNumber(db)]);
  const now = Date.now();
  const running = [...new Set(rows.map((g) => g.runningVersion ?? 0))];
  const oldestRunning = Math.min(...running, latestVersion ?? 0);
  const [versions, acks] = await Promise.all([
    // Only versions some gateway still lacks, or runs: a bounded window, not the whole history.
    db.configVersion.findMany({ where: { version: { gte: oldestRunning } }, select: { version: true, createdAt: true }, orderBy: { version: "asc" } }),
    db.gatewayVersionAck.findMany({ where: { OR: rows.filter((g) => g.runningVersion !== null).map((g) => ({ gatewayName: g.name, version: g.runningVersion! })) } }),
  ]);
  const publishedAt = new Map(versions.map((v) => [v.version, v.createdAt.getTime()]));
  const fleet = (g: (typeof rows)[number]) => {
    const missing = versions.filter((v) => v.version > (g.runningVersion ?? 0));
    const lagMs = missing.length ? Math.max(0, now - missing[0]!.createdAt.getTime()) : 0;
    const ack = acks.find((a) => a.gatewayName === g.name && a.version === g.runningVersion);
    const published = g.runningVersion === null ? undefined : publishedAt.get(g.runningVersion);
    return {
      versionsBehind: missing.length,
      lagMs,
      isLagging: lagMs > LAGGING_AFTER_MS,
      publishToAckMs: ack && published !== undefined ? Math.max(0, ack.ackedAt.getTime() - published) : null,
    };
  };
  return rows.map((g) => ({
    ...fleet(g),
    id: g.id,
    name: g.name,
    url: g.url,
    runningVersion: g.runningVersion,
    latestVersion,
    isBehind: latestVersion !== null && (g.runningVersion ?? -1) < latestVersion,
    isOnline: isLive(g.lastSeenAt, now),
    lastSeenAt: iso(g.lastSeenAt),
    deadLetters: { count: g.deadLetterCount, lastReason: g.deadLetterReason, lastAt: iso(g.deadLetterAt) },
    startedAt: iso(g.startedAt),
    hasRestartedRecently: Boolean(g.startedAt && now - g.startedAt.getTime() < RECENT_RESTART_MS && g.startedAt > g.createdAt),
  }));
}

/**
 * Asks a gateway to re-queue its dead letters (once their cause is fixed: a control plane
 * upgraded, a bug in ingest corrected). Recorded in the audit trail; the count on the Gateways
 * page drops at the gateway's next heartbeat, or at once here.
 */
export async function replayGatewayDeadLetters(db: Db, actor: Actor, id: string): Promise<{ replayed: number }> {
  authorize(actor, "settings:write");
  const gateway = await db.gateway.findUnique({ where: { id } });
  if (!gateway) throw notFound("Gateway");
  const token = env().PORTICO_GATEWAY_TOKEN;
  if (!token) throw new AppError("unavailable", "PORTICO_GATEWAY_TOKEN is not set, so the control plane cannot reach gateways");
  let replayed: number;
  try {
    const res = await fetch(new URL("/internal/audit/replay-dead-letters", gateway.url), {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json().catch(() => ({}))) as { replayed?: unknown };
    if (!res.ok || typeof body.replayed !== "number") throw new Error(`HTTP ${res.status}`);
    replayed = body.replayed;
  } catch (error) {
    log("warn", "dead-letter replay failed", { gateway: gateway.name, ...describeError(error) });
    throw new AppError("upstream_failed", `The gateway ${gateway.name} could not be reached or did not replay its dead letters`);
  }
  await db.$transaction(async (tx) => {
    await tx.gateway.update({ where: { id }, data: { deadLetterCount: 0, deadLetterReason: null, deadLetterAt: null } });
    await recordConfigChange(tx, actor, {
      action: "gateway.replay_dead_letters",
      targetType: "gateway",
      targetId: gateway.name,
      before: { deadLetterCount: gateway.deadLetterCount, deadLetterReason: gateway.deadLetterReason },
      after: { replayed },
    });
  });
  return { replayed };
}

const PUSH_ATTEMPTS = 6;

/**
 * Pushes a version to every known gateway, retrying with backoff. Resolves (never rejects) once the
 * pushes to the gateways that reported lately have ended, which is what a write waits for: a
 * gateway gone for good must not slow every change down. The other pushes go on; a gateway that
 * misses every attempt still converges: its heartbeat learns the latest version and pulls.
 */
export function pushConfigToGateways(db: Db, config: { version: number; jws: string }): Promise<void> {
  const token = env().PORTICO_GATEWAY_TOKEN;
  if (!token) return Promise.resolve();
  let liveDone: (pushes: Promise<unknown>) => void = () => undefined;
  const live = new Promise<unknown>((resolve) => (liveDone = resolve));
  void withSpan("config.push", { "portico.config_version": config.version }, async (span) => {
    const gateways = await db.gateway.findMany({ select: { name: true, url: true, lastSeenAt: true } });
    span?.setAttribute("portico.gateways", gateways.length);
    const pushes = gateways.map(async (gateway) => {
      const isRunning = await withSpan(
        "POST /internal/config",
        { "portico.gateway": gateway.name, "http.request.method": "POST", "server.address": new URL(gateway.url).host },
        async (push) => {
          const outcome = await pushTo(gateway, config, token);
          push?.setAttribute("portico.gateway_runs_version", outcome);
          return outcome;
        },
        SpanKind.CLIENT,
      );
      // Recorded before the write is answered: a request's "in force" reads these acks.
      if (isRunning) await recordAck(db, gateway.name, config.version).catch(() => undefined);
    });
    const now = Date.now();
    liveDone(Promise.all(pushes.filter((_, i) => isLive(gateways[i]!.lastSeenAt, now))));
    await Promise.all(pushes);
  })
    .catch((error: unknown) => log("error", "pushing a config version failed", { version: config.version, ...describeError(error) }))
    .finally(() => liveDone(Promise.resolve()));
  return live.then(
    () => undefined,
    () => undefined,
  );
}

/** True once the gateway runs the version (or a newer one). */
async function pushTo(gateway: { name: string; url: string }, config: { version: number; jws: string }, token: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(new URL("/internal/config", gateway.url), {
        method: "POST",
        // W3C trace context of the push's span (when tracing is on): the gateway continues the trace.
        headers: withTraceHeaders({ authorization: `Bearer ${token}`, "content-type": "application/json" }),
        body: JSON.stringify(config),
        signal: AbortSignal.timeout(5_000),
      });
      // 409: it already runs this version or a newer one, which is success too.
      if (res.ok) return true;
      // 409: it already runs this version or a newer one, acknowledged earlier.
      if (res.status === 409) return false;
      if (res.status === 422) {
        log("error", "gateway refused a config version", { gateway: gateway.name, version: config.version });
        return false;
      }
      if (attempt === PUSH_ATTEMPTS) {
        log("warn", "config push failed", { gateway: gateway.name, version: config.version, status: res.status });
        return false;
      }
    } catch (error) {
      if (attempt === PUSH_ATTEMPTS) {
        log("warn", "config push failed", { gateway: gateway.name, version: config.version, ...describeError(error) });
        return false;
      }
    }
    await new Promise((r) => setTimeout(r, Math.min(8_000, 125 * 2 ** attempt) * (0.5 + Math.random())));
  }
}
