import { describe, expect, it } from "vitest";

import { checkModernMessage, isModernPost, modernResult } from "./modern";

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
    expect(checkModernMessage("2025-11-25", { jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta("2026-07-28") } })).toMatchObject({ ok: false, code: -32600 });
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
