import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListRootsResultSchema,
  RootsListChangedNotificationSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerNotification,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/**
 * An MCP server of Portico's own (SDK 1.x, Streamable HTTP with sessions) that does what the
 * conformance suite's server scenarios call for, under the tool names the suite uses: it asks
 * its client things mid-call (sampling, elicitation with SEP-1034 defaults and SEP-1330 enums,
 * roots), reports progress, logs, completes arguments, serves templated and subscribable
 * resources. Tests put it behind the gateway to check that a portal takes nothing away.
 * Not a copy of the suite's reference server: written from the scenarios' descriptions.
 */

export type ConformanceUpstream = {
  url: string;
  /** Tells every session subscribed to `uri` that it changed. */
  touch(uri: string): Promise<void>;
  /** How many notifications/roots/list_changed reached the server. */
  rootsListChanged(): number;
  /** Subscriptions as the server holds them, by session. */
  subscriptions(): string[];
  close(): Promise<void>;
};

// A 1×1 PNG and a minimal WAV: the content types the suite checks by type and MIME type.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

type Session = { server: McpServer; transport: StreamableHTTPServerTransport; subscribed: Set<string> };

function buildServer(session: Pick<Session, "subscribed">, counters: { roots: number }): McpServer {
  const server = new McpServer(
    { name: "portico-conformance-upstream", version: "1.0.0" },
    { capabilities: { logging: {}, completions: {}, resources: { subscribe: true, listChanged: true } } },
  );

  server.registerTool("test_simple_text", { description: "Returns a fixed text." }, async () => text("This is a simple text response for testing."));
  server.registerTool("test_error_handling", { description: "Always fails." }, async () => ({ ...text("This tool intentionally returns an error for testing"), isError: true }));

  server.registerTool("test_image_content", { description: "Returns an image." }, async () => ({ content: [{ type: "image", data: PNG, mimeType: "image/png" }] }));
  server.registerTool("test_audio_content", { description: "Returns audio." }, async () => ({ content: [{ type: "audio", data: WAV, mimeType: "audio/wav" }] }));
  server.registerTool("test_embedded_resource", { description: "Returns an embedded resource." }, async () => ({
    content: [{ type: "resource", resource: { uri: "test://embedded-resource", mimeType: "text/plain", text: "This is an embedded resource content." } }],
  }));
  server.registerTool("test_multiple_content_types", { description: "Returns text, an image and a resource." }, async () => ({
    content: [
      { type: "text", text: "Multiple content types test:" },
      { type: "image", data: PNG, mimeType: "image/png" },
      { type: "resource", resource: { uri: "test://mixed-content-resource", mimeType: "application/json", text: JSON.stringify({ test: "data", value: 123 }) } },
    ],
  }));

  server.registerTool("test_tool_with_progress", { description: "Reports progress 0, 50, 100 of 100." }, async (extra) => {
    const token = extra._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (token !== undefined) await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, total: 100 } });
      if (progress < 100) await pause(50);
    }
    return text("Progress tool completed");
  });

  server.registerTool("test_tool_with_logging", { description: "Logs three info messages while it runs, and one at debug." }, async (extra) => {
    const logAt = (level: "debug" | "info", data: string) =>
      extra.sendNotification({ method: "notifications/message", params: { level, data } } as ServerNotification);
    await logAt("info", "Tool execution started");
    await pause(50);
    await logAt("debug", "Tool debug detail");
    await logAt("info", "Tool processing data");
    await pause(50);
    await logAt("info", "Tool execution completed");
    return text("Logging tool completed");
  });

  server.registerTool("test_sampling", { description: "Asks the client's LLM.", inputSchema: { prompt: z.string() } }, async ({ prompt }, extra) => {
    const result = await extra.sendRequest(
      { method: "sampling/createMessage", params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens: 100 } },
      CreateMessageResultSchema,
    );
    const content = result.content as { type: string; text?: string };
    return text(`LLM response: ${content.type === "text" ? content.text : content.type}`);
  });

  server.registerTool("test_elicitation", { description: "Asks the user.", inputSchema: { message: z.string() } }, async ({ message }, extra) => {
    const result = await extra.sendRequest(
      {
        method: "elicitation/create",
        params: {
          message,
          requestedSchema: {
            type: "object",
            properties: { username: { type: "string", description: "User's response" }, email: { type: "string", description: "User's email address" } },
            required: ["username", "email"],
          },
        },
      },
      ElicitResultSchema,
    );
    return text(`User response: ${JSON.stringify({ action: result.action, content: result.content })}`);
  });

  server.registerTool("test_elicitation_sep1034_defaults", { description: "Asks with defaults for every primitive type." }, async (extra) => {
    const result = await extra.sendRequest(
      {
        method: "elicitation/create",
        params: {
          message: "Please review and update the form fields with defaults",
          requestedSchema: {
            type: "object",
            properties: {
              name: { type: "string", description: "User name", default: "John Doe" },
              age: { type: "integer", description: "User age", default: 30 },
              score: { type: "number", description: "User score", default: 95.5 },
              status: { type: "string", description: "User status", enum: ["active", "inactive", "pending"], default: "active" },
              verified: { type: "boolean", description: "Verification status", default: true },
            },
          },
        },
      },
      ElicitResultSchema,
    );
    return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
  });

  server.registerTool("test_elicitation_sep1330_enums", { description: "Asks with the five enum shapes." }, async (extra) => {
    const result = await extra.sendRequest(
      {
        method: "elicitation/create",
        params: {
          message: "Please select options from the enum fields",
          requestedSchema: {
            type: "object",
            properties: {
              untitledSingle: { type: "string", description: "Select one option", enum: ["option1", "option2", "option3"] },
              titledSingle: {
                type: "string",
                description: "Select one option with titles",
                oneOf: [
                  { const: "value1", title: "First Option" },
                  { const: "value2", title: "Second Option" },
                  { const: "value3", title: "Third Option" },
                ],
              },
              legacyEnum: { type: "string", description: "Select one option (legacy)", enum: ["opt1", "opt2", "opt3"], enumNames: ["Option One", "Option Two", "Option Three"] },
              untitledMulti: { type: "array", description: "Select multiple options", minItems: 1, maxItems: 3, items: { type: "string", enum: ["option1", "option2", "option3"] } },
              titledMulti: {
                type: "array",
                description: "Select multiple options with titles",
                minItems: 1,
                maxItems: 3,
                items: {
                  anyOf: [
                    { const: "value1", title: "First Choice" },
                    { const: "value2", title: "Second Choice" },
                    { const: "value3", title: "Third Choice" },
                  ],
                },
              },
            },
          },
        },
      } as never,
      ElicitResultSchema,
    );
    return text(`Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`);
  });

  server.registerTool("test_roots", { description: "Lists the client's roots." }, async (extra) => {
    const result = await extra.sendRequest({ method: "roots/list" }, ListRootsResultSchema);
    return text(`Roots: ${result.roots.map((r) => r.uri).join(", ")}`);
  });

  server.registerPrompt("test_simple_prompt", { description: "A prompt without arguments." }, () => ({
    messages: [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }],
  }));
  server.registerPrompt(
    "test_prompt_with_arguments",
    { description: "A prompt with arguments.", argsSchema: { arg1: completable(z.string(), (v) => ["paris", "park", "party"].filter((x) => x.startsWith(v))), arg2: z.string() } },
    ({ arg1, arg2 }) => ({ messages: [{ role: "user", content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }] }),
  );
  server.registerPrompt("test_prompt_with_embedded_resource", { description: "Embeds a resource.", argsSchema: { resourceUri: z.string() } }, ({ resourceUri }) => ({
    messages: [
      { role: "user", content: { type: "resource", resource: { uri: resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." } } },
      { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
    ],
  }));
  server.registerPrompt("test_prompt_with_image", { description: "Shows an image." }, () => ({
    messages: [
      { role: "user", content: { type: "image", data: PNG, mimeType: "image/png" } },
      { role: "user", content: { type: "text", text: "Please analyze the image above." } },
    ],
  }));

  server.registerResource("static-text", "test://static-text", { description: "A static text resource.", mimeType: "text/plain" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "text/plain", text: "This is the content of the static text resource." }],
  }));
  server.registerResource("static-binary", "test://static-binary", { description: "A binary resource.", mimeType: "image/png" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "image/png", blob: PNG }],
  }));
  server.registerResource("watched-resource", "test://watched-resource", { description: "A resource to subscribe to.", mimeType: "text/plain" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "text/plain", text: "Watched resource content." }],
  }));
  server.registerResource(
    "template",
    new ResourceTemplate("test://template/{id}/data", {
      list: undefined,
      complete: { id: (value) => ["123", "124", "456"].filter((id) => id.startsWith(value)) },
    }),
    { description: "A templated resource.", mimeType: "application/json" },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }),
  );

  server.server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
    counters.roots += 1;
  });
  server.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    session.subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    session.subscribed.delete(request.params.uri);
    return {};
  });
  return server;
}

