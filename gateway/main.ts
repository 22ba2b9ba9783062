/**
 * The gateway process: `node dist/gateway.mjs`, this file bundled (`npm run build:gateway`), or
 * `node --import tsx gateway/main.ts` from the sources. Configuration comes from the
 * environment (see env.ts); the config itself comes signed from the control plane.
 */
import path from "node:path";

import { createAuditSpool } from "./audit-spool";
import { readGatewayEnv } from "./env";
import { startGateway } from "./gateway";
import { describeError, log } from "./log";
import { createPolicyAdapter } from "./policy";
import { buildGatewayState } from "./portal-index";
import { normalizeSnapshot, snapshotVersion, verifySignedConfig } from "./snapshot-state";

/** Of the 10 s a stop may take, how long to try delivering the spooled audit events. */
const SHUTDOWN_FLUSH_MS = 5_000;

async function main() {
  const env = readGatewayEnv();
  if (!env.gatewayToken) {
    // Without it the gateway can neither pull config nor deliver audit events: refuse to start.
    throw new Error("PORTICO_GATEWAY_TOKEN is not set (the shared secret with the control plane, at least 32 characters)");
  }
  if (!env.credentialKey) log("warn", "neither PORTICO_GATEWAY_CREDENTIAL_KEY nor PORTICO_SECRET_KEY is set: upstreams with sealed header credentials will be unavailable");

  // OpenTelemetry only when asked for: loaded on demand, so a gateway without it never imports the SDK.
  const otlpEndpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracing = otlpEndpoint ? (await import("./tracing")).createTracing({ endpoint: otlpEndpoint, serviceName: process.env.OTEL_SERVICE_NAME }) : null;
  if (tracing) log("info", "traces exported over OTLP", { endpoint: otlpEndpoint });

  const spool = createAuditSpool({ dir: path.join(env.dataDir, "audit-spool"), controlPlaneUrl: env.controlPlaneUrl, token: env.gatewayToken });
  const gateway = await startGateway(env, {
    verifySnapshot: verifySignedConfig,
    versionOf: snapshotVersion,
    buildState: (snapshot, gatewayUrl, previous) => buildGatewayState(normalizeSnapshot(snapshot), gatewayUrl, createPolicyAdapter(snapshot), previous),
    emit: spool.emit,
    spoolDepth: spool.depth,
    deadLetters: spool.deadLetters,
    replayDeadLetters: spool.replayDeadLetters,
    defaultMetrics: true,
    tracing,
  });
  // A backlog from a control plane outage goes out as soon as the control plane answers again.
  gateway.store.onContact(() => spool.retryNow());
  for (const slug of gateway.state()?.portals.keys() ?? []) log("info", "portal served", { url: `${env.gatewayUrl}/mcp/${slug}` });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "gateway stopping", { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await gateway.close().catch((error: unknown) => log("error", "closing the gateway failed", describeError(error)));
    // A replica scaled down may never start again on this disk: deliver what it can first. What
    // is left after the deadline stays spooled for the next start on the same data dir.
    const deadline = new Promise<"late">((resolve) => setTimeout(() => resolve("late"), SHUTDOWN_FLUSH_MS).unref());
    const flushed = await Promise.race([spool.flush().then(() => "done" as const), deadline]).catch(() => "failed" as const);
    if (flushed !== "done") log("warn", "audit events left in the spool at shutdown; a gateway started on this data dir delivers them", { pending: spool.depth() });
    // Last: events of requests answered while closing are still spooled and synced to disk.
    await spool.close().catch((error: unknown) => log("error", "closing the audit spool failed", describeError(error)));
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((error: unknown) => {
  log("error", "gateway failed to start", describeError(error));
  process.exit(1);
});
