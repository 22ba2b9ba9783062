import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";

import { startHarness, type Harness } from "./testing/harness";
import { runInspectorCli, startServerEverything, type ServerEverything } from "./testing/real-peers";

/**
 * The gateway with peers it did not write: the MCP Inspector's CLI and the 1.32.2 SDK client in
 * front, the reference server-everything behind it next to the bundled FinOps servers. Whatever
 * the SDK server and client in the gateway agree on with each other, these must agree with too.
 */

let h: Harness;
let everything: ServerEverything;
/** server-everything as a client sees it without the gateway in between. */
let direct: Client;

beforeAll(async () => {
  everything = await startServerEverything();
  h = await startHarness({ extraServers: [{ slug: "everything", url: everything.url }] });
  direct = new Client({ name: "direct", version: "1" });
  await direct.connect(new StreamableHTTPClientTransport(new URL(everything.url)));
});

afterAll(async () => {
  await direct?.close();
  await h?.close();
  await everything?.close();
});

const textOf = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

async function inspector(method: string, token: string | null, ...args: string[]) {
  const auth = token ? ["--header", `Authorization: Bearer ${token}`] : [];
  return runInspectorCli([h.portalUrl(), "--transport", "http", "--method", method, "--format", "json", ...auth, ...args]);
}

describe("the MCP Inspector CLI through the gateway", () => {
  it("lists the portal's tools under <server>_<tool> names, without the ones policy denies", async () => {
    const run = await inspector("tools/list", await h.mintToken());
    expect(run.code, run.stderr).toBe(0);
    const names = ((run.json as { result: { tools: Tool[] } }).result.tools ?? []).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["cost-explorer_get_cost_summary", "budgets_list_budgets", "everything_echo"]));
    expect(names).not.toContain("budgets_delete_budget");
    // The Inspector and the SDK client see one and the same list.
    const client = await h.connect(await h.mintToken());
    const { tools } = await client.listTools();
    await client.close();
    expect([...names].sort()).toEqual(tools.map((t) => t.name).sort());
  });

  it("calls a FinOps tool and gets the upstream's answer; the audit log names the Inspector", async () => {
    const before = h.events.length;
    const run = await inspector("tools/call", await h.mintToken(), "--tool-name", "budgets_list_budgets");
    expect(run.code, run.stderr).toBe(0);
    const result = (run.json as { result: CallToolResult }).result;
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain("bgt-platform-monthly");
    const event = h.events.slice(before).find((e) => e.action === "tools/call");
    expect(event).toMatchObject({ server: "budgets", tool: "list_budgets", outcome: "allow" });
    expect((event?.data as { clientName: string | null }).clientName).toMatch(/inspector/i);
  });

  it("is refused without a token, and tells the user a bearer token is required", async () => {
    // --stored-auth-only: fail instead of starting the interactive OAuth flow a person would follow.
    const run = await inspector("tools/list", null, "--stored-auth-only");
    expect(run.code).not.toBe(0);
    expect(run.stdout).toBe("");
    const { error } = JSON.parse(run.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe("auth_required");
    expect(error.message).toContain("a valid bearer token for this portal is required");
  });
});

describe("server-everything as an upstream of the portal", () => {
  it("offers every tool server-everything has, renamed <server>_<tool>, beside the FinOps ones", async () => {
    const upstream = (await direct.listTools()).tools;
    const client = await h.connect(await h.mintToken());
    const { tools } = await client.listTools();
    await client.close();
    const offered = tools.filter((t) => t.name.startsWith("everything_"));
    expect(offered.map((t) => t.name).sort()).toEqual(upstream.map((t) => `everything_${t.name}`).sort());
    expect(offered.find((t) => t.name === "everything_echo")?.inputSchema).toEqual(upstream.find((t) => t.name === "echo")?.inputSchema);
    expect(tools.some((t) => t.name === "cost-explorer_get_cost_summary")).toBe(true);
  });

  it("calls its echo tool and records the call against server everything", async () => {
    const client = await h.connect(await h.mintToken());
    const before = h.events.length;
    const result = await client.callTool({ name: "everything_echo", arguments: { message: "through portico" } });
    await client.close();
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe("Echo: through portico");
    expect(h.events.slice(before).find((e) => e.action === "tools/call")).toMatchObject({ server: "everything", tool: "echo", outcome: "allow" });
  });

  it("passes its prompts and resources through, unchanged", async () => {
    const client = await h.connect(await h.mintToken());
    const { prompts } = await client.listPrompts();
    const names = prompts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["everything_simple-prompt", "cost-explorer_monthly_cost_review"]));
    const prompt = await client.getPrompt({ name: "everything_simple-prompt" });
    expect(prompt.messages).toEqual((await direct.getPrompt({ name: "simple-prompt" })).messages);

    const { resources } = await client.listResources();
    const uri = "demo://resource/static/document/architecture.md";
    expect(resources.map((r) => r.uri)).toContain(uri);
    const read = await client.readResource({ uri });
    await client.close();
    expect(read.contents).toEqual((await direct.readResource({ uri })).contents);
    expect((read.contents[0] as { text?: string }).text?.length).toBeGreaterThan(100);
  });
});

describe("the 1.32.2 SDK client through the gateway", () => {
  it("lists tools and calls one with arguments, getting what the upstream itself answers", async () => {
    const client = await h.connect(await h.mintToken());
    expect(client.getServerVersion()?.name).toBe("portico-gateway");
    const { tools } = await client.listTools();
    const summary = tools.find((t) => t.name === "cost-explorer_get_cost_summary");
    expect(summary?.outputSchema).toBeDefined();
    const args = { start: "2026-09-01", end: "2026-09-30", group_by: "team" };
    const result = await client.callTool({ name: "cost-explorer_get_cost_summary", arguments: args });
    await client.close();
    expect(result.isError).toBeFalsy();

    const upstream = new Client({ name: "direct", version: "1" });
    await upstream.connect(new StreamableHTTPClientTransport(new URL(h.demo.servers.find((s) => s.id === "cost-explorer")!.url)));
    const expected = await upstream.callTool({ name: "get_cost_summary", arguments: args });
    await upstream.close();
    expect(expected.isError).toBeFalsy();
    expect(result.structuredContent).toEqual(expected.structuredContent);
    expect(result.content).toEqual(expected.content);
  });
});
