import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, CompatibilityCallToolResultSchema, isInitializeRequest, ListToolsRequestSchema, type Tool } from "@modelcontextprotocol/sdk/types.js";

/**
 * An aggregating MCP proxy built the usual way on the official SDK 1.x, as MetaMCP and most
 * hand-built portals are: a `Server` per client session, behind it a `Client` per upstream
 * (connected when the session opens), tools listed by fanning out to every upstream and offered
 * as `<server>_<tool>`, calls routed to the upstream that owns the name. No auth, no policy, no
 * audit. Where the usual code has a choice that costs time per call, this takes the cheaper one
 * (JSON responses instead of SSE, node:http instead of Express), so beating it means something.
 */

export type SdkProxyUpstream = { slug: string; url: string };

type Session = { transport: StreamableHTTPServerTransport; server: Server; clients: Map<string, Client>; routes: Map<string, { slug: string; name: string }> };

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

function jsonRpcError(res: ServerResponse, status: number, message: string) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}

export async function startSdkProxy(options: { upstreams: SdkProxyUpstream[] }) {
  const sessions = new Map<string, Session>();

  async function openSession(): Promise<Session> {
    const clients = new Map<string, Client>();
    await Promise.all(
      options.upstreams.map(async (u) => {
        const client = new Client({ name: "sdk-proxy", version: "1" });
        await client.connect(new StreamableHTTPClientTransport(new URL(u.url)));
        clients.set(u.slug, client);
      }),
    );
    const routes = new Map<string, { slug: string; name: string }>();
    const listAll = async (): Promise<Tool[]> => {
      const lists = await Promise.all(
        [...clients].map(async ([slug, client]) => {
          const { tools } = await client.listTools();
          return tools.map((t) => {
            const exposed = `${slug}_${t.name}`;
            routes.set(exposed, { slug, name: t.name });
            return { ...t, name: exposed };
          });
        }),
      );
      return lists.flat();
    };

    const server = new Server({ name: "sdk-proxy", version: "1" }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await listAll() }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      if (routes.size === 0) await listAll();
      const route = routes.get(request.params.name);
      if (!route) throw new Error(`unknown tool ${request.params.name}`);
      return clients.get(route.slug)!.request({ method: "tools/call", params: { ...request.params, name: route.name } }, CompatibilityCallToolResultSchema);
    });

    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        sessions.set(id, session);
      },
    });
    const session: Session = { transport, server, clients, routes };
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      for (const client of clients.values()) void client.close();
    };
    await server.connect(transport);
    return session;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const id = req.headers["mcp-session-id"];
    const existing = typeof id === "string" ? sessions.get(id) : undefined;
    if (req.method === "POST") {
      const body = await readJson(req);
      if (existing) return existing.transport.handleRequest(req, res, body);
      if (id === undefined && isInitializeRequest(body)) {
        const session = await openSession();
        return session.transport.handleRequest(req, res, body);
      }
      return jsonRpcError(res, 400, "Bad Request: no valid session id");
    }
    if (!existing) return jsonRpcError(res, 400, "Bad Request: no valid session id");
    return existing.transport.handleRequest(req, res);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) jsonRpcError(res, 500, "Internal error");
      else res.end();
    });
  });
  http.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    sessionCount: () => sessions.size,
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => undefined)));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
