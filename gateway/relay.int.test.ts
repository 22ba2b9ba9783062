import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type ClientCapabilities,
  type CreateMessageRequest,
  type ElicitRequest,
  type LoggingMessageNotification,
  type Progress,
} from "@modelcontextprotocol/sdk/types.js";

import { startHarness, type Harness } from "./testing/harness";
import { startConformanceUpstream, type ConformanceUpstream } from "./testing/conformance-upstream";

/**
 * What an upstream sends back to its client during a call reaches the client through the portal:
 * requests (sampling, elicitation, roots) relayed to the client that made the call and answered
 * back, refused at once where the client cannot answer them; progress in order; log messages by
 * the session's level. Real gateway, real SDK client, a real upstream of our own.
 */

let h: Harness;
let upstream: ConformanceUpstream;

beforeAll(async () => {
  upstream = await startConformanceUpstream();
  h = await startHarness({ extraServers: [{ slug: "conf", url: upstream.url }] });
});

afterAll(async () => {
  await h?.close();
  await upstream?.close();
});

const connect = (capabilities: ClientCapabilities, setup?: (client: Client) => void) => h.connectDeclaring(capabilities, setup);

const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;
const serverRequests = (from: number) => h.events.slice(from).filter((e) => e.kind === "mcp.server_request");

