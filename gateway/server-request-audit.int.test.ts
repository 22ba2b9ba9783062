import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import type { AuditEventInput } from "@/lib/audit/event";

import { startConformanceHarness, type ConformanceHarness } from "./testing/conformance-harness";

/**
 * Every request from the server side is on record as `mcp.server_request`, whichever era asks it:
 * a legacy session's relayed sampling, a 2026-07-28 upstream's input_required questions (answered
 * on the client's retry, nothing held here), and an SDK 1.x upstream's questions to a 2026-07-28
 * client (its call held open on the gateway). Same fields, same outcomes, same DLP redaction.
 * Real gateway, real upstreams (SDK 1.x and 2.x), a real SDK client for the legacy session and
 * 2026-07-28 requests as a client sends them. The portal blocks card numbers, redacts e-mail
 * addresses in the record and keeps full payloads.
 */

const CARD = "4111 1111 1111 1111";
const EMAIL = "ana@example.com";

let h: ConformanceHarness;
let token: string;

beforeAll(async () => {
  h = await startConformanceHarness();
  await h.publish(2, (snapshot) => {
    snapshot.portals[0]!.dlp = { actions: { card: "block" }, capture: "full" };
  });
  token = await h.mintToken();
});

afterAll(async () => {
  await h?.close();
});

type Body = { result?: Record<string, unknown>; error?: { code: number; message: string } };

/** One 2026-07-28 tools/call, as a client sends it. */
async function call(tool: string, id: number, extra: Record<string, unknown> = {}): Promise<Body> {
  const res = await fetch(h.portalUrl(), {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": tool,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: {
        name: tool,
        arguments: {},
        ...extra,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": { elicitation: {}, sampling: {}, roots: {} },
          "io.modelcontextprotocol/clientInfo": { name: "modern-client", version: "2" },
        },
      },
    }),
  });
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("text/event-stream") ? text.split("\n").filter((l) => l.startsWith("data: ")).pop()!.slice(6) : text;
  return JSON.parse(json) as Body;
}

const serverRequests = (from: number) => h.events.slice(from).filter((e) => e.kind === "mcp.server_request");
const sampled = (text: string) => ({ role: "assistant", content: { type: "text", text }, model: "m", stopReason: "endTurn" });
/** The fields an audit reader relies on, without what differs per request by nature (ids, times, latency). */
const shapeOf = (event: AuditEventInput) => ({
  kind: event.kind,
  actorType: event.actorType,
  actorId: event.actorId,
  actorLabel: event.actorLabel,
  action: event.action,
  outcome: event.outcome,
  targetType: event.targetType,
  portal: event.portal,
  dataKeys: Object.keys(event.data ?? {})
    .filter((k) => !["sessionId", "clientName", "inputKey"].includes(k))
    .sort(),
});

