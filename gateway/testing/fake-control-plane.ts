import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import type { JSONWebKeySet } from "jose";

/**
 * A stand-in for the control plane's internal API and its OAuth JWKS, over real HTTP.
 *
 * Acceptable for the gateway's own tests only: it implements the contract in
 * /tmp/gateway-contract.md (latest, jwks, heartbeat, ingest, /oauth/jwks) and nothing else. The real
 * control plane routes are tested against a real database elsewhere; here the subject under test
 * is the gateway, and a fake keeps these tests fast and lets them stop and restart the "control
 * plane" at will.
 */
export type FakeControlPlane = {
  url: string;
  token: string;
  latest: { version: number; jws: string } | null;
  configJwks: JSONWebKeySet;
  oauthJwks: JSONWebKeySet;
  heartbeats: { name: string; url: string; runningVersion: number | null }[];
  ingested: Record<string, unknown>[];
  requests: { method: string; path: string; authorized: boolean }[];
  /** Stops answering (connections refused) until `start()`; keeps its port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Takes over `POST /api/internal/audit/ingest` (after the token check): the batch's `events` in,
 * the status and JSON body to answer out. Without one, events are kept in `ingested`.
 */
export type FakeIngestHandler = (events: unknown[]) => Promise<{ status: number; body: unknown }>;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export async function startFakeControlPlane(options: {
  token: string;
  configJwks: JSONWebKeySet;
  oauthJwks: JSONWebKeySet;
  ingest?: FakeIngestHandler;
  /** Takes over `POST /api/internal/gateways/heartbeat` (after the token check): the body in, the answer out. */
  heartbeat?: (body: unknown) => Promise<{ status: number; body: unknown }>;
}): Promise<FakeControlPlane> {
  let server: Server | null = null;
  let port = 0;

  const cp: FakeControlPlane = {
    url: "",
    token: options.token,
    latest: null,
    configJwks: options.configJwks,
    oauthJwks: options.oauthJwks,
    heartbeats: [],
    ingested: [],
    requests: [],
    async stop() {
      const s = server;
      server = null;
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    async start() {
      if (server) return;
      const s = createServer((req, res) => {
        handle(req, res).catch(() => send(res, 500, { error: "fake control plane failed" }));
      });
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(port, "127.0.0.1", () => resolve());
      });
      port = (s.address() as AddressInfo).port;
      cp.url = `http://127.0.0.1:${port}`;
      server = s;
    },
    async close() {
      await cp.stop();
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?")[0]!;
    const authorized = req.headers.authorization === `Bearer ${cp.token}`;
    cp.requests.push({ method: req.method ?? "", path, authorized });
    if (req.method === "GET" && path === "/oauth/jwks") return send(res, 200, cp.oauthJwks);
    if (req.method === "GET" && path === "/api/internal/config/jwks") return send(res, 200, cp.configJwks);
    if (!authorized) return send(res, 401, { error: "a valid gateway token is required" });
    if (req.method === "GET" && path === "/api/internal/config/latest") {
      return cp.latest ? send(res, 200, cp.latest) : send(res, 404, { error: "no config version yet" });
    }
    if (req.method === "POST" && path === "/api/internal/gateways/heartbeat") {
      const body = await readJson(req);
      cp.heartbeats.push(body as FakeControlPlane["heartbeats"][number]);
      if (options.heartbeat) {
        const answer = await options.heartbeat(body);
        return send(res, answer.status, answer.body);
      }
      return send(res, 200, { latestVersion: cp.latest?.version ?? null });
    }
    if (req.method === "POST" && path === "/api/internal/audit/ingest") {
      const { events } = (await readJson(req)) as { events: Record<string, unknown>[] };
      if (options.ingest) {
        const answer = await options.ingest(events);
        return send(res, answer.status, answer.body);
      }
      const seen = new Set(cp.ingested.map((e) => e.id));
      let accepted = 0;
      for (const event of events) {
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        cp.ingested.push(event);
        accepted += 1;
      }
      return send(res, 200, { accepted, duplicates: events.length - accepted });
    }
    return send(res, 404, { error: "not found" });
  }

  await cp.start();
  return cp;
}
