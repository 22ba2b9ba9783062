import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { startHarness, type Harness } from "./testing/harness";
import { createTracing, type GatewayTracing } from "./tracing";

/**
 * Traces through the real gateway, to a real OTLP/HTTP receiver (an HTTP server in this test that
 * keeps what the official exporter posts), from a real MCP upstream that records the
 * `traceparent` it was sent.
 */

type OtlpSpan = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: { key: string; value: Record<string, unknown> }[] };
type OtlpExport = { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const received: OtlpExport[] = [];
const receiverPaths: string[] = [];
const receiver = createServer(async (req, res) => {
  receiverPaths.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
  received.push(JSON.parse(await body(req)) as OtlpExport);
  res.writeHead(200, { "content-type": "application/json" }).end("{}");
});

const traceparents: (string | undefined)[] = [];
const upstream = createServer(async (req, res) => {
  if (req.method === "POST") traceparents.push(req.headers.traceparent as string | undefined);
  const server = new McpServer({ name: "traced", version: "1.0.0" });
  server.registerTool("hello", { description: "Says hello.", inputSchema: { who: z.string() } }, ({ who }) => ({ content: [{ type: "text", text: `hello ${who}` }] }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  const raw = req.method === "POST" ? (JSON.parse(await body(req)) as unknown) : undefined;
  await transport.handleRequest(req, res, raw);
});

let h: Harness;
let tracing: GatewayTracing;

beforeAll(async () => {
  const endpoint = await listen(receiver);
  const upstreamUrl = `${await listen(upstream)}/mcp`;
  tracing = createTracing({ endpoint, serviceName: "portico-gateway-test" })!;
  h = await startHarness({ extraServers: [{ slug: "traced", url: upstreamUrl }], tracing });
});

afterAll(async () => {
  await h?.close();
  receiver.close();
  upstream.close();
});

const spans = () => received.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
const attr = (span: OtlpSpan, key: string) => Object.values(span.attributes.find((a) => a.key === key)?.value ?? {})[0];

describe("OpenTelemetry traces", () => {
  it("exports a span for one call with portal, tool and decision, its upstream child span, and sends traceparent upstream", async () => {
    const client = await h.connect(await h.mintToken());
    try {
      traceparents.length = 0;
      const result = await client.callTool({ name: "traced_hello", arguments: { who: "otel" } });
      expect(result.content).toEqual([{ type: "text", text: "hello otel" }]);
    } finally {
      await client.close();
    }
    await expect.poll(() => spans().find((s) => s.name === "mcp tools/call"), { timeout: 5_000 }).toBeDefined();

    const call = spans().find((s) => s.name === "mcp tools/call")!;
    expect(attr(call, "portico.portal")).toBe("finops");
    expect(attr(call, "portico.tool")).toBe("traced_hello");
    expect(attr(call, "portico.decision")).toBe("allow");
    expect(attr(call, "portico.server")).toBe("traced");
    await expect.poll(() => spans().find((s) => s.parentSpanId === call.spanId), { timeout: 5_000 }).toBeDefined();
    const child = spans().find((s) => s.parentSpanId === call.spanId)!;
    expect(child).toMatchObject({ traceId: call.traceId, name: expect.stringMatching(/^POST 127\.0\.0\.1:\d+$/) });
    expect(attr(child, "http.response.status_code")).toBe(200);

    // W3C trace context upstream: version-traceid-parentid-flags, the parent being the child span.
    expect(traceparents).toContain(`00-${call.traceId}-${child.spanId}-01`);
    expect(receiverPaths[0]).toMatch(/^POST \/v1\/traces application\/json/);
    const service = received[0]!.resourceSpans[0]!.resource.attributes.find((a) => a.key === "service.name");
    expect(service?.value.stringValue).toBe("portico-gateway-test");

    // The audit event of that call carries the trace id, so the explorer can link to the trace.
    const event = h.events.findLast((e) => e.kind === "mcp.request" && e.tool === "hello");
    expect(event?.data).toMatchObject({ traceId: call.traceId });
  });

  it("continues a client's trace: the call's span is a child of the client's, and the upstream sees the same trace", async () => {
    const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const clientSpan = "00f067aa0ba902b7";
    const client = new Client({ name: "traced-client", version: "1" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(h.portalUrl()), {
        requestInit: { headers: { authorization: `Bearer ${await h.mintToken()}`, traceparent: `00-${clientTrace}-${clientSpan}-01`, tracestate: "vendor=abc" } },
      }),
    );
    try {
      traceparents.length = 0;
      const result = await client.callTool({ name: "traced_hello", arguments: { who: "client trace" } });
      expect(result.content).toEqual([{ type: "text", text: "hello client trace" }]);
    } finally {
      await client.close();
    }
    const inTrace = () => spans().filter((s) => s.traceId === clientTrace);
    await expect.poll(() => inTrace().find((s) => s.name === "mcp tools/call"), { timeout: 5_000 }).toBeDefined();
    const call = inTrace().find((s) => s.name === "mcp tools/call")!;
    expect(call.parentSpanId).toBe(clientSpan);
    await expect.poll(() => inTrace().find((s) => s.parentSpanId === call.spanId), { timeout: 5_000 }).toBeDefined();
    const upstreamSpan = inTrace().find((s) => s.parentSpanId === call.spanId)!;
    expect(traceparents).toContain(`00-${clientTrace}-${upstreamSpan.spanId}-01`);
    const event = h.events.findLast((e) => e.kind === "mcp.request" && e.tool === "hello");
    expect(event?.data).toMatchObject({ traceId: clientTrace });
  });

  it("starts a new trace when the client's traceparent is malformed", async () => {
    const client = new Client({ name: "bad-trace-client", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(h.portalUrl()), { requestInit: { headers: { authorization: `Bearer ${await h.mintToken()}`, traceparent: "00-not-a-trace-01" } } }));
    const before = spans().length;
    try {
      await client.callTool({ name: "traced_hello", arguments: { who: "x" } });
    } finally {
      await client.close();
    }
    await expect.poll(() => spans().slice(before).find((s) => s.name === "mcp tools/call"), { timeout: 5_000 }).toBeDefined();
    const call = spans().slice(before).find((s) => s.name === "mcp tools/call")!;
    expect(call.parentSpanId ?? "").toBe("");
    expect(call.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("a denied call is traced with its decision, and nothing goes upstream", async () => {
    const client = await h.connect(await h.mintToken());
    const before = traceparents.length;
    try {
      // Refused as an error result or a JSON-RPC error: the span is what is checked here.
      await client.callTool({ name: "budgets_delete_budget", arguments: { id: "x" } }).catch(() => undefined);
    } finally {
      await client.close();
    }
    await expect.poll(() => spans().find((s) => s.name === "mcp tools/call" && attr(s, "portico.decision") === "deny"), { timeout: 5_000 }).toBeDefined();
    expect(traceparents.length).toBe(before);
  });
});

describe("without an OTLP endpoint", () => {
  it("makes no tracer at all", () => {
    expect(createTracing({ endpoint: undefined })).toBeNull();
  });
});