describe("requests from the upstream, relayed to the client that made the call", () => {
  it("relays sampling/createMessage and hands the client's answer back to the tool", async () => {
    const asked: CreateMessageRequest["params"][] = [];
    const client = await connect({ sampling: {} }, (c) =>
      c.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        asked.push(request.params);
        return { role: "assistant", content: { type: "text", text: "the bill is mostly compute" }, model: "test-model", stopReason: "endTurn" };
      }),
    );
    const before = h.events.length;
    const result = await client.callTool({ name: "conf_test_sampling", arguments: { prompt: "Summarise the bill" } });
    await client.close();
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe("LLM response: the bill is mostly compute");
    expect(asked).toEqual([{ messages: [{ role: "user", content: { type: "text", text: "Summarise the bill" } }], maxTokens: 100 }]);
    expect(serverRequests(before)).toEqual([
      expect.objectContaining({ action: "sampling/createMessage", server: "conf", portal: "finops", outcome: "success", data: expect.objectContaining({ result: "answered" }) }),
    ]);
  });

  it("relays form elicitation with the schema untouched (SEP-1034 defaults, SEP-1330 enums)", async () => {
    const asked: ElicitRequest["params"][] = [];
    const client = await connect({ elicitation: { form: {} } }, (c) =>
      c.setRequestHandler(ElicitRequestSchema, async (request) => {
        asked.push(request.params);
        return { action: "accept", content: { name: "Jane Smith", age: 25, score: 88, status: "inactive", verified: false } };
      }),
    );
    const before = h.events.length;
    const result = await client.callTool({ name: "conf_test_elicitation_sep1034_defaults", arguments: {} });
    expect(textOf(result)).toContain('action=accept, content={"name":"Jane Smith","age":25');
    const schema = (asked[0] as { requestedSchema: { properties: Record<string, { default?: unknown }> } }).requestedSchema;
    expect(schema.properties.name?.default).toBe("John Doe");
    expect(schema.properties.score?.default).toBe(95.5);
    expect(schema.properties.verified?.default).toBe(true);

    await client.callTool({ name: "conf_test_elicitation_sep1330_enums", arguments: {} });
    await client.close();
    const enums = (asked[1] as { requestedSchema: { properties: Record<string, unknown> } }).requestedSchema.properties;
    expect(enums.legacyEnum).toMatchObject({ enumNames: ["Option One", "Option Two", "Option Three"] });
    expect(enums.titledMulti).toMatchObject({ items: { anyOf: [{ const: "value1", title: "First Choice" }, expect.anything(), expect.anything()] } });
    expect(serverRequests(before).map((e) => [e.action, e.outcome, (e.data as { action?: string }).action])).toEqual([
      ["elicitation/create", "success", "accept"],
      ["elicitation/create", "success", "accept"],
    ]);
  });

  it("relays roots/list to a client that offers roots", async () => {
    const client = await connect({ roots: { listChanged: true } }, (c) =>
      c.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: "file:///work/finops", name: "finops" }] })),
    );
    const result = await client.callTool({ name: "conf_test_roots", arguments: {} });
    await client.close();
    expect(textOf(result)).toBe("Roots: file:///work/finops");
  });

  it("passes notifications/roots/list_changed on to the servers that asked for roots, and only to them", async () => {
    const roots = { roots: { listChanged: true } };
    const answerRoots = (c: Client) => c.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: "file:///work/finops", name: "finops" }] }));
    const before = upstream.rootsListChanged();
    // This session holds a connection to the server, which never asked it for roots.
    const other = await connect({ ...roots, sampling: {} }, (c) => {
      answerRoots(c);
      c.setRequestHandler(CreateMessageRequestSchema, async () => ({ role: "assistant", content: { type: "text", text: "ok" }, model: "m", stopReason: "endTurn" }));
    });
    await other.callTool({ name: "conf_test_sampling", arguments: { prompt: "hi" } });
    await other.sendRootsListChanged();

    const client = await connect(roots, answerRoots);
    await client.callTool({ name: "conf_test_roots", arguments: {} });
    await client.sendRootsListChanged();
    for (let i = 0; i < 200 && upstream.rootsListChanged() === before; i++) await new Promise((r) => setTimeout(r, 25));
    // The asked session's notice arrived; the other session's, sent first, never did.
    expect(upstream.rootsListChanged()).toBe(before + 1);
    await client.close();
    await other.close();
  });

  it("relays a decline back as a decline, and a client's error as an error", async () => {
    let n = 0;
    const client = await connect({ elicitation: {} }, (c) =>
      c.setRequestHandler(ElicitRequestSchema, async () => {
        if (n++ === 0) return { action: "decline" };
        throw new Error("the user closed the window");
      }),
    );
    const declined = await client.callTool({ name: "conf_test_elicitation", arguments: { message: "Which account?" } });
    expect(textOf(declined)).toBe('User response: {"action":"decline"}');
    const failed = await client.callTool({ name: "conf_test_elicitation", arguments: { message: "Which account?" } });
    await client.close();
    expect(failed.isError).toBe(true);
  });

  it("refuses at once, not after the upstream's timeout, what the client did not declare", async () => {
    const client = await connect({ elicitation: {} });
    const started = Date.now();
    const result = await client.callTool({ name: "conf_test_sampling", arguments: { prompt: "hi" } });
    const plain = await connect({});
    const plainResult = await plain.callTool({ name: "conf_test_elicitation", arguments: { message: "hi" } });
    const elapsed = Date.now() - started;
    await client.close();
    await plain.close();
    expect(result.isError).toBe(true);
    expect(plainResult.isError).toBe(true);
    // The harness's upstream timeout is 5 s; a refusal takes a round trip.
    expect(elapsed).toBeLessThan(2_000);
  });

  it("refuses sampling for a server the admin turned it off for, and audits the refusal", async () => {
    const snapshot = h.snapshot(50);
    const conf = snapshot.portals[0]!.servers.find((s) => s.slug === "conf")!;
    conf.serverRequests = { sampling: false, elicitation: true };
    h.cp.latest = { version: 50, jws: await h.sign(snapshot) };
    await h.gateway.store.accept(h.cp.latest);
    await h.waitForConfig(50);
    let asked = 0;
    const client = await connect({ sampling: {} }, (c) =>
      c.setRequestHandler(CreateMessageRequestSchema, async () => {
        asked++;
        return { role: "assistant", content: { type: "text", text: "x" }, model: "m" };
      }),
    );
    const before = h.events.length;
    const result = await client.callTool({ name: "conf_test_sampling", arguments: { prompt: "hi" } });
    await client.close();
    expect(result.isError).toBe(true);
    expect(asked).toBe(0);
    expect(serverRequests(before)).toEqual([expect.objectContaining({ action: "sampling/createMessage", outcome: "deny", reasons: ["sampling is turned off for server conf"] })]);
    h.cp.latest = { version: 51, jws: await h.sign(h.snapshot(51)) };
    await h.gateway.store.accept(h.cp.latest);
    await h.waitForConfig(51);
  });
});

