import path from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from "jose";

/**
 * What a bench needs to run the real gateway as a deployment would: the signed config snapshot a
 * control plane publishes, the OAuth keys it signs tokens with, and the gateway wired as
 * gateway/main.ts wires it (real audit spool on disk). Shared by gateway-overhead and
 * gateway-memory so that both measure the same gateway.
 */

export const GATEWAY_TOKEN = "bench-gateway-token-0123456789abcdef-0123456789";
export const SERVICE_ACCOUNT = "sa-bench";

export type BenchServer = { slug: string; name: string; url: string; tools: Tool[]; riskOf?: (tool: string) => "read" | "write" };
export type BenchPortal = { slug: string; name: string; servers: BenchServer[] };

export type BenchKeys = {
  configPrivate: CryptoKey;
  asPrivate: CryptoKey;
  configJwks: JSONWebKeySet;
  oauthJwks: JSONWebKeySet;
};

export async function discoverTools(url: string): Promise<Tool[]> {
  const client = new Client({ name: "bench-discover", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const { tools } = await client.listTools();
  await client.close();
  return tools;
}

export async function createBenchKeys(): Promise<BenchKeys> {
  const configKeys = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const asKeys = await generateKeyPair("RS256", { extractable: true });
  const configJwk: JWK = { ...(await exportJWK(configKeys.publicKey)), kid: "cfg-1", alg: "EdDSA", use: "sig" };
  const asJwk: JWK = { ...(await exportJWK(asKeys.publicKey)), kid: "as-1", alg: "RS256", use: "sig" };
  return { configPrivate: configKeys.privateKey, asPrivate: asKeys.privateKey, configJwks: { keys: [configJwk] }, oauthJwks: { keys: [asJwk] } };
}

/** The snapshot a control plane would publish, signed: the upstreams' tools pinned as discovered. */
export async function signBenchSnapshot(keys: BenchKeys, controlPlaneUrl: string, portals: BenchPortal[]): Promise<{ version: number; jws: string }> {
  const { liveDefinitionHash } = await import("@/gateway/upstreams");
  const { signSnapshot } = await import("@/lib/config/signing");
  const snapshot = {
    version: 1,
    createdAt: new Date().toISOString(),
    issuer: controlPlaneUrl,
    revocations: [],
    portals: portals.map((portal) => ({
      slug: portal.slug,
      name: portal.name,
      allowlistMode: false,
      servers: portal.servers.map((server) => ({
        slug: server.slug,
        name: server.name,
        url: server.url,
        transport: "streamable_http" as const,
        credential: { kind: "none" as const },
        tools: server.tools.map((t) => ({
          name: t.name,
          exposedName: `${server.slug}_${t.name}`,
          title: t.title ?? null,
          description: t.description ?? "",
          inputSchema: t.inputSchema,
          ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
          ...(t.annotations ? { annotations: t.annotations } : {}),
          riskClass: server.riskOf?.(t.name) ?? ("read" as const),
          definitionHash: liveDefinitionHash(t),
        })),
      })),
    })),
    // Conditions on, so the evaluator does more than match a grant: a network check and a look-back cap.
    roles: [
      {
        slug: "analyst",
        name: "Analyst",
        principals: [{ kind: "service_account" as const, value: SERVICE_ACCOUNT }],
        grants: portals.map((p) => ({ portalSlug: p.slug, serverSlug: null, toolName: null, riskClasses: ["read" as const] })),
        stepUpRiskClasses: ["write" as const],
        conditions: { timeWindows: [], networks: ["10.0.0.0/8", "127.0.0.0/8", "::1/128"], mfaRequired: false, maxLookbackDays: 400 },
      },
    ],
  };
  return { version: snapshot.version, jws: await signSnapshot(snapshot, keys.configPrivate, "cfg-1") };
}

/** Service-account tokens for one portal, as the authorization server issues them: one per client. */
export function mintTokens(keys: BenchKeys, controlPlaneUrl: string, portalUrl: string, count: number, prefix = "bench"): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      new SignJWT({ client_id: SERVICE_ACCOUNT, scope: "mcp", portico_kind: "service_account", jti: `${prefix}-${i}` })
        .setProtectedHeader({ alg: "RS256", kid: "as-1" })
        .setSubject(SERVICE_ACCOUNT)
        .setIssuer(`${controlPlaneUrl}/oauth`)
        .setAudience(portalUrl)
        .setIssuedAt()
        .setExpirationTime("2h")
        .sign(keys.asPrivate),
    ),
  );
}

