import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";

import {
  completable,
  createMcpHandler,
  createRequestStateCodec,
  hostHeaderValidationResponse,
  inputRequired,
  inputResponse,
  McpServer,
  originValidationResponse,
  ResourceTemplate,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { z } from "zod";

/**
 * The SDK 2.x twin of conformance-upstream.ts: an MCP server of Portico's own that speaks
 * 2026-07-28 (per-request `_meta` envelope, no session) and, through the SDK's stateless legacy
 * fallback, 2025-11-25. It does what the suite's `--requirements 2026-07-28` server scenarios call
 * for, under the names they use: multi round-trip tools and prompts that answer `input_required`
 * with their own HMAC-sealed `requestState`, a tool that needs sampling (-32021 when the client did
 * not declare it), caching hints, list-changed triggers for `subscriptions/listen`, and Host/Origin
 * checks. Written from the scenarios' descriptions, not copied from the suite's reference server.
 */

export type ConformanceUpstreamV2 = {
  url: string;
  /** Requests that reached the upstream, by JSON-RPC method (what a test may check went through). */
  seen: { method: string; params: Record<string, unknown> | undefined }[];
  close(): Promise<void>;
};

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

const nameSchema = { type: "object" as const, properties: { name: { type: "string" as const } }, required: ["name"] };

type Flow = { step: number; tool: string };

/** What the list-change triggers really change (the lists are the same for every request until then). */
type Lists = { tools: number; prompts: number };

function buildServer(codec: ReturnType<typeof createRequestStateCodec<Flow>>, hooks: { toolsChanged(): void; promptsChanged(): void }, lists: Lists): McpServer {
  const server = new McpServer(
    { name: "portico-conformance-upstream-v2", version: "2.0.0" },
    {
      capabilities: { logging: {}, completions: {}, tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } },
      requestState: { verify: codec.verify },
      cacheHints: {
        "tools/list": { ttlMs: 60_000, cacheScope: "private" },
        "prompts/list": { ttlMs: 60_000, cacheScope: "private" },
        "resources/list": { ttlMs: 60_000, cacheScope: "private" },
        "resources/templates/list": { ttlMs: 60_000, cacheScope: "private" },
        "resources/read": { ttlMs: 10_000, cacheScope: "private" },
      },
    },
  );

  /** The decoded state of this round, when the client echoed one this server minted. */
  const stateOf = (ctx: ServerContext) => ctx.mcpReq.requestState<Flow>() as Flow | undefined;
  const elicitName = (message: string) => inputRequired.elicit({ message, requestedSchema: nameSchema });

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
  server.registerTool("test_tool_with_progress", { description: "Reports progress 0, 50, 100 of 100." }, async (ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (token !== undefined) await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: token, progress, total: 100 } });
      if (progress < 100) await pause(50);
    }
    return text("Progress tool completed");
  });
  const logging = async (ctx: ServerContext) => {
    for (const data of ["Tool execution started", "Tool processing data", "Tool execution completed"]) {
      await ctx.mcpReq.log("info", data);
      await pause(20);
    }
    return text("Logging tool completed");
  };
  server.registerTool("test_tool_with_logging", { description: "Logs three info messages while it runs." }, logging);
  server.registerTool("test_logging_tool", { description: "Logs only when the request set a log level." }, logging);

  // Multi round-trip (SEP-2322): the client answers the questions and retries; this server keeps
  // nothing between rounds but what it sealed into requestState.
  server.registerTool("test_input_required_result_elicitation", { description: "Asks the user's name." }, async (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, "user_name");
    if (answer.kind === "elicit" && answer.action === "accept" && typeof answer.content?.name === "string") return text(`Hello, ${answer.content.name}!`);
    return inputRequired({ inputRequests: { user_name: elicitName("What is your name?") } });
  });
  server.registerTool("test_input_required_result_sampling", { description: "Asks the client's LLM." }, async (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, "capital_question");
    if (answer.kind === "sampling") {
      const content = answer.result.content as { type: string; text?: string };
      return text(`LLM said: ${content.type === "text" ? content.text : content.type}`);
    }
    return inputRequired({
      inputRequests: { capital_question: inputRequired.createMessage({ messages: [{ role: "user", content: { type: "text", text: "What is the capital of France?" } }], maxTokens: 100 }) },
    });
  });
  server.registerTool("test_input_required_result_list_roots", { description: "Asks for the client's roots." }, async (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, "client_roots");
    if (answer.kind === "roots") return text(`Roots: ${answer.roots.map((r) => r.uri).join(", ")}`);
    return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
  });
  server.registerTool("test_input_required_result_request_state", { description: "Asks for confirmation, keeping its state sealed." }, async (ctx) => {
    const state = stateOf(ctx);
    const answer = inputResponse(ctx.mcpReq.inputResponses, "confirm");
    if (state?.tool === "request_state" && answer.kind === "elicit") return text(`state-ok: confirmed=${String(answer.content?.ok)}`);
    return inputRequired({
      inputRequests: { confirm: inputRequired.elicit({ message: "Please confirm", requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] } }) },
      requestState: await codec.mint({ step: 1, tool: "request_state" }),
    });
  });
  server.registerTool("test_input_required_result_tampered_state", { description: "Like request_state; a tampered state is refused by the codec." }, async (ctx) => {
    if (stateOf(ctx)?.tool === "tampered") return text("state verified");
    return inputRequired({
      inputRequests: { confirm: inputRequired.elicit({ message: "Please confirm", requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] } }) },
      requestState: await codec.mint({ step: 1, tool: "tampered" }),
    });
  });
  server.registerTool("test_input_required_result_multiple_inputs", { description: "Asks three things at once." }, async (ctx) => {
    const responses = ctx.mcpReq.inputResponses;
    const got = ["user_name", "greeting", "client_roots"].map((key) => inputResponse(responses, key).kind);
    if (stateOf(ctx)?.tool === "multiple" && !got.includes("missing")) return text(`Received: ${got.join(", ")}`);
    return inputRequired({
      inputRequests: {
        user_name: elicitName("What is your name?"),
        greeting: inputRequired.createMessage({ messages: [{ role: "user", content: { type: "text", text: "Generate a greeting" } }], maxTokens: 50 }),
        client_roots: inputRequired.listRoots(),
      },
      requestState: await codec.mint({ step: 1, tool: "multiple" }),
    });
  });
  server.registerTool("test_input_required_result_multi_round", { description: "Asks twice, one round after the other." }, async (ctx) => {
    const state = stateOf(ctx);
    const responses = ctx.mcpReq.inputResponses;
    if (state?.tool === "multi" && state.step === 2 && inputResponse(responses, "step2").kind === "elicit") return text("Both steps done");
    if (state?.tool === "multi" && state.step === 1 && inputResponse(responses, "step1").kind === "elicit") {
      return inputRequired({
        inputRequests: {
          step2: inputRequired.elicit({ message: "Step 2: What is your favorite color?", requestedSchema: { type: "object", properties: { color: { type: "string" } }, required: ["color"] } }),
        },
        requestState: await codec.mint({ step: 2, tool: "multi" }),
      });
    }
    return inputRequired({ inputRequests: { step1: elicitName("Step 1: What is your name?") }, requestState: await codec.mint({ step: 1, tool: "multi" }) });
  });
  server.registerTool("test_input_required_result_capabilities", { description: "Asks only what the client can answer." }, async (ctx) => {
    const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>;
    const meta = (ctx.mcpReq._meta ?? {}) as Record<string, unknown>;
    const caps = (envelope.clientCapabilities ?? envelope["io.modelcontextprotocol/clientCapabilities"] ?? meta["io.modelcontextprotocol/clientCapabilities"] ?? {}) as Record<string, unknown>;
    if (ctx.mcpReq.inputResponses) return text("done");
    const requests: Record<string, ReturnType<typeof inputRequired.listRoots>> = {};
    if (caps.sampling) requests.ask_llm = inputRequired.createMessage({ messages: [{ role: "user", content: { type: "text", text: "Say hi" } }], maxTokens: 20 });
    if (caps.elicitation) requests.ask_user = elicitName("What is your name?");
    if (caps.roots) requests.roots = inputRequired.listRoots();
    if (Object.keys(requests).length === 0) return text("Nothing to ask a client that declared nothing");
    return inputRequired({ inputRequests: requests });
  });
  // Needs sampling whatever the client declared: the SDK answers -32021 when it did not.
  server.registerTool("test_missing_capability", { description: "Needs the client's sampling capability." }, async (ctx) => {
    if (inputResponse(ctx.mcpReq.inputResponses, "ask").kind === "sampling") return text("sampled");
    return inputRequired({ inputRequests: { ask: inputRequired.createMessage({ messages: [{ role: "user", content: { type: "text", text: "hi" } }], maxTokens: 10 }) } });
  });
  // Asks on the 2026-07-28 way only: an input_required result, never a request on the response stream.
  server.registerTool("test_streaming_elicitation", { description: "Asks the user after reporting progress." }, async (ctx) => {
    if (inputResponse(ctx.mcpReq.inputResponses, "user_name").kind === "elicit") return text("thanks");
    await ctx.mcpReq.log("info", "about to ask");
    return inputRequired({ inputRequests: { user_name: elicitName("What is your name?") } });
  });
  // The list-change triggers change a list for real, then announce it: this tool's description
  // flips between two texts (so a portal that pins definitions sees it drift, then come back).
  server.registerTool("test_changing_tool", { description: `A tool whose description flips with test_trigger_tool_change (now ${lists.tools % 2 ? "B" : "A"}).` }, async () => text("unchanged behaviour"));
  server.registerTool("test_trigger_tool_change", { description: "Changes the tools list and announces it." }, async () => {
    lists.tools += 1;
    hooks.toolsChanged();
    return text("tools changed");
  });
  server.registerTool("test_trigger_prompt_change", { description: "Changes the prompts list and announces it." }, async () => {
    lists.prompts += 1;
    hooks.promptsChanged();
    return text("prompts changed");
  });

  server.registerPrompt("test_changing_prompt", { description: `A prompt whose description changes with test_trigger_prompt_change (revision ${lists.prompts}).` }, () => ({
    messages: [{ role: "user", content: { type: "text", text: "unchanged" } }],
  }));
  server.registerPrompt("test_simple_prompt", { description: "A prompt without arguments." }, () => ({
    messages: [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }],
  }));
  server.registerPrompt(
    "test_prompt_with_arguments",
    { description: "A prompt with arguments.", argsSchema: z.object({ arg1: completable(z.string(), (v) => ["paris", "park", "party"].filter((x) => x.startsWith(v))), arg2: z.string() }) },
    ({ arg1, arg2 }) => ({ messages: [{ role: "user", content: { type: "text", text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }] }),
  );
  server.registerPrompt("test_prompt_with_embedded_resource", { description: "Embeds a resource.", argsSchema: z.object({ resourceUri: z.string() }) }, ({ resourceUri }) => ({
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
  server.registerPrompt("test_input_required_result_prompt", { description: "Asks the user for context first." }, (ctx) => {
    const answer = inputResponse(ctx.mcpReq.inputResponses, "user_context");
    if (answer.kind === "elicit" && answer.action === "accept") {
      return { messages: [{ role: "user" as const, content: { type: "text" as const, text: `Context: ${String(answer.content?.context)}` } }] };
    }
    return inputRequired({
      inputRequests: { user_context: inputRequired.elicit({ message: "What context should the prompt use?", requestedSchema: { type: "object", properties: { context: { type: "string" } }, required: ["context"] } }) },
    });
  });

  server.registerResource("static-text", "test://static-text", { description: "A static text resource.", mimeType: "text/plain" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "text/plain", text: "This is the content of the static text resource." }],
  }));
  server.registerResource("static-binary", "test://static-binary", { description: "A binary resource.", mimeType: "image/png" }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: "image/png", blob: PNG }],
  }));
  server.registerResource(
    "template",
    new ResourceTemplate("test://template/{id}/data", { list: undefined, complete: { id: (value) => ["123", "124", "456"].filter((id) => id.startsWith(value)) } }),
    { description: "A templated resource.", mimeType: "application/json" },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }),
  );
  return server;
}