describe("notifications during a call", () => {
  it("delivers every progress notification, in order, before the result", async () => {
    const client = await connect({});
    const seen: Progress[] = [];
    const result = await client.callTool({ name: "conf_test_tool_with_progress", arguments: {} }, CallToolResultSchema, { onprogress: (p) => seen.push(p) });
    await client.close();
    expect(textOf(result)).toBe("Progress tool completed");
    expect(seen.map((p) => [p.progress, p.total])).toEqual([
      [0, 100],
      [50, 100],
      [100, 100],
    ]);
  });

  it("delivers log messages at or above the level the session set", async () => {
    for (const capabilities of [{}, { sampling: {} }] as ClientCapabilities[]) {
      const logs: LoggingMessageNotification["params"][] = [];
      const client = await connect(capabilities, (c) => c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params)));
      await client.setLoggingLevel("info");
      await client.callTool({ name: "conf_test_tool_with_logging", arguments: {} });
      expect(logs.map((l) => l.data)).toEqual(["Tool execution started", "Tool processing data", "Tool execution completed"]);
      await client.setLoggingLevel("debug");
      logs.length = 0;
      await client.callTool({ name: "conf_test_tool_with_logging", arguments: {} });
      await client.close();
      expect(logs.map((l) => l.level)).toEqual(["info", "debug", "info", "info"]);
    }
  });
});

describe("methods routed to the server that owns what they name", () => {
  it("reads a templated URI without listing first, and completes a template's argument", async () => {
    const client = await connect({});
    const read = await client.readResource({ uri: "test://template/42/data" });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ id: "42", templateTest: true });
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain("test://template/{id}/data");
    const completion = await client.complete({ ref: { type: "ref/resource", uri: "test://template/{id}/data" }, argument: { name: "id", value: "12" } });
    await client.close();
    expect(completion.completion.values).toEqual(["123", "124"]);
  });

  it("subscribes upstream once, delivers resources/updated to the subscribed session, and lets go on unsubscribe", async () => {
    const updates: string[] = [];
    const client = await connect({}, (c) => c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri)));
    const other = await connect({});
    await client.subscribeResource({ uri: "test://static-text" });
    await other.subscribeResource({ uri: "test://static-text" });
    expect(upstream.subscriptions()).toEqual(["test://static-text"]);
    await upstream.touch("test://static-text");
    await expect.poll(() => updates).toEqual(["test://static-text"]);
    await client.unsubscribeResource({ uri: "test://static-text" });
    // The other session ends (DELETE): what it held goes with it.
    await (other.transport as StreamableHTTPClientTransport).terminateSession();
    await other.close();
    await expect.poll(() => upstream.subscriptions()).toEqual([]);
    await client.close();
  });
});

describe("list_changed when a config version changes what a session may see", () => {
  it("tells a connected client its tools changed when a tool is turned off", async () => {
    let changed = 0;
    const client = await connect({}, (c) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++));
    const before = (await client.listTools()).tools.map((t) => t.name);
    expect(before).toContain("conf_test_simple_text");
    h.cp.latest = { version: 60, jws: await h.sign(h.snapshot(60, { disabled: ["conf_test_simple_text"] })) };
    await h.gateway.store.accept(h.cp.latest);
    await expect.poll(() => changed).toBe(1);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain("conf_test_simple_text");
    await client.close();
    h.cp.latest = { version: 61, jws: await h.sign(h.snapshot(61)) };
    await h.gateway.store.accept(h.cp.latest);
  });
});

