import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import type { ConfigSnapshot } from "@/lib/config/snapshot";
import { startGateway, type Gateway, type GatewayDeps } from "@/gateway/gateway";
import { createPolicyAdapter } from "@/gateway/policy";
import { buildGatewayState } from "@/gateway/portal-index";
import { normalizeSnapshot, snapshotVersion, verifySignedConfig } from "@/gateway/snapshot-state";

import type { RouteModule } from "./route-router";

/**
 * The control plane's routes a gateway calls: its signed config and the keys to check it and
 * tokens with, heartbeats, audit events. For `listenAsControlPlane(...).serve`, beside a test's own.
 * Import this module after the environment is set: route modules read it.
 */
export const gatewayRoutes: Array<[RegExp, RouteModule]> = [
  [/^\/api\/internal\/config\/latest$/, await import("@/app/api/internal/config/latest/route")],
  [/^\/api\/internal\/config\/jwks$/, await import("@/app/api/internal/config/jwks/route")],
  [/^\/api\/internal\/gateways\/heartbeat$/, await import("@/app/api/internal/gateways/heartbeat/route")],
  [/^\/api\/internal\/audit\/ingest$/, await import("@/app/api/internal/audit/ingest/route")],
];

export type InProcessGatewayOptions = {
  controlPlaneUrl: string;
  gatewayToken: string;
  name: string;
  /** The URL tokens are issued for, whose port it listens on; when omitted, it listens on any free port and is named by it. */
  gatewayUrl?: string;
  tracing?: GatewayDeps<ConfigSnapshot>["tracing"];
  /** Awaited before each config version is verified: a test's stand-in for a gateway under load. */
  beforeVerify?: () => Promise<void>;
};

/**
 * A real gateway in the test's own process, pulling its config from a control plane the test runs
 * (testing/control-plane.ts) and wired as gateway/main.ts wires it, audit events aside. Resolves
 * once the gateway has a snapshot and has reported in: the control plane pushes new versions only
 * to gateways it knows. `close` also removes its data directory.
 */
export async function startInProcessGateway(db: { gateway: { count(): Promise<number> } }, options: InProcessGatewayOptions): Promise<Gateway<ConfigSnapshot>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `portico-${options.name}-`));
  const gateway = await startGateway(
    {
      port: options.gatewayUrl ? Number(new URL(options.gatewayUrl).port) : 0,
      host: "127.0.0.1",
      controlPlaneUrl: options.controlPlaneUrl,
      gatewayUrl: options.gatewayUrl ?? "http://127.0.0.1:0",
      gatewayToken: options.gatewayToken,
      gatewayName: options.name,
      credentialKey: undefined,
      dataDir,
      allowedOrigins: [],
      upstreamTimeoutMs: 5_000,
    },
    {
      verifySnapshot: async (jws, getKey) => {
        await options.beforeVerify?.();
        return verifySignedConfig(jws, getKey);
      },
      versionOf: snapshotVersion,
      buildState: (snapshot, gatewayUrl, previous) => buildGatewayState(normalizeSnapshot(snapshot), gatewayUrl, createPolicyAdapter(snapshot), previous),
      emit: () => undefined,
      urlFromBoundPort: !options.gatewayUrl,
      tracing: options.tracing,
    },
  );
  const close = async () => {
    await gateway.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await db.gateway.count()) || !gateway.state()) {
    if (Date.now() > deadline) {
      await close();
      throw new Error("the gateway did not report in");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ...gateway, close };
}