/**
 * The gateway as gateway/main.ts wires it, listening on a free port of 127.0.0.1, its audit spool
 * in `dataDir`; resolves once it serves the control plane's snapshot.
 */
export async function startBenchGateway(options: { controlPlaneUrl: string; dataDir: string; traceEndpoint?: string }) {
  // PORTICO_BENCH_VERBOSE=1 shows the gateway's warnings (an upstream timing out, say) when a run has failures.
  process.env.PORTICO_GATEWAY_QUIET = process.env.PORTICO_BENCH_VERBOSE === "1" ? "0" : "1";
  const { createAuditSpool } = await import("@/gateway/audit-spool");
  const { startGateway } = await import("@/gateway/gateway");
  const { createPolicyAdapter } = await import("@/gateway/policy");
  const { buildGatewayState } = await import("@/gateway/portal-index");
  const { normalizeSnapshot, snapshotVersion, verifySignedConfig } = await import("@/gateway/snapshot-state");

  const { readGatewayEnv } = await import("@/gateway/env");
  const { sessionIdleMs, detachedIdleMs, maxSessions, upstreamMaxSockets } = readGatewayEnv(process.env);
  const sessionSettings = { sessionIdleMs, detachedIdleMs, maxSessions, upstreamMaxSockets };

  const spool = createAuditSpool({ dir: path.join(options.dataDir, "audit-spool"), controlPlaneUrl: options.controlPlaneUrl, token: GATEWAY_TOKEN });
  const gateway = await startGateway(
    {
      port: 0,
      host: "127.0.0.1",
      controlPlaneUrl: options.controlPlaneUrl,
      gatewayUrl: "http://127.0.0.1:0",
      gatewayToken: GATEWAY_TOKEN,
      gatewayName: "bench-gateway",
      credentialKey: undefined,
      dataDir: options.dataDir,
      allowedOrigins: [],
      upstreamTimeoutMs: 30_000,
      // Session timeouts, cap and upstream sockets as production reads them (defaults, or PORTICO_GATEWAY_* set for the run).
      ...sessionSettings,
    },
    {
      verifySnapshot: verifySignedConfig,
      versionOf: snapshotVersion,
      buildState: (s, gatewayUrl, previous) => buildGatewayState(normalizeSnapshot(s), gatewayUrl, createPolicyAdapter(s), previous),
      emit: spool.emit,
      spoolDepth: spool.depth,
      defaultMetrics: true,
      urlFromBoundPort: true,
      // As gateway/main.ts does with OTEL_EXPORTER_OTLP_ENDPOINT: the SDK is loaded only when asked for.
      tracing: options.traceEndpoint ? (await import("@/gateway/tracing")).createTracing({ endpoint: options.traceEndpoint, serviceName: "portico-bench" }) : null,
    },
  );
  gateway.store.onContact(() => spool.retryNow());
  const deadline = Date.now() + 10_000;
  while (!gateway.state()) {
    if (Date.now() > deadline) {
      await gateway.close();
      await spool.close();
      throw new Error("the gateway did not load its config snapshot");
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    gateway,
    spool,
    async close() {
      await gateway.close().catch(() => undefined);
      await spool.close().catch(() => undefined);
    },
  };
}

/**
 * The stand-in control plane both benches run: ingest counts distinct event ids (what the real
 * route would store) and the tools/call events among them, instead of keeping the events.
 */
export async function startCountingControlPlane() {
  const { startFakeControlPlane } = await import("@/gateway/testing/fake-control-plane");
  const ingested = new Set<string>();
  const counts = { events: 0, toolCalls: 0 };
  const cp = await startFakeControlPlane({
    token: GATEWAY_TOKEN,
    configJwks: { keys: [] },
    oauthJwks: { keys: [] },
    ingest: async (events) => {
      const before = ingested.size;
      for (const event of events as Array<{ id?: unknown; action?: unknown }>) {
        if (ingested.has(String(event.id))) continue;
        ingested.add(String(event.id));
        if (event.action === "tools/call") counts.toolCalls++;
      }
      counts.events = ingested.size;
      const accepted = ingested.size - before;
      return { status: 200, body: { accepted, duplicates: events.length - accepted } };
    },
  });
  return { cp, counts };
}

