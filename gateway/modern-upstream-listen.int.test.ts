import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startConformanceUpstreamV2, type ConformanceUpstreamV2 } from "./testing/conformance-upstream-v2";
import { startHarness, type Harness } from "./testing/harness";

/**
 * A 2026-07-28 upstream has no session to tell of its list changes on: it tells its
 * `subscriptions/listen` streams. The gateway keeps one open to it, so a client listening on the
 * portal hears of the upstream's changes as it hears of the portal's own: a prompt list change as
 * it comes, a tool change when it changes what the client sees (a tool whose definition drifted
 * from the accepted one is withdrawn, and offered again once it is back). Real gateway, a real
 * SDK 2.x upstream, 2026-07-28 requests as a client sends them.
 */

let h: Harness;
let v2: ConformanceUpstreamV2;
let token: string;

beforeAll(async () => {
  v2 = await startConformanceUpstreamV2();
  h = await startHarness({ extraServers: [{ slug: "conf2", url: v2.url }] });
  token = await h.mintToken();
});

afterAll(async () => {
  await h?.close();
  await v2?.close();
});

const META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "modern-client", version: "2" },
};

function post(method: string, params: Record<string, unknown>, id: number, signal?: AbortSignal) {
  return fetch(h.portalUrl(), {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id, method, params: { ...params, _meta: META } }),
    signal,
  });
}

async function rpc(method: string, params: Record<string, unknown>, id: number): Promise<Record<string, unknown>> {
  const res = await post(method, params, id);
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("text/event-stream") ? text.split("\n").filter((l) => l.startsWith("data: ")).pop()!.slice(6) : text;
  return (JSON.parse(json) as { result: Record<string, unknown> }).result;
}

/** A subscriptions/listen stream on the portal: the methods of what it carries, as they come. */
async function listen(notifications: Record<string, true>) {
  const controller = new AbortController();
  const res = await post("subscriptions/listen", { notifications }, 1, controller.signal);
  const methods: string[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("data: ")) methods.push((JSON.parse(line.slice(6)) as { method: string }).method);
    }
  })();
  return { methods, close: () => controller.abort() };
}

/** Runs the upstream's trigger until the listener has heard `method` `times` times (the gateway's own listen stream may still be opening). */
async function triggerUntil(tool: string, heard: string[], method: string, times: number) {
  for (let round = 0; round < 20 && heard.filter((m) => m === method).length < times; round++) {
    if (round === 0 || round % 4 === 0) await rpc("tools/call", { name: tool, arguments: {} }, 100 + round);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const toolNames = async () => ((await rpc("tools/list", {}, 9)).tools as { name: string }[]).map((t) => t.name);

describe("list changes of a 2026-07-28 upstream", () => {
  it("reach a client listening on the portal: prompts as they come", async () => {
    // The first request the upstream answers as 2026-07-28 is when the gateway starts listening to it.
    await rpc("tools/call", { name: "conf2_test_simple_text", arguments: {} }, 2);
    const stream = await listen({ promptsListChanged: true });
    await triggerUntil("conf2_test_trigger_prompt_change", stream.methods, "notifications/prompts/list_changed", 1);
    stream.close();
    expect(stream.methods[0]).toBe("notifications/subscriptions/acknowledged");
    expect(stream.methods).toContain("notifications/prompts/list_changed");
    expect(v2.seen.filter((m) => m.method === "subscriptions/listen")).toHaveLength(1);
  });

  it("reach it for tools when what it sees changes: a drifted tool withdrawn, then offered again once it is back", async () => {
    expect(await toolNames()).toContain("conf2_test_changing_tool");
    const stream = await listen({ toolsListChanged: true });
    await triggerUntil("conf2_test_trigger_tool_change", stream.methods, "notifications/tools/list_changed", 1);
    expect(stream.methods).toContain("notifications/tools/list_changed");
    expect(await toolNames()).not.toContain("conf2_test_changing_tool");

    await rpc("tools/call", { name: "conf2_test_trigger_tool_change", arguments: {} }, 50);
    await expect.poll(() => stream.methods.filter((m) => m === "notifications/tools/list_changed").length, { timeout: 5_000 }).toBe(2);
    expect(await toolNames()).toContain("conf2_test_changing_tool");
    stream.close();
  });
});