describe("mcp.server_request in both eras", () => {
  it("audits a 2026-07-28 upstream's sampling question when the client's retry answers it, as the legacy relay audits the same question", async () => {
    // Legacy: the SDK 1.x upstream asks a session's client during the call.
    const client = new Client({ name: "legacy-client", version: "1" }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => sampled(`Paris, says ${EMAIL}`) as never);
    await client.connect(new StreamableHTTPClientTransport(new URL(h.portalUrl()), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    let before = h.events.length;
    await client.callTool({ name: "conf_test_sampling", arguments: { prompt: "What is the capital of France?" } });
    await client.close();
    const [legacy, ...moreLegacy] = serverRequests(before);
    expect(moreLegacy).toEqual([]);

    // 2026-07-28: the upstream answers input_required; nothing is on record until the client answers.
    before = h.events.length;
    const tool = "conf2_test_input_required_result_sampling";
    const first = await call(tool, 41);
    expect(first.result).toMatchObject({ resultType: "input_required", inputRequests: { capital_question: { method: "sampling/createMessage" } } });
    expect(serverRequests(before)).toEqual([]);
    const done = await call(tool, 42, { requestState: first.result!.requestState, inputResponses: { capital_question: sampled(`Paris, says ${EMAIL}`) } });
    expect(done.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: `LLM said: Paris, says ${EMAIL}` }] });
    const [modern, ...moreModern] = serverRequests(before);
    expect(moreModern).toEqual([]);

    expect(modern).toMatchObject({
      action: "sampling/createMessage",
      outcome: "success",
      targetType: "server",
      targetId: "conf2",
      server: "conf2",
      portal: "finops",
      tool: null,
      reasons: null,
      data: expect.objectContaining({ gateway: "test-gateway", sessionId: null, clientName: "modern-client", callRequestId: 42, result: "answered", inputKey: "capital_question" }),
    });
    expect(legacy).toMatchObject({ action: "sampling/createMessage", outcome: "success", server: "conf", data: expect.objectContaining({ result: "answered" }) });
    // Who asked what of whom, and the outcome, in the same fields; the answer redacted the same way.
    expect(shapeOf(modern!)).toEqual({ ...shapeOf(legacy!), dataKeys: shapeOf(legacy!).dataKeys.filter((k) => k !== "request") });
    for (const event of [legacy!, modern!]) {
      expect(JSON.stringify(event.data)).toContain("[REDACTED:email]");
      expect(JSON.stringify(event.data)).not.toContain(EMAIL);
      expect(event.data).toMatchObject({ dlp: [expect.objectContaining({ detector: "email" })] });
    }
  });

  it("records a declined elicitation, roots, a question left unanswered, and an answer DLP blocks", async () => {
    const elicit = "conf2_test_input_required_result_elicitation";
    let before = h.events.length;
    const asked = await call(elicit, 1);
    await call(elicit, 2, { requestState: asked.result!.requestState, inputResponses: { user_name: { action: "decline" } } });
    expect(serverRequests(before)).toEqual([expect.objectContaining({ action: "elicitation/create", outcome: "success", data: expect.objectContaining({ result: "answered", action: "decline" }) })]);

    const roots = "conf2_test_input_required_result_list_roots";
    before = h.events.length;
    const rootsAsked = await call(roots, 3);
    const listed = await call(roots, 4, { requestState: rootsAsked.result!.requestState, inputResponses: { client_roots: { roots: [{ uri: "file:///bills" }] } } });
    expect(listed.result).toMatchObject({ content: [{ text: "Roots: file:///bills" }] });
    expect(serverRequests(before)).toEqual([expect.objectContaining({ action: "roots/list", server: "conf2", outcome: "success", data: expect.objectContaining({ result: "answered" }) })]);

    before = h.events.length;
    const again = await call(elicit, 5);
    await call(elicit, 6, { requestState: again.result!.requestState, inputResponses: { something_else: { action: "accept", content: {} } } });
    expect(serverRequests(before)).toEqual([
      expect.objectContaining({ action: "elicitation/create", outcome: "failure", reasons: ["the client gave no response to elicitation/create"], data: expect.objectContaining({ result: "not answered", inputKey: "user_name" }) }),
    ]);

    before = h.events.length;
    const carded = await call(elicit, 7);
    const refused = await call(elicit, 8, { requestState: carded.result!.requestState, inputResponses: { user_name: { action: "accept", content: { name: CARD } } } });
    expect(JSON.stringify(refused)).not.toContain("4111");
    const [blocked] = serverRequests(before);
    expect(blocked).toMatchObject({ action: "elicitation/create", outcome: "deny", reasons: ["blocked by DLP: card in the client's answer"], data: expect.objectContaining({ result: "blocked" }) });
    expect(JSON.stringify(blocked)).not.toContain("4111");
  });

  it("audits an SDK 1.x upstream's question to a 2026-07-28 client (the call held open here) with the request, as a session's", async () => {
    const before = h.events.length;
    const first = await call("conf_test_sampling", 11, { arguments: { prompt: `Write to ${EMAIL}` } });
    expect(first.result).toMatchObject({ resultType: "input_required", inputRequests: { "input-1": { method: "sampling/createMessage" } } });
    expect(serverRequests(before)).toEqual([]);
    const done = await call("conf_test_sampling", 12, { arguments: { prompt: `Write to ${EMAIL}` }, requestState: first.result!.requestState, inputResponses: { "input-1": sampled("sent") } });
    expect(done.result).toMatchObject({ resultType: "complete", content: [{ text: "LLM response: sent" }] });
    const events = serverRequests(before);
    expect(events).toEqual([
      expect.objectContaining({
        action: "sampling/createMessage",
        outcome: "success",
        server: "conf",
        targetId: "conf",
        data: expect.objectContaining({ sessionId: null, clientName: "modern-client", callRequestId: 11, result: "answered", inputKey: "input-1", request: expect.anything(), answer: expect.anything() }),
      }),
    ]);
    expect(JSON.stringify(events[0]!.data)).toContain("[REDACTED:email]");
    expect(JSON.stringify(events[0]!.data)).not.toContain(EMAIL);
  });
});
