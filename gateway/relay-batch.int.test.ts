import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startConformanceUpstream, type ConformanceUpstream } from "./testing/conformance-upstream";
import { startHarness, type Harness } from "./testing/harness";

/**
 * A call that is not a lone POST (here: inside a JSON-RPC batch of a 2025-03-26 session) has no
 * stream of its own for the upstream's questions: they go on the session's GET stream. With that
 * stream open the question is relayed and answered; with none, the upstream hears at once that
 * the client cannot be reached (not after a timeout), and the refusal is on record. Real gateway,
 * a real SDK 1.x upstream, and a client speaking raw HTTP (the SDK client sends no batches).
 */

let h: Harness;
let upstream: ConformanceUpstream;
let token: string;

beforeAll(async () => {
  upstream = await startConformanceUpstream();
  h = await startHarness({ extraServers: [{ slug: "conf", url: upstream.url }] });
  token = await h.mintToken();
});

afterAll(async () => {
  await h?.close();
  await upstream?.close();
});

const VERSION = "2025-03-26";

/** A 2025-03-26 session that declared sampling; its id. */
async function openSession(): Promise<string> {
  const init = await fetch(h.portalUrl(), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: VERSION, capabilities: { sampling: {} }, clientInfo: { name: "batch-client", version: "1" } } }),
  });
  const id = init.headers.get("mcp-session-id")!;
  await init.text();
  await post(id, { jsonrpc: "2.0", method: "notifications/initialized" });
  return id;
}

function post(sessionId: string, body: unknown) {
  return fetch(h.portalUrl(), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": VERSION },
    body: JSON.stringify(body),
  });
}

/** The batch's responses, from a JSON body or an SSE stream. */
async function responsesOf(res: Response): Promise<{ id: number; result?: { content: { text: string }[]; isError?: boolean } }[]> {
  const text = await res.text();
  if (!res.headers.get("content-type")?.includes("text/event-stream")) return JSON.parse(text);
  return text
    .split("\n")
    .filter((l) => l.startsWith("data: "))
    .flatMap((l) => [JSON.parse(l.slice(6))].flat());
}

const sampling = (id: number, prompt: string) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "conf_test_sampling", arguments: { prompt } } });
const serverRequests = (from: number) => h.events.slice(from).filter((e) => e.kind === "mcp.server_request");

describe("server requests for a call inside a batch", () => {
  it("refuses at once when the client has no GET stream open, and audits it", async () => {
    const session = await openSession();
    const before = h.events.length;
    const res = await post(session, [sampling(1, "Summarise the bill"), { jsonrpc: "2.0", id: 2, method: "tools/list" }]);
    const responses = await responsesOf(res);
    const call = responses.find((r) => r.id === 1)!;
    expect(call.result?.isError).toBe(true);
    expect(call.result?.content[0]!.text).toContain("not listening for requests from the server");
    expect(responses.find((r) => r.id === 2)).toMatchObject({ result: { tools: expect.any(Array) } });
    expect(serverRequests(before)).toEqual([
      expect.objectContaining({
        action: "sampling/createMessage",
        server: "conf",
        outcome: "failure",
        reasons: ["the client has no open stream to receive requests on"],
        data: expect.objectContaining({ sessionId: session, callRequestId: 1, result: "not delivered" }),
      }),
    ]);
  });

  it("relays the question on the session's GET stream when it is open, and hands the answer back", async () => {
    const session = await openSession();
    const get = await fetch(h.portalUrl(), { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": VERSION } });
    expect(get.status).toBe(200);
    const reader = get.body!.getReader();
    const before = h.events.length;
    const answered = post(session, [sampling(1, "Summarise the bill"), { jsonrpc: "2.0", id: 2, method: "tools/list" }]).then(responsesOf);

    // The question arrives on the GET stream under the gateway's id; the client answers it with a POST.
    // (A batch answered before any question came stops the reading: the question was not relayed.)
    let batchDone = false;
    void answered.then(() => {
      batchDone = true;
      void reader.cancel();
    });
    let buffered = "";
    let asked: { id: string; method: string; params: { messages: { content: { text: string } }[] } } | undefined;
    while (!asked) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += new TextDecoder().decode(value);
      const line = buffered.split("\n").find((l) => l.startsWith("data: ") && l.includes("sampling/createMessage"));
      if (line) asked = JSON.parse(line.slice(6));
    }
    expect(batchDone).toBe(false);
    expect(asked).toMatchObject({ id: expect.stringMatching(/^portico-/), method: "sampling/createMessage", params: { messages: [{ content: { text: "Summarise the bill" } }] } });
    const reply = await post(session, { jsonrpc: "2.0", id: asked!.id, result: { role: "assistant", content: { type: "text", text: "mostly compute" }, model: "m", stopReason: "endTurn" } });
    expect(reply.status).toBe(202);

    const responses = await answered;
    expect(responses.find((r) => r.id === 1)).toMatchObject({ result: { content: [{ text: "LLM response: mostly compute" }] } });
    expect(responses.find((r) => r.id === 2)).toMatchObject({ result: { tools: expect.any(Array) } });
    await reader.cancel().catch(() => undefined);
    expect(serverRequests(before)).toEqual([expect.objectContaining({ action: "sampling/createMessage", outcome: "success", data: expect.objectContaining({ result: "answered", callRequestId: 1 }) })]);
  });
});
