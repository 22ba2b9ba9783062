import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, type CallToolResult, type ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

import { startConformanceHarness, type ConformanceHarness } from "./testing/conformance-harness";

/**
 * The portal's DLP applies to what it relays, not only to tool arguments and results: an
 * upstream's sampling and elicitation requests and the client's answers, prompt arguments and
 * messages, resource contents, and the questions and answers of 2026-07-28 input_required rounds.
 * Real gateway, real upstreams (SDK 1.x and 2.x), real SDK clients. The portal blocks payment card
 * numbers, redacts e-mail addresses in the record (the default action) and keeps full payloads.
 */

const CARD = "4111 1111 1111 1111";
const EMAIL = "ana@example.com";

let h: ConformanceHarness;

beforeAll(async () => {
  h = await startConformanceHarness();
  await h.publish(2, (snapshot) => {
    snapshot.portals[0]!.dlp = { actions: { card: "block" }, capture: "full" };
  });
});

afterAll(async () => {
  await h?.close();
});

const connect = (capabilities: ClientCapabilities, setup?: (client: Client) => void) => h.connectDeclaring(capabilities, setup);

const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
const serverRequests = (from: number) => h.events.slice(from).filter((e) => e.kind === "mcp.server_request");
const sampler = (text: string) => (c: Client) =>
  c.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: "assistant", content: { type: "text", text }, model: "m", stopReason: "endTurn" }));

describe("DLP on requests relayed in a legacy session", () => {
  it("blocks a client's sampling answer that holds a card number: the server gets an error naming the detector", async () => {
    const client = await connect({ sampling: {} }, sampler(`charge it to ${CARD}`));
    const before = h.events.length;
    const result = await client.callTool({ name: "conf_test_sampling", arguments: { prompt: "Which card?" } });
    await client.close();
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('payment card number (detector "card")');
    expect(JSON.stringify(result)).not.toContain("4111");
    const [event] = serverRequests(before);
    expect(event).toMatchObject({ action: "sampling/createMessage", outcome: "deny", reasons: ["blocked by DLP: card in the client's answer"] });
    expect(JSON.stringify(event)).not.toContain("4111");
  });

  it("never shows the client an elicitation whose message holds a card number", async () => {
    let asked = 0;
    const client = await connect({ elicitation: {} }, (c) =>
      c.setRequestHandler(ElicitRequestSchema, async () => {
        asked += 1;
        return { action: "accept", content: { username: "x", email: "y" } };
      }),
    );
    const result = await client.callTool({ name: "conf_test_elicitation", arguments: { message: `Confirm card ${CARD}?` } });
    await client.close();
    expect(asked).toBe(0);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('detector "card"');
  });

  it("passes an answer holding an e-mail address on as it is, and redacts it in the record", async () => {
    const client = await connect({ sampling: {} }, sampler(`write to ${EMAIL}`));
    const before = h.events.length;
    const result = await client.callTool({ name: "conf_test_sampling", arguments: { prompt: "Who?" } });
    await client.close();
    expect(textOf(result)).toBe(`LLM response: write to ${EMAIL}`);
    const [event] = serverRequests(before);
    expect(event).toMatchObject({ outcome: "success", data: expect.objectContaining({ dlp: [{ detector: "email", field: "answer", count: 1 }] }) });
    expect(JSON.stringify(event?.data)).toContain("[REDACTED:email]");
    expect(JSON.stringify(event?.data)).not.toContain(EMAIL);
  });
});

describe("DLP on prompts and resources", () => {
  it("refuses a prompt whose arguments hold a card number, naming the detector, before the server sees it", async () => {
    const client = await connect({});
    await expect(client.getPrompt({ name: "conf2_test_prompt_with_arguments", arguments: { arg1: CARD, arg2: "x" } })).rejects.toThrow(/payment card number \(detector "card"\)/);
    const ok = await client.getPrompt({ name: "conf2_test_prompt_with_arguments", arguments: { arg1: "paris", arg2: "x" } });
    expect(ok.messages).toHaveLength(1);
    expect(JSON.stringify(h.v2.seen)).not.toContain("4111");
    await client.close();
  });

  it("withholds resource contents that hold a card number", async () => {
    const client = await connect({});
    await expect(client.readResource({ uri: "test://template/4111111111111111/data" })).rejects.toThrow(/the resource contains a payment card number \(detector "card"\)/);
    const fine = await client.readResource({ uri: "test://template/123/data" });
    expect(JSON.stringify(fine.contents)).toContain("Data for ID: 123");
    await client.close();
  });
});

describe("DLP on input_required rounds (2026-07-28)", () => {
  it("blocks answers holding a card number before the upstream gets them", async () => {
    const token = await h.mintToken();
    const tool = "conf2_test_input_required_result_elicitation";
    const res = await fetch(h.portalUrl(), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": tool },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: {
          name: tool,
          arguments: {},
          inputResponses: { user_name: { action: "accept", content: { name: CARD } } },
          _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": { elicitation: {} } },
        },
      }),
    });
    const body = (await res.json()) as { result: CallToolResult };
    expect(body.result.isError).toBe(true);
    expect(textOf(body.result)).toContain('the answers to the server\'s questions contain a payment card number (detector "card")');
    expect(JSON.stringify(h.v2.seen)).not.toContain("4111");
  });
});
