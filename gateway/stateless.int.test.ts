import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";

import { GATEWAY_TOKEN, PORTAL, startHarness, type Harness } from "./testing/harness";

/**
 * The 2026-07-28 era: stateless requests with their version in `_meta`, beside the legacy
 * sessions, through the real gateway, with the real 2.x SDK client (`@modelcontextprotocol/client`).
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

type Mode = "auto" | "legacy";

async function modernClient(token: string, mode: Mode = "auto") {
  const client = new ModernClient({ name: "stateless-test", version: "2.0.0" }, { versionNegotiation: { mode } });
  await client.connect(new ModernTransport(new URL(h.portalUrl()), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

const V = "2026-07-28";
const envelope = (extra: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": V,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "raw-fetch", version: "1" },
  ...extra,
});

type Reply = { result?: Record<string, unknown>; error?: { code: number; message: string; data?: { supported?: string[]; requested?: string } } };

/**
 * A raw stateless POST with the standard headers a 2026-07-28 client sends, mirrored from the body
 * (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`); a test overrides one, or drops it with null.
 */
async function post(body: unknown, headers: Record<string, string | null> = {}) {
  const single = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as { method?: string; params?: { name?: unknown; uri?: unknown } }) : undefined;
  const name = single?.params?.name ?? single?.params?.uri;
  const mirrored: Record<string, string> = {
    "mcp-protocol-version": V,
    ...(single?.method ? { "mcp-method": single.method } : {}),
    ...(typeof name === "string" && ["tools/call", "prompts/get", "resources/read"].includes(single?.method ?? "") ? { "mcp-name": name } : {}),
  };
  const merged = { ...mirrored, ...headers };
  const res = await fetch(h.portalUrl(), {
    method: "POST",
    headers: {
      authorization: `Bearer ${await h.mintToken()}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== null)),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json().catch(() => null)) as Reply | null };
}

describe("the 2026-07-28 client (SDK 2.x) through the gateway", () => {
  it("negotiates the stateless era, lists the tools its role allows and calls one, with no session", async () => {
    const client = await modernClient(await h.mintToken());
    expect(client.getProtocolEra()).toBe("modern");
    expect(client.getNegotiatedProtocolVersion()).toBe(V);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain("cost-explorer_list_accounts");
    expect(names).not.toContain("budgets_delete_budget");
    const before = h.events.length;
    const result = await client.callTool({ name: "cost-explorer_list_accounts", arguments: {} });
    expect(result.isError ?? false).toBe(false);
    expect(JSON.stringify(result.content)).toContain("account");
    await new Promise((r) => setTimeout(r, 50));
    const event = h.events.slice(before).find((e) => e.action === "tools/call");
    expect(event).toMatchObject({ outcome: "allow", server: "cost-explorer", tool: "list_accounts" });
    expect(event?.data).toMatchObject({ protocolVersion: V, clientName: "stateless-test", clientVersion: "2.0.0", sessionId: null, upstreamOutcome: "success" });
    await client.close();
  });

  it("gets the policy's refusal, naming the rule, for a tool the role does not allow", async () => {
    const client = await modernClient(await h.mintToken());
    const result = await client.callTool({ name: "budgets_delete_budget", arguments: { budget_id: "b-1" } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/Access denied by rule|not available in this portal|elevated access/);
    await client.close();
  });

  it("reads prompts and resources like a legacy session", async () => {
    const client = await modernClient(await h.mintToken());
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain("probe_greet");
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain("probe://status");
    const read = await client.readResource({ uri: "probe://status" });
    expect(read.contents[0]).toMatchObject({ text: "all good" });
    await client.close();
  });

  it("hears of a tool turned off through subscriptions/listen, and no longer sees or calls it", async () => {
    const client = await modernClient(await h.mintToken());
    let listChanged = 0;
    client.setNotificationHandler("notifications/tools/list_changed", () => {
      listChanged += 1;
    });
    const subscription = await client.listen({ toolsListChanged: true, resourcesListChanged: true });
    expect(subscription.honoredFilter).toEqual({ toolsListChanged: true, resourcesListChanged: true });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("tagging_list_untagged_resources");

    const version = h.gateway.state()!.version + 1;
    const res = await fetch(`${h.gateway.url}/internal/config`, {
      method: "POST",
      headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ version, jws: await h.sign(h.snapshot(version, { disabled: ["tagging_list_untagged_resources"] })) }),
    });
    expect(res.status).toBe(200);
    const deadline = Date.now() + 2_000;
    while (listChanged === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(listChanged).toBe(1);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain("tagging_list_untagged_resources");
    await expect(client.callTool({ name: "tagging_list_untagged_resources", arguments: {} })).rejects.toThrow(/turned off in this portal/);
    await subscription.close();
    expect(await subscription.closed).toBe("local");
    await client.close();
  });

  it("ends a listening stream when its caller's access is revoked, not only their next request", async () => {
    const client = await modernClient(await h.mintToken({}, { subject: "sa-revoked" }));
    const subscription = await client.listen({ toolsListChanged: true });
    const version = h.gateway.state()!.version + 1;
    // Revoked from a moment after the token was issued (tokens carry whole seconds).
    const at = new Date(Date.now() + 1_000);
    await new Promise((r) => setTimeout(r, 1_100));
    const revocations = [{ kind: "subject" as const, id: "sa-revoked", at: at.toISOString(), reason: "service account disabled" as const }];
    const res = await fetch(`${h.gateway.url}/internal/config`, {
      method: "POST",
      headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ version, jws: await h.sign(h.snapshot(version, { revocations })) }),
    });
    expect(res.status).toBe(200);
    const ended = await Promise.race([subscription.closed.then((how) => how), new Promise((r) => setTimeout(() => r("still open"), 3_000))]);
    expect(ended).not.toBe("still open");
    expect(ended).not.toBe("local");
    await client.close();
  });

  it("still works when the client tries the legacy era first", async () => {
    const client = await modernClient(await h.mintToken(), "legacy");
    expect(client.getProtocolEra()).toBe("legacy");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("cost-explorer_list_accounts");
    await client.close();
  });

  it("leaves legacy clients (SDK 1.x) as they were", async () => {
    const client = await h.connect(await h.mintToken());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("cost-explorer_list_accounts");
    await client.close();
  });
});

describe("stateless requests on the wire", () => {
  it("answers server/discover with the versions, capabilities and identity, and no session id", async () => {
    const res = await post({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: envelope() } });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    expect(res.json?.result).toMatchObject({
      resultType: "complete",
      supportedVersions: expect.arrayContaining([V, "2025-11-25"]),
      capabilities: { tools: {} },
      _meta: { "io.modelcontextprotocol/serverInfo": { name: "portico-gateway" } },
    });
  });

  it("refuses an unknown protocol version with 400 and -32022, listing the versions it speaks", async () => {
    const res = await post({ jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta: envelope({ "io.modelcontextprotocol/protocolVersion": "2031-01-01" }) } }, { "mcp-protocol-version": "2031-01-01" });
    expect(res.status).toBe(400);
    expect(res.json?.error).toMatchObject({ code: -32022, data: { requested: "2031-01-01" } });
    expect(res.json?.error?.data?.supported).toEqual(expect.arrayContaining([V, "2025-11-25"]));
  });

  it("refuses a header that disagrees with _meta, and a request without client capabilities", async () => {
    const mismatch = await post({ jsonrpc: "2.0", id: 3, method: "tools/list", params: { _meta: envelope() } }, { "mcp-protocol-version": "2025-11-25" });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json?.error?.code).toBe(-32020);
    const noCaps = await post({ jsonrpc: "2.0", id: 4, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": V } } });
    expect(noCaps.status).toBe(400);
    expect(noCaps.json?.error?.code).toBe(-32602);
  });

  it("refuses standard headers that are missing or disagree with the body (400, -32020), and runs nothing", async () => {
    const call = (name: string) => ({ jsonrpc: "2.0", id: 20, method: "tools/call", params: { name, arguments: {}, _meta: envelope() } });
    const tool = "cost-explorer_list_accounts";
    const cases: [string, unknown, Record<string, string | null>][] = [
      ["no Mcp-Method", { jsonrpc: "2.0", id: 21, method: "tools/list", params: { _meta: envelope() } }, { "mcp-method": null }],
      ["Mcp-Method of another method", { jsonrpc: "2.0", id: 22, method: "tools/list", params: { _meta: envelope() } }, { "mcp-method": "tools/call" }],
      ["no MCP-Protocol-Version", { jsonrpc: "2.0", id: 23, method: "tools/list", params: { _meta: envelope() } }, { "mcp-protocol-version": null }],
      ["no Mcp-Name", call(tool), { "mcp-name": null }],
      // What a confused deputy would let through: the edge sees one tool, the upstream runs another.
      ["Mcp-Name of another tool", call(tool), { "mcp-name": "cost-explorer_harmless_tool" }],
      ["undecodable Mcp-Name", call(tool), { "mcp-name": "=?base64?%%%?=" }],
    ];
    for (const [label, body, headers] of cases) {
      const res = await post(body, headers);
      expect(res.status, label).toBe(400);
      expect(res.json?.error?.code, label).toBe(-32020);
    }
    const ok = await post(call(tool), { "mcp-name": `=?base64?${Buffer.from(tool).toString("base64")}?=` });
    expect(ok.status).toBe(200);
  });

  it("refuses batches, malformed JSON and a foreign Origin, and stays up", async () => {
    const batch = await post([
      { jsonrpc: "2.0", id: 5, method: "tools/list", params: { _meta: envelope() } },
      { jsonrpc: "2.0", id: 6, method: "tools/list", params: { _meta: envelope() } },
    ]);
    expect(batch.status).toBe(400);
    expect(batch.json?.error?.code).toBe(-32600);
    const malformed = await post('{"jsonrpc":"2.0","id":7,');
    expect(malformed.status).toBe(400);
    expect(malformed.json?.error?.code).toBe(-32700);
    const foreign = await post({ jsonrpc: "2.0", id: 8, method: "tools/list", params: { _meta: envelope() } }, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    const ok = await post({ jsonrpc: "2.0", id: 9, method: "tools/list", params: { _meta: envelope() } });
    expect(ok.status).toBe(200);
    expect(ok.json?.result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
  });

  it("answers methods the era dropped (ping) as unknown, and an unknown tool with a clear error", async () => {
    // HTTP 404 as well as -32601 (the conformance suite's 2026-07-28 requirement), for each removed method.
    for (const method of ["ping", "initialize", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"]) {
      const params = method === "logging/setLevel" ? { level: "info" } : method.startsWith("resources/") ? { uri: "test://x" } : {};
      const removed = await post({ jsonrpc: "2.0", id: 10, method, params: { ...params, _meta: envelope() } });
      expect([method, removed.status, removed.json?.error?.code]).toEqual([method, 404, -32601]);
    }
    const before = h.events.length;
    const unknown = await post({ jsonrpc: "2.0", id: 11, method: "tools/call", params: { name: "get_spend", arguments: {}, _meta: envelope() } });
    expect(unknown.json?.error).toMatchObject({ code: -32602 });
    expect(unknown.json?.error?.message).toMatch(/not available in this portal/);
    // On record as an unknown name, as in the 2025 era (gateway.int.test.ts), not as a tool of the portal.
    const deadline = Date.now() + 2_000;
    while (!h.events.slice(before).some((e) => e.action === "tools/call") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const event = h.events.slice(before).find((e) => e.action === "tools/call");
    expect(event).toMatchObject({ outcome: "deny", targetType: "portal", targetId: PORTAL, server: null, tool: null, reasons: ["unknown tool"], data: expect.objectContaining({ unknownTool: "get_spend" }) });
    expect(event?.data).not.toHaveProperty("exposedName");
  });
});