const EVERYTHING = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };

/** A request's envelope as a server that ignores what the client declared reads it: every capability claimed. */
function claimEverything(body: Buffer): Buffer {
  try {
    const message = JSON.parse(body.toString("utf8")) as { params?: { _meta?: Record<string, unknown> } };
    const meta = message.params?._meta;
    if (!meta || !meta["io.modelcontextprotocol/clientCapabilities"]) return body;
    meta["io.modelcontextprotocol/clientCapabilities"] = EVERYTHING;
    return Buffer.from(JSON.stringify(message));
  } catch {
    return body;
  }
}

/** node:http → web Request, with the body read (the handler is fetch-shaped). */
async function toRequest(req: IncomingMessage, origin: string, ignoreDeclared = false): Promise<Request> {
  let chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (ignoreDeclared && req.method === "POST") chunks = [claimEverything(Buffer.concat(chunks))];
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && chunks.length > 0;
  return new Request(new URL(req.url ?? "/", origin), { method: req.method, headers, ...(hasBody ? { body: Buffer.concat(chunks) } : {}) });
}

async function send(res: ServerResponse, response: Response) {
  res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
  if (!response.body) return void res.end();
  Readable.fromWeb(response.body as never).pipe(res);
}

export async function startConformanceUpstreamV2(
  options: {
    port?: number;
    /**
     * A non-compliant server: it asks (input_required) for sampling, elicitation and roots whatever
     * the client declared, as if every request had declared them all (tests of what a portal does
     * with such a server).
     */
    ignoreDeclaredCapabilities?: boolean;
  } = {},
): Promise<ConformanceUpstreamV2> {
  const codec = createRequestStateCodec<Flow>({ key: randomBytes(32), ttlSeconds: 300 });
  const seen: ConformanceUpstreamV2["seen"] = [];
  // eslint-disable-next-line prefer-const
  let handler: ReturnType<typeof createMcpHandler>;
  const hooks = { toolsChanged: () => handler.notify.toolsChanged(), promptsChanged: () => handler.notify.promptsChanged() };
  const lists: Lists = { tools: 0, prompts: 0 };
  handler = createMcpHandler(() => buildServer(codec, hooks, lists), { legacy: "stateless" });
  let origin = "";
  const http = createServer(async (req, res) => {
    try {
      const request = await toRequest(req, origin, options.ignoreDeclaredCapabilities);
      // As any local server should: refuse a Host or Origin that is not this machine (DNS rebinding).
      const refused = hostHeaderValidationResponse(request, ["127.0.0.1", "localhost", "[::1]"]) ?? originValidationResponse(request, ["127.0.0.1", "localhost", "[::1]"]);
      if (refused) return void (await send(res, refused));
      if (request.method === "POST") {
        try {
          const body = (await request.clone().json()) as { method?: string; params?: Record<string, unknown> };
          if (typeof body?.method === "string") seen.push({ method: body.method, params: body.params });
        } catch {
          // not JSON: the handler answers it
        }
      }
      await send(res, await handler.fetch(request));
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, "127.0.0.1", () => resolve()));
  const port = (http.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/mcp`,
    seen,
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
