import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { SSEClientTransport, SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { describeSyncError, SyncError } from "./sync";

const url = "http://billing.internal:8080/mcp";

/** A port that was just free: connecting to it is refused. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

type SseEvent = ConstructorParameters<typeof SseError>[2];
const sseError = (code: number | undefined, message: string) =>
  new SseError(code, message, Object.assign(new Event("error"), { code, message }) as unknown as SseEvent);

/** What the SDK's SSE client really throws when its stream request fails. */
async function sseStartError(target: string): Promise<unknown> {
  const transport = new SSEClientTransport(new URL(target));
  try {
    await transport.start();
  } catch (error) {
    return error;
  } finally {
    await transport.close();
  }
  throw new Error("expected the SSE stream to fail");
}

describe("describeSyncError", () => {
  it("maps HTTP errors of the Streamable HTTP transport by status", () => {
    // The SDK puts the upstream's response body in the message; none of it may reach the detail.
    const body = "Error POSTing to endpoint: {\"error\":\"bad token Bearer s3cret\"}";
    expect(describeSyncError(new StreamableHTTPError(401, body), { url })).toEqual({
      httpStatus: 401,
      retryable: false,
      message: "The server refused Portico's credentials",
    });
    expect(describeSyncError(new StreamableHTTPError(403, body))).toMatchObject({ httpStatus: 403, retryable: false });
    expect(describeSyncError(new StreamableHTTPError(404, body))).toEqual({ httpStatus: 404, retryable: false, message: "No MCP endpoint at this URL" });
    expect(describeSyncError(new StreamableHTTPError(503, body))).toEqual({ httpStatus: 503, retryable: true, message: "The server failed with HTTP 503" });
    expect(describeSyncError(new StreamableHTTPError(429, body))).toMatchObject({ httpStatus: 429, retryable: true });
    expect(describeSyncError(new StreamableHTTPError(400, body))).toMatchObject({ httpStatus: 400, retryable: false });
    expect(describeSyncError(new StreamableHTTPError(302, "Redirect to https://evil.example/ not followed"))).toMatchObject({ httpStatus: 302, retryable: false });
    for (const status of [401, 403, 404, 503, 429, 400]) {
      expect(JSON.stringify(describeSyncError(new StreamableHTTPError(status, body)))).not.toContain("s3cret");
    }
  });

  it("reports a non-MCP content type without an HTTP status", () => {
    const detail = describeSyncError(new StreamableHTTPError(-1, "Unexpected content type: text/html"));
    expect(detail.httpStatus).toBeUndefined();
    expect(detail).toMatchObject({ retryable: false, message: expect.stringContaining("not MCP") });
  });

  it("maps the SSE transport's errors: stream status, POST status, and no status at all", () => {
    expect(describeSyncError(sseError(401, "Non-200 status code (401)"))).toMatchObject({ httpStatus: 401, retryable: false });
    expect(describeSyncError(sseError(502, "Non-200 status code (502)"))).toMatchObject({ httpStatus: 502, retryable: true });
    expect(describeSyncError(sseError(200, 'Invalid content type, expected "text/event-stream"'))).toMatchObject({ retryable: false });
    expect(describeSyncError(sseError(undefined, "TypeError: fetch failed: connect ECONNREFUSED 10.0.0.1:8080"), { url })).toEqual({
      retryable: false,
      message: "Nothing is listening at billing.internal:8080: check the URL and port, and that the server is running",
    });
    expect(describeSyncError(sseError(undefined, "TypeError: fetch failed: other side closed"), { url })).toEqual({
      retryable: true,
      message: "Could not connect to billing.internal:8080",
    });
    expect(describeSyncError(new Error("Error POSTing to endpoint (HTTP 403): forbidden"))).toMatchObject({ httpStatus: 403, retryable: false });
  });

  it("maps errors the SSE client really throws: a refused stream and a refused connection", async () => {
    const server = createServer((_req, res) => res.writeHead(401, { "content-type": "text/plain" }).end("no"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const refused = await sseStartError(`http://127.0.0.1:${port}/sse`);
      expect(refused).toBeInstanceOf(SseError);
      expect(describeSyncError(refused)).toMatchObject({ httpStatus: 401, retryable: false });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const down = await refusedPort();
    const error = await sseStartError(`http://127.0.0.1:${down}/sse`);
    expect(error).toBeInstanceOf(SseError);
    expect(describeSyncError(error, { url: `http://127.0.0.1:${down}/sse` })).toEqual({ retryable: false, message: `Nothing is listening at 127.0.0.1:${down}: check the URL and port, and that the server is running` });
  });

  it("treats the SDK's UnauthorizedError as a 401", () => {
    expect(describeSyncError(new UnauthorizedError())).toMatchObject({ httpStatus: 401, retryable: false });
  });

  it("carries JSON-RPC error codes as mcpCode, with the upstream's text cut to one line", () => {
    const notFound = describeSyncError(new McpError(ErrorCode.MethodNotFound, "Method not found"));
    expect(notFound).toMatchObject({ mcpCode: -32601, retryable: false });
    const internal = describeSyncError(new McpError(ErrorCode.InternalError, "boom\n    at handler (/srv/app.js:1:1)"));
    expect(internal).toMatchObject({ mcpCode: -32603, retryable: true, message: "The server reported an internal error: boom" });
    expect(internal.message).not.toContain("at handler");
    const custom = describeSyncError(new McpError(-32042, "x".repeat(1000)));
    expect(custom.mcpCode).toBe(-32042);
    expect(custom.message.length).toBeLessThan(300);
    expect(describeSyncError(new McpError(ErrorCode.ConnectionClosed, "Connection closed"))).toMatchObject({ mcpCode: -32000, retryable: true });
  });

  it("reports timeouts from the SDK and from an aborted fetch as retryable", () => {
    const expected = { retryable: true, message: "Timed out after 10 s" };
    expect(describeSyncError(new McpError(ErrorCode.RequestTimeout, "Request timed out", { timeout: 10_000 }))).toEqual(expected);
    expect(describeSyncError(new DOMException("The operation was aborted due to timeout", "TimeoutError"))).toEqual(expected);
    expect(describeSyncError(new DOMException("aborted", "TimeoutError"), { timeoutMs: 2_500 })).toEqual({ retryable: true, message: "Timed out after 2.5 s" });
  });

  it("reports a refused connection as nothing listening at host and port, from the URL or else from the socket error", async () => {
    const port = await refusedPort();
    const error = await fetch(`http://127.0.0.1:${port}/mcp`).then(
      () => {
        throw new Error("expected the connection to be refused");
      },
      (e: unknown) => e,
    );
    const refused = (at: string) => ({ retryable: false, message: `Nothing is listening at ${at}: check the URL and port, and that the server is running` });
    expect(describeSyncError(error, { url: `http://127.0.0.1:${port}/mcp` })).toEqual(refused(`127.0.0.1:${port}`));
    expect(describeSyncError(error)).toEqual(refused(`127.0.0.1:${port}`));
    expect(describeSyncError(error, { url: "https://mcp.example.com/mcp" })).toEqual(refused("mcp.example.com:443"));
  });

  it("reports a DNS failure as a retryable connection failure", () => {
    const dns = Object.assign(new Error("getaddrinfo ENOTFOUND nowhere.invalid"), { code: "ENOTFOUND", hostname: "nowhere.invalid" });
    const error = new TypeError("fetch failed", { cause: dns });
    expect(describeSyncError(error)).toEqual({ retryable: true, message: "Could not connect to nowhere.invalid" });
    const guard = new AppError("validation_failed", "The server's host name does not resolve");
    expect(describeSyncError(guard, { url: "http://nowhere.invalid/mcp" })).toMatchObject({ retryable: true, message: expect.stringContaining("nowhere.invalid:80") });
  });

  it("passes Portico's own messages through and hides unknown errors' text", () => {
    expect(describeSyncError(new SyncError("credential reference env:BILLING_KEY is not set"))).toEqual({
      retryable: false,
      message: "credential reference env:BILLING_KEY is not set",
    });
    expect(describeSyncError(new AppError("validation_failed", "This URL points at a cloud metadata address"))).toEqual({
      retryable: false,
      message: "This URL points at a cloud metadata address",
    });
    const zod = z.object({ tools: z.array(z.string()) }).safeParse({ tools: 1 });
    expect(describeSyncError(zod.error)).toMatchObject({ retryable: false, message: "The server sent a response that is not valid MCP" });
    const unknown = describeSyncError(new Error("secret-ish details\n    at somewhere (/x.js:1:1)"));
    expect(unknown.message).not.toContain("secret-ish");
    expect(unknown.message).not.toContain("at somewhere");
  });
});