describe("a 2026-07-28 call", () => {
  it.each([[{}], [{ sampling: {} }]])("gets its progress on its own stream, in order, before the result (client capabilities %j)", async (capabilities) => {
    const V = "2026-07-28";
    const res = await fetch(h.portalUrl(), {
      method: "POST",
      headers: {
        authorization: `Bearer ${await h.mintToken()}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": V,
        "mcp-method": "tools/call",
        "mcp-name": "conf_test_tool_with_progress",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: {
          name: "conf_test_tool_with_progress",
          arguments: {},
          _meta: { progressToken: "p-1", "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": capabilities },
        },
      }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const messages = (await res.text())
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)) as { method?: string; params?: { progress?: number; progressToken?: string }; result?: { resultType?: string } });
    expect(messages.map((m) => m.method ?? "result")).toEqual(["notifications/progress", "notifications/progress", "notifications/progress", "result"]);
    expect(messages.slice(0, 3).map((m) => [m.params?.progressToken, m.params?.progress])).toEqual([
      ["p-1", 0],
      ["p-1", 50],
      ["p-1", 100],
    ]);
    expect(messages[3]?.result?.resultType).toBe("complete");
  });
});

describe("names", () => {
  it("offers prompts under their own names in a portal that drops the server prefix, and routes gets and completions by them", async () => {
    const snapshot = h.snapshot(70);
    snapshot.portals[0]!.dropServerPrefix = true;
    h.cp.latest = { version: 70, jws: await h.sign(snapshot) };
    await h.gateway.store.accept(h.cp.latest);
    const client = await connect({});
    const names = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["test_simple_prompt", "test_prompt_with_arguments", "monthly_cost_review"]));
    expect(names.some((n) => n.startsWith("conf_"))).toBe(false);
    const prompt = await client.getPrompt({ name: "test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } });
    expect((prompt.messages[0]!.content as { text: string }).text).toBe("Prompt with arguments: arg1='a', arg2='b'");
    const completion = await client.complete({ ref: { type: "ref/prompt", name: "test_prompt_with_arguments" }, argument: { name: "arg1", value: "par" } });
    await client.close();
    expect(completion.completion.values).toEqual(["paris", "park", "party"]);
    h.cp.latest = { version: 71, jws: await h.sign(h.snapshot(71)) };
    await h.gateway.store.accept(h.cp.latest);
  });
});

describe("a 2026-07-28 client asked something by the upstream", () => {
  const V = "2026-07-28";
  async function callTool(extra: Record<string, unknown>, capabilities: Record<string, unknown> = { sampling: {} }) {
    const res = await fetch(h.portalUrl(), {
      method: "POST",
      headers: {
        authorization: `Bearer ${await h.mintToken()}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": V,
        "mcp-method": "tools/call",
        "mcp-name": "conf_test_sampling",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: { name: "conf_test_sampling", arguments: { prompt: "Summarise the bill" }, ...extra, _meta: { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": capabilities } },
      }),
    });
    return { status: res.status, body: (await res.json()) as { result?: Record<string, unknown> & { content?: { text: string }[] }; error?: { code: number; message: string } } };
  }

  it("gets input_required with a sealed request state, and the retry with its answer completes the same call", async () => {
    const first = await callTool({});
    expect(first.body.result).toMatchObject({
      resultType: "input_required",
      inputRequests: { "input-1": { method: "sampling/createMessage", params: { messages: [{ role: "user", content: { type: "text", text: "Summarise the bill" } }], maxTokens: 100 } } },
    });
    const state = first.body.result!.requestState as string;
    const inputResponses = { "input-1": { role: "assistant", content: { type: "text", text: "mostly compute" }, model: "m" } };

    const tampered = await callTool({ requestState: `${state.slice(0, -2)}xx`, inputResponses });
    expect([tampered.status, tampered.body.error?.code]).toEqual([400, -32602]);
    expect(tampered.body.error?.message).toMatch(/requestState is not valid/);

    const done = await callTool({ requestState: state, inputResponses });
    expect(done.body.result).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "LLM response: mostly compute" }] });

    const replayed = await callTool({ requestState: state, inputResponses });
    expect([replayed.status, replayed.body.error?.code]).toEqual([400, -32602]);
  });

  it("is never asked what it did not declare: the upstream hears so at once", async () => {
    const started = Date.now();
    const result = await callTool({}, { elicitation: {} });
    expect(result.body.result).toMatchObject({ resultType: "complete", isError: true });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
