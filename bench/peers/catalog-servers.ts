import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from "@modelcontextprotocol/sdk/types.js";

import { startMcpHttpServer } from "@/demo/servers";

/**
 * A portal's worth of upstreams for the `tools/list` figure: `servers` small MCP servers, each
 * offering `toolsPerServer` tools with a description and an input schema of the size real tools
 * have. Their lists are built once, so the direct baseline pays for the protocol, not for
 * rebuilding 50 tool definitions per request.
 */
export function catalogTools(server: number, count: number): Tool[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `tool_${String(i).padStart(2, "0")}`,
    description: `Catalog server ${server}, tool ${i}: looks up records of kind ${i} by a free-text query and returns at most \`limit\` matches, newest first.`,
    inputSchema: {
      type: "object" as const,
      properties: {
        query: { type: "string", description: "Free-text query; matched against names and tags." },
        limit: { type: "integer", minimum: 1, maximum: 100, description: "How many matches to return." },
        since: { type: "string", format: "date", description: "Only records changed on or after this day." },
      },
      required: ["query"],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }));
}

export async function startCatalogServers(options: { servers: number; toolsPerServer: number }) {
  const started = await Promise.all(
    Array.from({ length: options.servers }, async (_, s) => {
      const tools = catalogTools(s, options.toolsPerServer);
      const http = await startMcpHttpServer({
        port: 0,
        createServer: () => {
          const mcp = new McpServer({ name: `catalog-${s}`, version: "1" });
          mcp.server.registerCapabilities({ tools: {} });
          mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
          mcp.server.setRequestHandler(CallToolRequestSchema, (request) => ({ content: [{ type: "text", text: `${request.params.name}: no matches` }] }));
          return mcp;
        },
      });
      return { slug: `catalog-${s}`, url: http.url, tools, close: () => http.close() };
    }),
  );
  return {
    servers: started.map(({ slug, url, tools }) => ({ slug, url, tools })),
    close: () => Promise.all(started.map((s) => s.close())).then(() => undefined),
  };
}
