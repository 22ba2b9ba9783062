import { afterEach, describe, expect, it } from "vitest";

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

import { startHarness, type Harness } from "./testing/harness";

/**
 * Legacy sessions whose client went away without a DELETE (a closed laptop, a crashed process):
 * evicted after the short detached timeout once nothing is open on them, while a session that
 * holds its GET stream stays; and at the session cap, the longest idle detached session makes room.
 */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sessionOf = (client: Client) => (client.transport as StreamableHTTPClientTransport).sessionId!;

/** A POST in a session, as a client that kept the id would send it after coming back. */
async function listIn(harness: Harness, sessionId: string, token: string): Promise<number> {
  const res = await fetch(harness.portalUrl(), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list" }),
  });
  await res.body?.cancel();
  return res.status;
}

const ok = async (client: Client) => ((await client.callTool({ name: "cost-explorer_list_accounts", arguments: {} })) as CallToolResult).isError;

describe("sessions whose client went away", () => {
  it("are evicted after the detached timeout, while a session holding its stream stays", async () => {
    const harness = (h = await startHarness({ env: { detachedIdleMs: 400 } }));
    const token = await harness.mintToken();
    const kept = await harness.connect(token);
    const gone = await harness.connect(token);
    expect(await ok(gone)).toBeFalsy();
    const goneId = sessionOf(gone);
    // Closing the client drops its GET stream and sockets, and sends no DELETE.
    await gone.close();
    // (Watched from the gateway's side: a request in the session would be activity and keep it.)
    await until("the abandoned session is evicted", () => harness.gateway.pipeline.sessionCount() === 1);
    expect(await listIn(harness, goneId, token)).toBe(404);
    // Idle much longer than the detached timeout, but its GET stream is open: still served.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(harness.gateway.pipeline.sessionCount()).toBe(1);
    expect(await ok(kept)).toBeFalsy();
    await kept.close();
  });

  it("make room at the session cap: the longest idle detached session is closed, and new ones are refused only when none is detached", async () => {
    const harness = (h = await startHarness({ env: { maxSessions: 2, detachedIdleMs: 3_600_000 } }));
    const token = await harness.mintToken();
    const abandoned = await harness.connect(token);
    const abandonedId = sessionOf(abandoned);
    await abandoned.close();
    const first = await harness.connect(token);
    // At the cap with one detached session: it makes room for the next.
    const second = await harness.connect(token);
    expect(await listIn(harness, abandonedId, token)).toBe(404);
    expect(await ok(first)).toBeFalsy();
    expect(await ok(second)).toBeFalsy();
    // Both sessions hold their streams: nothing to evict, so the next initialize gets 503.
    const refused = await fetch(harness.portalUrl(), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "third", version: "1" } } }),
    });
    expect(refused.status).toBe(503);
    await first.close();
    await second.close();
  });
});
