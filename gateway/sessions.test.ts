import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";

import { afterEach, describe, expect, it } from "vitest";

import type { TokenIdentity } from "./auth";
import { newRequestContext } from "./exchange";
import { createMetrics } from "./metrics";
import type { PortalView } from "./portal-index";
import { createSessions, type Session, type Sessions } from "./sessions";

/**
 * A legacy session's lifecycle on a real HTTP server: its GET stream (served by the gateway, not
 * the SDK transport) and what a session keeps between requests sent through the SDK.
 */

const identity: TokenIdentity = {
  kind: "service_account",
  subject: "sa-test",
  clientId: "sa-test",
  email: null,
  groups: [],
  amr: [],
  scopes: ["mcp"],
  expiresAt: null,
  issuedAt: null,
  tokenId: null,
  grantId: null,
  secretId: null,
};

let http: HttpServer | undefined;
let sessions: Sessions | undefined;
afterEach(async () => {
  await sessions?.closeAll();
  http?.closeAllConnections();
  await new Promise((r) => http?.close(r) ?? r(undefined));
  http = sessions = undefined;
});

async function start() {
  const s = (sessions = createSessions({ metrics: createMetrics(), run: async () => ({ result: {} }) as never, finish: () => undefined }));
  let session: Session | undefined;
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
      session ??= await s.open({ slug: "finops" } as PortalView, identity);
      await s.handle(session, req, res, { ctx: newRequestContext(), body, messages: body === undefined ? [] : Array.isArray(body) ? body : [body] });
    });
  });
  await new Promise<void>((r) => http!.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  const headers = (extra: Record<string, string> = {}) => ({ "content-type": "application/json", accept: "application/json, text/event-stream", ...(session?.id ? { "mcp-session-id": session.id } : {}), ...extra });
  const post = (message: unknown) => fetch(url, { method: "POST", headers: headers(), body: JSON.stringify(message) });
  const init = await post({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
  expect(init.status).toBe(200);
  await init.text();
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" })).text();
  return { session: session!, post, get: (extra?: Record<string, string>) => fetch(url, { method: "GET", headers: headers(extra) }), del: () => fetch(url, { method: "DELETE", headers: headers() }) };
}

describe("a legacy session", () => {
  it("keeps nothing of the requests it sent through the SDK once they are answered", async () => {
    const { session, post } = await start();
    for (let id = 1; id <= 20; id++) expect(await (await post({ jsonrpc: "2.0", id, method: "ping" })).json()).toEqual({ jsonrpc: "2.0", id, result: {} });
    // The SDK (1.x) keeps one entry per answered JSON-mode POST otherwise (modelcontextprotocol/typescript-sdk#2559).
    const maps = (session.transport as unknown as { _webStandardTransport: { _streamMapping: Map<string, unknown> } })._webStandardTransport;
    expect(maps._streamMapping.size).toBe(0);
  });

  it("opens one GET stream, refuses a second or one the client cannot read, delivers notifications on it and ends it with the session", async () => {
    const { session, get, del } = await start();
    expect((await get({ accept: "application/json" })).status).toBe(406);
    const stream = await get();
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toBe("text/event-stream");
    expect(stream.headers.get("mcp-session-id")).toBe(session.id);
    expect((await get()).status).toBe(409);
    session.notify("notifications/tools/list_changed", {});
    const reader = stream.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"method":"notifications/tools/list_changed"');
    expect((await del()).status).toBe(200);
    // DELETE closes the session, and its GET stream with it.
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    expect(sessions!.size()).toBe(0);
  });
});
