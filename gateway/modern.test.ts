import { describe, expect, it } from "vitest";

import { checkModernMessage, checkStandardHeaders, decodeHeaderValue, isModernPost, modernResult } from "./modern";

const meta = (version: unknown, extra: Record<string, unknown> = {}) => ({ "io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientCapabilities": {}, ...extra });

describe("isModernPost: which era a POST is in", () => {
  it("keeps initialize legacy, whatever version it asks for", () => {
    expect(isModernPost(undefined, [{ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2026-07-28" } }])).toBe(false);
  });

  it("keeps legacy requests legacy: no _meta version, or a legacy one, and a legacy header", () => {
    expect(isModernPost("2025-11-25", [{ jsonrpc: "2.0", id: 1, method: "tools/list" }])).toBe(false);
    expect(isModernPost(undefined, [{ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { progressToken: 1 } } }])).toBe(false);
    expect(isModernPost(undefined, [{ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta("2025-06-18") } }])).toBe(false);
  });

  it("takes the stateless rules for a modern header, a modern or unknown _meta version", () => {
    expect(isModernPost("2026-07-28", [{ jsonrpc: "2.0", id: 1, method: "tools/list" }])).toBe(true);
    expect(isModernPost(undefined, [{ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta("2026-07-28") } }])).toBe(true);
    expect(isModernPost(undefined, [{ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta("1999-01-01") } }])).toBe(true);
  });
});

describe("checkModernMessage", () => {
  it("accepts a well-formed envelope and reads the client's name", () => {
    const check = checkModernMessage("2026-07-28", { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta("2026-07-28", { "io.modelcontextprotocol/clientInfo": { name: "cli", version: "3" } }) } });
    expect(check).toEqual({ ok: true, version: "2026-07-28", client: { name: "cli", version: "3" } });
  });

  it("names what is wrong: the version, the header, the capabilities", () => {
    expect(checkModernMessage(undefined, { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta(42) } })).toMatchObject({ ok: false, code: -32602 });
    expect(checkModernMessage(undefined, { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta("2027-01-01") } })).toMatchObject({ ok: false, status: 400, code: -32022 });
    expect(checkModernMessage("2025-11-25", { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta("2026-07-28") } })).toMatchObject({ ok: false, status: 400, code: -32020 });
    // An unknown version under a header that names another: the mismatch is what is wrong.
    expect(checkModernMessage("2026-07-28", { jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: meta("v999.0.0") } })).toMatchObject({ ok: false, status: 400, code: -32020 });
    expect(checkModernMessage(undefined, { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" } } })).toMatchObject({ ok: false, code: -32602 });
  });
});

describe("modernResult", () => {
  it("marks results complete, list results not cacheable, and stamps the server's identity", () => {
    const server = { name: "portico-gateway", version: "0.1.0" };
    expect(modernResult("tools/list", { tools: [] }, server)).toEqual({ tools: [], resultType: "complete", ttlMs: 0, cacheScope: "private", _meta: { "io.modelcontextprotocol/serverInfo": server } });
    expect(modernResult("tools/call", { content: [], _meta: { trace: "t" } }, server)).toEqual({ content: [], resultType: "complete", _meta: { trace: "t", "io.modelcontextprotocol/serverInfo": server } });
  });
});

describe("standard headers (Mcp-Method, Mcp-Name)", () => {
  const V = "2026-07-28";
  const call = (name: string) => ({ jsonrpc: "2.0" as const, id: 1, method: "tools/call", params: { name, arguments: {}, _meta: meta(V) } });

  it("passes headers that mirror the body, including a Base64-wrapped name", () => {
    expect(checkStandardHeaders({ protocolVersion: V, method: "tools/list" }, { jsonrpc: "2.0", id: 1, method: "tools/list" })).toBeUndefined();
    expect(checkStandardHeaders({ protocolVersion: V, method: "tools/call", name: "billing_top" }, call("billing_top"))).toBeUndefined();
    const uri = "file:///factures/été.pdf";
    const read = { jsonrpc: "2.0" as const, id: 2, method: "resources/read", params: { uri, _meta: meta(V) } };
    expect(checkStandardHeaders({ protocolVersion: V, method: "resources/read", name: `=?base64?${Buffer.from(uri).toString("base64")}?=` }, read)).toBeUndefined();
  });

  it("refuses missing, different or undecodable headers with 400 / -32020, and exempts notifications", () => {
    const refused = (headers: Parameters<typeof checkStandardHeaders>[0], message = call("billing_top")) => checkStandardHeaders(headers, message)?.reason;
    expect(refused({ method: "tools/call", name: "billing_top" })).toBe("protocol version header missing");
    expect(refused({ protocolVersion: V, name: "billing_top" })).toBe("method header missing");
    expect(refused({ protocolVersion: V, method: "tools/list", name: "billing_top" })).toBe("method header mismatch");
    expect(refused({ protocolVersion: V, method: "tools/call" })).toBe("name header missing");
    expect(refused({ protocolVersion: V, method: "tools/call", name: "billing_other" })).toBe("name header mismatch");
    expect(refused({ protocolVersion: V, method: "tools/call", name: "=?base64?%%%?=" })).toBe("name header malformed");
    expect(checkStandardHeaders({ method: "tools/call" }, call("x"))).toMatchObject({ status: 400, code: -32020 });
    expect(checkStandardHeaders({}, { jsonrpc: "2.0", method: "notifications/cancelled", params: { _meta: meta(V) } })).toBeUndefined();
  });

  it("decodes only what a header can carry", () => {
    expect(decodeHeaderValue("us-west1")).toBe("us-west1");
    expect(decodeHeaderValue("=?base64?SGVsbG8sIOS4lueVjA==?=")).toBe("Hello, 世界");
    expect(decodeHeaderValue("=?base64?/w==?=")).toBeUndefined();
    expect(decodeHeaderValue("=?base64?abc?=")).toBeUndefined();
    expect(decodeHeaderValue("caf\u00e9")).toBeUndefined();
  });
});
