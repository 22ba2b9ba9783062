import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startConformanceUpstream, type ConformanceUpstream } from "./testing/conformance-upstream";
import { startConformanceUpstreamV2, type ConformanceUpstreamV2 } from "./testing/conformance-upstream-v2";
import { startHarness, type Harness } from "./testing/harness";

/**
 * A 2026-07-28 client's multi round-trip request across a fleet: the rounds of one request reach
 * different gateways (as a load balancer spreads stateless requests) and the request still
 * completes, because the state the client carries is sealed with the fleet's key and holds all a
 * gateway needs. Altered, replayed and borrowed states are refused. Real gateways (two), a real
 * SDK 2.x upstream that answers input_required itself, and the SDK 1.x upstream for the case
 * that still needs one gateway (a call held open while the client answers).
 */

let h: Harness;
let v2: ConformanceUpstreamV2;
let v1: ConformanceUpstream;
let peer: Awaited<ReturnType<Harness["startPeer"]>>;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  v2 = await startConformanceUpstreamV2();
  v1 = await startConformanceUpstream();
  h = await startHarness({ extraServers: [{ slug: "conf2", url: v2.url }, { slug: "conf", url: v1.url }] });
  peer = await h.startPeer("test-gateway-2");
  tokens.gw1 = await h.mintToken();
  tokens.gw2 = await h.mintToken({}, { audience: peer.portalUrl });
});

afterAll(async () => {
  await h?.close();
  await v2?.close();
  await v1?.close();
});

type Reply = { status: number; body: { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } } };

/** One 2026-07-28 tools/call, as a client sends it, to gateway 1 or 2. */
async function call(gateway: "gw1" | "gw2", tool: string, extra: Record<string, unknown> = {}, capabilities: Record<string, unknown> = { elicitation: {}, sampling: {}, roots: {} }, token?: string): Promise<Reply> {
  const url = gateway === "gw1" ? h.portalUrl() : peer.portalUrl;
  const res = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token ?? tokens[gateway]}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": tool,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: tool, arguments: {}, ...extra, _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": capabilities } },
    }),
  });
  const text = await res.text();
  // An SSE answer carries the response as its last data line.
  const json = res.headers.get("content-type")?.includes("text/event-stream") ? text.split("\n").filter((l) => l.startsWith("data: ")).pop()!.slice(6) : text;
  return { status: res.status, body: JSON.parse(json) as Reply["body"] };
}

const accept = (content: Record<string, unknown>) => ({ action: "accept", content });

describe("input_required across the gateways of a fleet", () => {
  it("completes a three-round request whose rounds reach different gateways", async () => {
    const tool = "conf2_test_input_required_result_multi_round";
    const first = await call("gw1", tool);
    expect(first.body.result).toMatchObject({ resultType: "input_required", inputRequests: { step1: { method: "elicitation/create" } } });
    const state1 = first.body.result!.requestState as string;
    expect(state1).toMatch(/^ps1\./);

    const second = await call("gw2", tool, { requestState: state1, inputResponses: { step1: accept({ name: "Ada" }) } });
    expect(second.body.result).toMatchObject({ resultType: "input_required", inputRequests: { step2: { method: "elicitation/create" } } });
    const state2 = second.body.result!.requestState as string;

    const third = await call("gw1", tool, { requestState: state2, inputResponses: { step2: accept({ color: "teal" }) } });
    expect(third.status).toBe(200);
    expect(third.body.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "Both steps done" }] });

    // The upstream got its own state back each round, never the gateway's; the client never saw the upstream's.
    const retries = v2.seen.filter((m) => m.method === "tools/call" && m.params?.name === "test_input_required_result_multi_round" && m.params?.requestState !== undefined);
    expect(retries.map((m) => String(m.params!.requestState).slice(0, 3))).toEqual(["v1.", "v1."]);
    expect(state1).not.toContain("v1.");
    // Both gateways audited their round, each naming itself.
    const gateways = h.events.filter((e) => e.action === "tools/call" && String(e.tool).includes("multi_round")).map((e) => (e.data as { gateway?: string } | null)?.gateway);
    expect(new Set(gateways)).toEqual(new Set(["test-gateway", "test-gateway-2"]));
  });

  it("refuses a state used twice on the same gateway, an altered one, one borrowed by another caller, and one sent with other arguments", async () => {
    const tool = "conf2_test_input_required_result_request_state";
    const first = await call("gw1", tool);
    const state = first.body.result!.requestState as string;
    const answers = { inputResponses: { confirm: accept({ ok: true }) } };

    const used = await call("gw2", tool, { requestState: state, ...answers });
    expect(used.body.result).toMatchObject({ resultType: "complete", content: [{ text: expect.stringContaining("state-ok") }] });
    const replayed = await call("gw2", tool, { requestState: state, ...answers });
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toMatchObject({ code: -32602, message: expect.stringContaining("already used") });

    const fresh = (await call("gw1", tool)).body.result!.requestState as string;
    const altered = fresh.slice(0, -6) + (fresh.at(-6) === "A" ? "B" : "A") + fresh.slice(-5);
    const tampered = await call("gw2", tool, { requestState: altered, ...answers });
    expect(tampered.status).toBe(400);
    expect(tampered.body.error).toMatchObject({ code: -32602, message: expect.stringContaining("not valid") });

    const someoneElse = await h.mintToken({ client_id: "sa_other" }, { audience: peer.portalUrl, subject: "sa_other" });
    const borrowed = await call("gw2", tool, { requestState: fresh, ...answers }, undefined, someoneElse);
    expect(borrowed.status).toBe(400);
    expect(borrowed.body.error?.message).toContain("another caller");

    // For another tool: refused too, and the state is still good for its own request.
    const otherTool = await call("gw2", "conf2_test_input_required_result_tampered_state", { requestState: fresh, ...answers });
    expect(otherTool.body.error?.message).toContain("another caller or request");
    // The same request with other arguments: a state answers only the request it was issued for.
    const otherArguments = await call("gw2", tool, { arguments: { account: "prod" }, requestState: fresh, ...answers });
    expect(otherArguments.status).toBe(400);
    expect(otherArguments.body.error?.message).toContain("another caller or request");
    const rightful = await call("gw2", tool, { requestState: fresh, ...answers });
    expect(rightful.body.result).toMatchObject({ resultType: "complete" });
  });

  it("says which gateway holds a call an SDK 1.x upstream keeps open, when the retry reaches another", async () => {
    const first = await call("gw1", "conf_test_sampling", { arguments: { prompt: "Summarise the bill" } });
    expect(first.body.result).toMatchObject({ resultType: "input_required", inputRequests: { "input-1": { method: "sampling/createMessage" } } });
    const state = first.body.result!.requestState as string;
    const answer = { role: "assistant", content: { type: "text", text: "mostly compute" }, model: "m", stopReason: "endTurn" };

    const elsewhere = await call("gw2", "conf_test_sampling", { arguments: { prompt: "Summarise the bill" }, requestState: state, inputResponses: { "input-1": answer } });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error?.message).toContain('held open on gateway "test-gateway"');

    const home = await call("gw1", "conf_test_sampling", { arguments: { prompt: "Summarise the bill" }, requestState: state, inputResponses: { "input-1": answer } });
    expect(home.body.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "LLM response: mostly compute" }] });
  });
});
