import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

import { signSnapshot } from "@/lib/config/signing";
import type { ConfigSnapshot } from "@/lib/config/snapshot";
import type { RiskClass } from "@/lib/schemas/common";
import { DEMO_RISK_CLASSES, type RunningDemoServers } from "@/demo/servers";

import { liveDefinitionHash } from "../upstreams";
import { startFakeControlPlane, type FakeControlPlane } from "./fake-control-plane";
import { GATEWAY_TOKEN, PORTAL, SERVICE_ACCOUNT } from "./harness";

/**
 * The control plane as a gateway process sees it, for fault tests: the fake control plane's
 * config, JWKS and heartbeat routes, and an ingest route that stores batches with whatever `store`
 * the test gives it (the real `ingestAuditEvents` on a test database), so "exactly once" is checked
 * where it is decided. The test can make the ingest answer 503, hold one batch at a chosen point,
 * or stop the whole thing listening (connections refused) and start it again on the same port.
 *
 * It takes `store` rather than importing the control plane's ingest itself: nothing under
 * gateway/ reaches into lib/server, test helpers included; only test files wire the two.
 */

export type IngestCounts = { accepted: number; duplicates: number };

export type ControlPlaneStandInOptions = {
  /** Stores a batch; throws what the real route would turn into an error answer. */
  store: (events: unknown[]) => Promise<IngestCounts>;
  /** The answer for an error `store` threw, as the real route gives it; null for an unexpected one (500). */
  problemOf?: (error: unknown) => { status: number; body: unknown } | null;
};

/** One ingest request held on its way: stored only when told, answered only when told. */
export type HeldIngest = {
  /** Resolves with the batch's size once a request has come in and is waiting. */
  arrived: Promise<number>;
  /** Stores the held batch; resolves once it is in the database (the answer is still held). */
  store(): Promise<IngestCounts>;
  /** Sends the answer, if its gateway is still there to read it. */
  answer(): void;
};

export type ControlPlaneStandIn = Awaited<ReturnType<typeof startControlPlaneStandIn>>;

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export async function startControlPlaneStandIn(options: ControlPlaneStandInOptions) {
  const configKeys = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const asKeys = await generateKeyPair("RS256", { extractable: true });
  const configJwk: JWK = { ...(await exportJWK(configKeys.publicKey)), kid: "cfg-1", alg: "EdDSA", use: "sig" };
  const asJwk: JWK = { ...(await exportJWK(asKeys.publicKey)), kid: "as-1", alg: "RS256", use: "sig" };

  const ingest = {
    /** Answer 503 without storing: the control plane is up but cannot take events. */
    isUnavailable: false,
    /** Requests answered 503 because of `isUnavailable`. */
    refused: 0,
    accepted: 0,
    duplicates: 0,
    /** Errors `store` threw: a gateway should never send a batch the control plane refuses. */
    errors: [] as unknown[],
  };
  type Hold = { arrived: (size: number) => void; store: Promise<void>; stored: ReturnType<typeof deferred<IngestCounts>>; answer: Promise<void> };
  let nextHold: Hold | null = null;

  const cp: FakeControlPlane = await startFakeControlPlane({
    token: GATEWAY_TOKEN,
    configJwks: { keys: [configJwk] },
    oauthJwks: { keys: [asJwk] },
    async ingest(events) {
      const hold = nextHold;
      nextHold = null;
      if (hold) {
        hold.arrived(events.length);
        await hold.store;
      }
      if (ingest.isUnavailable) {
        ingest.refused += 1;
        return { status: 503, body: { status: 503, code: "unavailable", title: "Unavailable for the test" } };
      }
      let counts: IngestCounts;
      try {
        counts = await options.store(events);
      } catch (error) {
        ingest.errors.push(error);
        hold?.stored.reject(error);
        const problem = options.problemOf?.(error);
        if (!problem) throw error;
        return problem;
      }
      ingest.accepted += counts.accepted;
      ingest.duplicates += counts.duplicates;
      if (hold) {
        hold.stored.resolve(counts);
        await hold.answer;
      }
      return { status: 200, body: counts };
    },
  });

  const sign = (snapshot: ConfigSnapshot) => signSnapshot(snapshot, configKeys.privateKey, "cfg-1");

  return {
    /** The fake underneath: `url`, `latest`, `heartbeats`, `requests`, `stop()` and `start()`. */
    cp,
    get url() {
      return cp.url;
    },
    ingest,
    sign,
    /** Signs the snapshot and makes it the version `GET /api/internal/config/latest` answers. */
    async publish(snapshot: ConfigSnapshot) {
      cp.latest = { version: snapshot.version, jws: await sign(snapshot) };
      return cp.latest;
    },
    /** An access token from the "authorization server", for the service account the demo role names. */
    mintToken(audience: string) {
      return new SignJWT({ client_id: SERVICE_ACCOUNT, scope: "mcp", portico_kind: "service_account" })
        .setProtectedHeader({ alg: "RS256", kid: "as-1" })
        .setSubject(SERVICE_ACCOUNT)
        .setIssuer(`${cp.url}/oauth`)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime("15m")
        .sign(asKeys.privateKey);
    },
    /** Holds the next ingest request: see HeldIngest. */
    holdNextIngest(): HeldIngest {
      const arrived = deferred<number>();
      const store = deferred();
      const stored = deferred<IngestCounts>();
      const answer = deferred();
      nextHold = { arrived: arrived.resolve, store: store.promise, stored, answer: answer.promise };
      return {
        arrived: arrived.promise,
        store() {
          store.resolve();
          return stored.promise;
        },
        answer: () => answer.resolve(),
      };
    },
    close: () => cp.close(),
  };
}

/**
 * The demo portal over the bundled demo servers: every tool offered, read tools granted to the
 * service account, write tools behind step-up, financial and destructive ones denied.
 */
export async function demoPortal(demo: RunningDemoServers, issuer: string) {
  const servers: { slug: string; url: string; tools: Tool[] }[] = [];
  for (const server of demo.servers) {
    const client = new Client({ name: "stand-in", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    const { tools } = await client.listTools();
    await client.close();
    servers.push({ slug: server.id, url: server.url, tools });
  }
  const riskOf = (slug: string, tool: string): RiskClass => (DEMO_RISK_CLASSES[slug]?.[tool] as RiskClass | undefined) ?? "read";

  return (version: number): ConfigSnapshot => ({
    version,
    createdAt: new Date().toISOString(),
    issuer,
    revocations: [],
    portals: [
      {
        slug: PORTAL,
        name: "FinOps",
        allowlistMode: false,
        servers: servers.map((s) => ({
          slug: s.slug,
          name: s.slug,
          url: s.url,
          transport: "streamable_http",
          credential: { kind: "none" },
          tools: s.tools.map((t) => ({
            name: t.name,
            exposedName: `${s.slug}_${t.name}`,
            title: t.title ?? null,
            description: t.description ?? "",
            inputSchema: t.inputSchema,
            ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
            ...(t.annotations ? { annotations: t.annotations } : {}),
            riskClass: riskOf(s.slug, t.name),
            definitionHash: liveDefinitionHash(t),
          })),
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
  });
}
