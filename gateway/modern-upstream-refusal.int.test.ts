import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startConformanceUpstreamV2, type ConformanceUpstreamV2 } from "./testing/conformance-upstream-v2";
import { startHarness, type Harness } from "./testing/harness";

/**
 * A 2026-07-28 upstream is told only what the gateway declares for it (the client's capabilities,
 * less what the admin turned off for that server). A compliant one then never asks for the rest;
 * a non-compliant one asks anyway (input_required with sampling, elicitation or roots) and the
 * gateway must not pass that on: the client gets -32021 as a compliant server would have answered,
 * nothing of the question, and the refusal is on record as `mcp.server_request`, deny.
 * Real gateway, a real SDK 2.x upstream that claims every capability whatever the request
 * declared ("rude"), and 2026-07-28 requests as a client sends them.
 */

let h: Harness;
let rude: ConformanceUpstreamV2;
let token: string;

const ALL = { sampling: {}, elicitation: {}, roots: {} };

beforeAll(async () => {
  rude = await startConformanceUpstreamV2({ ignoreDeclaredCapabilities: true });
  h = await startHarness({ extraServers: [{ slug: "rude", url: rude.url }] });
  await h.publish(2, (snapshot) => {
    snapshot.portals[0]!.servers.find((s) => s.slug === "rude")!.serverRequests = { sampling: false, elicitation: true };
  });
  token = await h.mintToken();
});

afterAll(async () => {
  await h?.close();
  await rude?.close();
});

type Body = { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

/** One 2026-07-28 request, as a client sends it: the HTTP status and the JSON-RPC answer. */
async function send(method: "tools/call" | "prompts/get", name: string, id: number, capabilities: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ status: number; body: Body }> {
  const res = await fetch(h.portalUrl(), {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": method,
      "mcp-name": name,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method,
      params: {
        name,
        ...(method === "tools/call" ? { arguments: {} } : {}),
        ...extra,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": capabilities,
          "io.modelcontextprotocol/clientInfo": { name: "modern-client", version: "2" },
        },
      },
    }),
  });
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("text/event-stream") ? text.split("\n").filter((l) => l.startsWith("data: ")).pop()!.slice(6) : text;
  return { status: res.status, body: JSON.parse(json) as Body };
}

const eventsOf = (kind: string, from: number) => h.events.slice(from).filter((e) => e.kind === kind);

describe("a 2026-07-28 upstream that asks what it was not offered", () => {
  it("never gets sampling the admin turned off to the client, even from a client that offers it: -32021 saying so, and a refusal on record", async () => {
    const before = h.events.length;
    const { status, body } = await send("tools/call", "rude_test_input_required_result_sampling", 7, ALL);
    expect(status).toBe(400);
    expect(body.error).toEqual({ code: -32021, message: "Missing required client capability: sampling is turned off for this server in Portico", data: { requiredCapabilities: { sampling: {} } } });
    expect(JSON.stringify(body)).not.toContain("capital of France");
    expect(eventsOf("mcp.server_request", before)).toEqual([
      expect.objectContaining({
        action: "sampling/createMessage",
        outcome: "deny",
        server: "rude",
        reasons: ["sampling is turned off for server rude"],
        data: expect.objectContaining({ result: "refused", inputKey: "capital_question", callRequestId: 7, sessionId: null, clientName: "modern-client" }),
      }),
    ]);
    expect(eventsOf("mcp.request", before)).toEqual([
      expect.objectContaining({ outcome: "deny", reasons: expect.arrayContaining(["server asked sampling/createMessage: sampling is turned off for server rude"]) }),
    ]);
  });

  it("refuses a question for a capability the client did not declare, on tools and prompts alike, as a compliant server would", async () => {
    const before = h.events.length;
    // Declares sampling only: the upstream's elicitation must not reach it.
    const tool = await send("tools/call", "rude_test_input_required_result_elicitation", 8, { sampling: {} });
    expect(tool.status).toBe(400);
    expect(tool.body.error).toEqual({ code: -32021, message: "Missing required client capability", data: { requiredCapabilities: { elicitation: {} } } });
    // Declares nothing (no call held open here): the same answer.
    const prompt = await send("prompts/get", "rude_test_input_required_result_prompt", 9, {});
    expect(prompt.status).toBe(400);
    expect(prompt.body.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { elicitation: {} } } });
    const roots = await send("tools/call", "rude_test_input_required_result_list_roots", 10, {});
    expect(roots.body.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { roots: {} } } });
    expect(eventsOf("mcp.server_request", before).map((e) => [e.action, e.outcome, e.reasons, (e.data as { callRequestId?: unknown }).callRequestId])).toEqual([
      ["elicitation/create", "deny", ["the client did not declare elicitation"], 8],
      ["elicitation/create", "deny", ["the client did not declare elicitation"], 9],
      ["roots/list", "deny", ["the client did not declare roots"], 10],
    ]);
  });

  it("still relays what the server may ask and the client offers, and refuses the whole request when one question of several may not go", async () => {
    const asked = await send("tools/call", "rude_test_input_required_result_elicitation", 11, ALL);
    expect(asked.body.result).toMatchObject({ resultType: "input_required", inputRequests: { user_name: { method: "elicitation/create" } } });
    const done = await send("tools/call", "rude_test_input_required_result_elicitation", 12, ALL, { requestState: asked.body.result!.requestState, inputResponses: { user_name: { action: "accept", content: { name: "Ana" } } } });
    expect(done.body.result).toMatchObject({ resultType: "complete", content: [{ text: "Hello, Ana!" }] });

    // Elicitation, sampling and roots at once: sampling is off, so none of the three is asked.
    const before = h.events.length;
    const mixed = await send("tools/call", "rude_test_input_required_result_multiple_inputs", 13, ALL);
    expect(mixed.body.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { sampling: {} } } });
    expect(JSON.stringify(mixed.body)).not.toContain("What is your name");
    expect(eventsOf("mcp.server_request", before).map((e) => [e.action, e.outcome, (e.data as { inputKey?: unknown }).inputKey])).toEqual([["sampling/createMessage", "deny", "greeting"]]);
  });
});