export async function startConformanceUpstream(options: { port?: number } = {}): Promise<ConformanceUpstream> {
  const sessions = new Map<string, Session>();
  const counters = { roots: 0 };
  let port = 0;
  const http = createServer(async (req, res) => {
    try {
      const id = req.headers["mcp-session-id"];
      let session = typeof id === "string" ? sessions.get(id) : undefined;
      if (!session) {
        if (req.method !== "POST" || id !== undefined) return void res.writeHead(id === undefined ? 400 : 404).end();
        const subscribed = new Set<string>();
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          // As any local server should: refuse requests whose Host or Origin is not this server.
          enableDnsRebindingProtection: true,
          allowedHosts: [`127.0.0.1:${port}`, `localhost:${port}`],
          allowedOrigins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`],
          onsessioninitialized: (sid) => void sessions.set(sid, { server, transport, subscribed }),
        });
        transport.onclose = () => {
          if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        const server = buildServer({ subscribed }, counters);
        await server.connect(transport);
        session = { server, transport, subscribed };
      }
      await session.transport.handleRequest(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, "127.0.0.1", () => resolve()));
  port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async touch(uri) {
      for (const s of sessions.values()) if (s.subscribed.has(uri)) await s.server.server.sendResourceUpdated({ uri });
    },
    rootsListChanged: () => counters.roots,
    subscriptions: () => [...sessions.values()].flatMap((s) => [...s.subscribed]),
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.server.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
