import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ClientCapabilities, Tool } from "@modelcontextprotocol/sdk/types.js";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

import type { AuditEventInput } from "@/lib/audit/event";
import { deriveGatewayCredentialKey, sealCredential } from "@/lib/config/sealed-credential";
import { signSnapshot } from "@/lib/config/signing";
import type { ConfigSnapshot, SnapshotCredential } from "@/lib/config/snapshot";
import type { RiskClass } from "@/lib/schemas/common";
import { DEMO_RISK_CLASSES, startDemoServers, type RunningDemoServers } from "@/demo/servers";

import type { GatewayEnv } from "../env";
import { startGateway, type Gateway, type GatewayDeps } from "../gateway";
import { buildGatewayState } from "../portal-index";
import { normalizeSnapshot, snapshotVersion, verifySignedConfig } from "../snapshot-state";
import { liveDefinitionHash } from "../upstreams";
import { startProbeUpstream } from "./probe-upstream";
import { startFakeControlPlane, type FakeControlPlane } from "./fake-control-plane";
import { createPolicyAdapter } from "../policy";

export const GATEWAY_TOKEN = "test-gateway-token-0123456789abcdef-0123456789";
export const SERVICE_ACCOUNT = "sa-analyst";
export const PORTAL = "finops";

/** A port nothing listens on: an upstream that is down. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function upstreamTools(url: string): Promise<Tool[]> {
  const client = new Client({ name: "harness", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  const { tools } = await client.listTools();
  await client.close();
  return tools;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

export type HarnessOptions = {
  /**
   * More upstreams in the demo portal, such as a third-party MCP server a test started itself.
   * Their tools are discovered at start and offered as `<slug>_<tool>`, risk class read.
   */
  extraServers?: { slug: string; url: string }[];
  /** Also hands each event here, such as a real audit spool delivering to a test database. */
  emit?: (event: AuditEventInput) => void;
  /** A real audit spool's dead-letter report and replay, wired as gateway/main.ts wires them. */
  deadLetters?: GatewayDeps<ConfigSnapshot>["deadLetters"];
  replayDeadLetters?: GatewayDeps<ConfigSnapshot>["replayDeadLetters"];
  /** OpenTelemetry traces, as gateway/main.ts wires them when an OTLP endpoint is set. */
  tracing?: GatewayDeps<ConfigSnapshot>["tracing"];
  /** Settings over the harness's own, such as shorter session timeouts. */
  env?: Partial<GatewayEnv>;
};

/**
 * Real pieces everywhere but the control plane: the bundled demo MCP servers on free ports, a
 * gateway on a free port, and a fake control plane (see fake-control-plane.ts for why).
 */
