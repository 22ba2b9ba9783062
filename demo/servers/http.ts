import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

export interface StartMcpHttpServerOptions {
  /** Called once per POST: stateless Streamable HTTP gives every request its own server and transport. */
  createServer: () => McpServer;
  /** 0 picks a free port; the bound one is in the returned url. */
  port: number;
  /** Defaults to 127.0.0.1 so a demo never listens on a public interface by accident. */
  host?: string;
  /** Defaults to "/mcp". */
  path?: string;
}

export interface McpHttpServer {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}) {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

function formatHostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export async function startMcpHttpServer(options: StartMcpHttpServerOptions): Promise<McpHttpServer> {
  const host = options.host ?? "127.0.0.1";
  const path = options.path ?? "/mcp";
  // Filled in once the port is known. On a loopback bind, only loopback Host headers are accepted: a web
  // page that DNS-rebinds its own name to 127.0.0.1 could otherwise drive tag_resource or delete_budget.
  let allowedHosts: string[] | undefined;

  async function handlePost(req: IncomingMessage, res: ServerResponse) {
    const server = options.createServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      enableDnsRebindingProtection: allowedHosts !== undefined,
      allowedHosts,
    });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  const httpServer = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://placeholder").pathname;
    if (pathname !== path) {
      sendJsonRpcError(res, 404, -32000, "Not found.");
      return;
    }
    if (req.method !== "POST") {
      // Stateless: no standalone SSE stream to GET and no session to DELETE.
      sendJsonRpcError(res, 405, -32000, "Method not allowed.", { allow: "POST" });
      return;
    }
    handlePost(req, res).catch((error: unknown) => {
      console.error("demo MCP server: request failed", error);
      sendJsonRpcError(res, 500, -32603, "Internal server error");
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(options.port, host, () => {
      httpServer.off("error", reject);
      resolve();
    });
  });

  const { port } = httpServer.address() as AddressInfo;
  if (LOOPBACK_HOSTS.has(host)) {
    allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${formatHostForUrl(host)}:${port}${path}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        httpServer.close((error) => (error ? reject(error) : resolve()));
        // Clients keep connections alive; without this, close() waits for their idle timeout.
        httpServer.closeAllConnections();
      });
      return closing;
    },
  };
}