export async function startHarness(options: HarnessOptions = {}) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "portico-gw-"));
  const demo: RunningDemoServers = await startDemoServers({ ports: { "cost-explorer": 0, tagging: 0, budgets: 0 } });
  const urlOf = (id: string) => demo.servers.find((s) => s.id === id)!.url;
  const downUrl = `http://127.0.0.1:${await deadPort()}/mcp`;

  const configKeys = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const asKeys = await generateKeyPair("RS256", { extractable: true });
  const configJwk: JWK = { ...(await exportJWK(configKeys.publicKey)), kid: "cfg-1", alg: "EdDSA", use: "sig" };
  process.env.PORTICO_TEST_PROBE_KEY = "probe-secret-value";
  const probe = await startProbeUpstream({ transport: "streamable_http" });
  const legacy = await startProbeUpstream({ transport: "sse" });
  const asJwk: JWK = { ...(await exportJWK(asKeys.publicKey)), kid: "as-1", alg: "RS256", use: "sig" };
  const cp: FakeControlPlane = await startFakeControlPlane({ token: GATEWAY_TOKEN, configJwks: { keys: [configJwk] }, oauthJwks: { keys: [asJwk] } });

  const tools: Record<string, Tool[]> = {
    "cost-explorer": await upstreamTools(urlOf("cost-explorer")),
    tagging: await upstreamTools(urlOf("tagging")),
    budgets: await upstreamTools(urlOf("budgets")),
    probe: await upstreamTools(probe.url),
    legacy: [{ name: "echo", description: "Echoes its input.", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } }],
    ledger: [{ name: "get_ledger", description: "Reads the ledger.", inputSchema: { type: "object" } }],
  };
  const servers = [
    { slug: "budgets", url: urlOf("budgets") },
    { slug: "cost-explorer", url: urlOf("cost-explorer") },
    { slug: "ledger", url: downUrl },
    { slug: "legacy", url: legacy.url },
    { slug: "probe", url: probe.url },
    { slug: "tagging", url: urlOf("tagging") },
  ];
  for (const extra of options.extraServers ?? []) {
    tools[extra.slug] = await upstreamTools(extra.url);
    servers.push({ slug: extra.slug, url: extra.url });
  }
  const credentialKey = deriveGatewayCredentialKey(randomBytes(32));
  const credentialOf = (slug: string): SnapshotCredential =>
    slug === "probe"
      ? { kind: "reference", headerName: "x-api-key", ref: "env:PORTICO_TEST_PROBE_KEY" }
      : slug === "legacy"
        ? { kind: "header", headerName: "x-api-key", sealed: sealCredential("legacy-sealed-secret", credentialKey) }
        : { kind: "none" };
  const riskOf = (slug: string, tool: string): RiskClass => (DEMO_RISK_CLASSES[slug]?.[tool] as RiskClass | undefined) ?? "read";

  /**
   * The demo portal: every tool offered unless disabled or quarantined (left out, and named as the
   * control plane names it); the analyst may use read tools, write ones after step-up.
   */
  function snapshot(version: number, changes: { disabled?: string[]; quarantined?: string[]; acceptedHash?: Record<string, string>; revocations?: ConfigSnapshot["revocations"] } = {}): ConfigSnapshot {
    return {
      version,
      createdAt: new Date().toISOString(),
      issuer: cp.url,
      revocations: changes.revocations ?? [],
      portals: [
        {
          slug: PORTAL,
          name: "FinOps",
          allowlistMode: false,
          servers: servers.map((s) => ({
            slug: s.slug,
            name: s.slug,
            url: s.url,
            transport: s.slug === "legacy" ? "sse" : "streamable_http",
            credential: credentialOf(s.slug),
            tools: tools[s.slug]!
              .filter((t) => !changes.disabled?.includes(`${s.slug}_${t.name}`) && !changes.quarantined?.includes(`${s.slug}_${t.name}`))
              .map((t) => ({
                name: t.name,
                exposedName: `${s.slug}_${t.name}`,
                title: t.title ?? null,
                description: s.slug === "cost-explorer" && t.name === "list_accounts" ? "Cloud accounts, as Portico shows them." : (t.description ?? ""),
                inputSchema: t.inputSchema,
                ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
                ...(t.annotations ? { annotations: t.annotations } : {}),
                riskClass: riskOf(s.slug, t.name),
                definitionHash: changes.acceptedHash?.[`${s.slug}_${t.name}`] ?? liveDefinitionHash(t),
              })),
            ...(changes.quarantined?.some((name) => name.startsWith(`${s.slug}_`)) ? { quarantined: changes.quarantined.filter((name) => name.startsWith(`${s.slug}_`)) } : {}),
          })),
        },
      ],
      roles: [
        {
          slug: "analyst",
          name: "Analyst",
          principals: [{ kind: "service_account", value: SERVICE_ACCOUNT }],
          grants: [{ portalSlug: PORTAL, serverSlug: null, toolName: null, riskClasses: ["read"] }],
          stepUpRiskClasses: ["write"],
          conditions: { timeWindows: [], networks: [], mfaRequired: false, maxLookbackDays: null },
        },
      ],
    };
  }

  const sign = (s: ConfigSnapshot) => signSnapshot(s, configKeys.privateKey, "cfg-1");
  cp.latest = { version: 1, jws: await sign(snapshot(1)) };

  const events: AuditEventInput[] = [];
  const env: GatewayEnv = {
    port: 0,
    host: "127.0.0.1",
    controlPlaneUrl: cp.url,
    gatewayUrl: "http://127.0.0.1:0",
    gatewayToken: GATEWAY_TOKEN,
    gatewayName: "test-gateway",
    credentialKey,
    dataDir,
    allowedOrigins: ["https://portal.example.com"],
    upstreamTimeoutMs: 5_000,
    ...options.env,
  };
  async function waitForConfig(g: Gateway<ConfigSnapshot>, minVersion = 1) {
    const deadline = Date.now() + 10_000;
    while ((g.state()?.version ?? -1) < minVersion) {
      if (Date.now() > deadline) throw new Error("the gateway did not load a config snapshot");
      await new Promise((r) => setTimeout(r, 10));
    }
    return g;
  }
  const start = (overrides: Partial<GatewayEnv> = {}) =>
    startGateway({ ...env, ...overrides }, {
      verifySnapshot: verifySignedConfig,
      versionOf: snapshotVersion,
      buildState: (s, gatewayUrl, previous) => buildGatewayState(normalizeSnapshot(s), gatewayUrl, createPolicyAdapter(s), previous),
      emit: (event) => {
        events.push(event);
        options.emit?.(event);
      },
      urlFromBoundPort: true,
      deadLetters: options.deadLetters,
      replayDeadLetters: options.replayDeadLetters,
      tracing: options.tracing,
    });
  let gateway: Gateway<ConfigSnapshot> = await waitForConfig(await start());
  const peers: { gateway: Gateway<ConfigSnapshot>; dataDir: string }[] = [];
  const portalUrl = () => `${gateway.publicUrl}/mcp/${PORTAL}`;

  async function mintToken(claims: Record<string, unknown> = {}, options: { expiresIn?: string | number; audience?: string; issuer?: string; subject?: string } = {}) {
    return new SignJWT({ client_id: SERVICE_ACCOUNT, scope: "mcp", portico_kind: "service_account", ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "as-1" })
      .setSubject(options.subject ?? SERVICE_ACCOUNT)
      .setIssuer(options.issuer ?? `${cp.url}/oauth`)
      .setAudience(options.audience ?? portalUrl())
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? "15m")
      .sign(asKeys.privateKey);
  }

  /** Signs the demo portal's snapshot `version`, changed by `edit`, and returns once the gateway runs it. */
  async function publish(version: number, edit: (snapshot: ConfigSnapshot) => void = () => undefined) {
    const next = snapshot(version);
    edit(next);
    cp.latest = { version, jws: await sign(next) };
    await gateway.store.accept(cp.latest);
    await waitForConfig(gateway, version);
  }

  async function connect(token: string, url = portalUrl()): Promise<Client> {
    const client = new Client({ name: "harness-client", version: "1.2.3" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return client;
  }

  /**
   * A client of the portal, with a fresh token, declaring `capabilities`; `setup` gives it its
   * handlers (sampling, elicitation, roots) before it connects, as the upstream may ask at once.
   */
  async function connectDeclaring(capabilities: ClientCapabilities, setup?: (client: Client) => void): Promise<Client> {
    const client = new Client({ name: "harness-client", version: "1.2.3" }, { capabilities });
    setup?.(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(portalUrl()), { requestInit: { headers: { authorization: `Bearer ${await mintToken()}` } } }));
    return client;
  }

  return {
    cp,
    demo,
    probe,
    legacy,
    events,
    dataDir,
    get gateway() {
      return gateway;
    },
    portalUrl,
    waitForConfig: (minVersion: number) => waitForConfig(gateway, minVersion),
    snapshot,
    sign,
    publish,
    mintToken,
    connect,
    connectDeclaring,
    /**
     * Another gateway of the same fleet: the same control plane and credential key, its own name,
     * port and data directory. Tokens for it need its own audience (`peer.portalUrl`).
     */
    async startPeer(name = `test-gateway-${peers.length + 2}`) {
      const peerDir = await mkdtemp(path.join(os.tmpdir(), "portico-gw-peer-"));
      const peer = await waitForConfig(await start({ gatewayName: name, dataDir: peerDir }), gateway.state()?.version ?? 1);
      peers.push({ gateway: peer, dataDir: peerDir });
      return { gateway: peer, portalUrl: `${peer.publicUrl}/mcp/${PORTAL}` };
    },
    async restartGateway() {
      await gateway.close();
      gateway = await start();
    },
    async close() {
      for (const peer of peers) {
        await peer.gateway.close();
        await rm(peer.dataDir, { recursive: true, force: true });
      }
      await gateway.close();
      await cp.close();
      await demo.close();
      await probe.close();
      await legacy.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
