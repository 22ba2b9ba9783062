import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";

import type { ConfigSnapshot } from "@/lib/config/snapshot";

import { GATEWAY_TOKEN, SERVICE_ACCOUNT, startHarness, type Harness } from "./testing/harness";

/**
 * A client that cannot re-authorize but declared URL-mode elicitation: a call that needs step-up
 * sends it `elicitation/create` (`mode: "url"`) pointing at the request page, on the call's stream
 * (a 2025-11-25 session) or as an `input_required` round (2026-07-28), and the call ends with a
 * tool error saying so. Once a grant for the principal reaches the gateway, the same client's next
 * call goes through. A client that did not declare URL mode is never asked. Real gateway, the real
 * SDK 2.x client (`@modelcontextprotocol/client`), real demo upstreams.
 */

let h: Harness;
let version = 1;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

const TAG = { name: "tagging_tag_resource", arguments: { resource_id: "i-0fe278e1bf1cda126", key: "cost-center", value: "cc-4711" } };

type Asked = { mode?: string; url?: string; message?: string; elicitationId?: string };

async function modernClient(mode: "auto" | "legacy", capabilities: Record<string, unknown>, answer: "accept" | "decline" = "accept") {
  const asked: Asked[] = [];
  const client = new ModernClient({ name: `elicit-${mode}`, version: "2.0.0" }, { capabilities, versionNegotiation: { mode } });
  if (capabilities.elicitation) {
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params as Asked);
      return { action: answer };
    });
  }
  const token = await h.mintToken();
  await client.connect(new ModernTransport(new URL(h.portalUrl()), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return { client, asked };
}

const textOf = (result: unknown) => ((result as { content: { text: string }[] }).content[0]?.text ?? "");

async function publish(elevatedGrants: ConfigSnapshot["elevatedGrants"]) {
  version = Math.max(version, h.gateway.state()!.version) + 1;
  const res = await fetch(`${h.gateway.url}/internal/config`, {
    method: "POST",
    headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ version, jws: await h.sign({ ...h.snapshot(version), elevatedGrants }) }),
  });
  expect(res.status).toBe(200);
}

const windowGrant = (id: string) => ({
  id,
  principalKind: "service_account",
  subject: SERVICE_ACCOUNT,
  portalSlug: "finops",
  riskClass: "write",
  serverSlug: null,
  toolName: null,
  argumentsHash: null,
  endsAt: new Date(Date.now() + 15 * 60_000).toISOString(),
});

describe.each([
  ["2025-11-25 session", "legacy"],
  ["2026-07-28 input_required", "auto"],
] as const)("URL-mode elicitation for step-up (%s)", (_label, mode) => {
  afterEach(() => publish([]));

  it("sends the request page as a URL elicitation, and lets the same client's next call through once a grant for it arrives", async () => {
    const { client, asked } = await modernClient(mode, { elicitation: { url: {} } });
    const before = h.events.length;
    const first = await client.callTool(TAG);
    expect(first.isError).toBe(true);
    expect(asked).toHaveLength(1);
    const url = new URL(asked[0]!.url!);
    expect(asked[0]).toMatchObject({ mode: "url", message: expect.stringContaining("tagging_tag_resource") });
    expect(`${url.origin}${url.pathname}`).toBe(`${h.cp.url}/step-up/new`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ portal: "finops", risk: "write", server: "tagging", tool: "tag_resource", args: JSON.stringify(TAG.arguments) });
    expect(textOf(first)).toContain("The request page was opened");
    const denied = h.events.slice(before).find((e) => e.action === "tools/call");
    expect(denied).toMatchObject({ outcome: "deny", reasons: expect.arrayContaining(["step-up request page sent by URL elicitation"]) });

    // A manager approved: the grant reaches the gateway on the config channel, and the same client (same token) is let through.
    await publish([windowGrant(`grant-${mode}`)]);
    const second = await client.callTool(TAG);
    expect(second.isError ?? false, textOf(second)).toBe(false);
    expect(asked).toHaveLength(1);
    expect(h.events.findLast((e) => e.action === "tools/call")).toMatchObject({ outcome: "allow", data: expect.objectContaining({ grantId: `grant-${mode}` }) });
    await client.close();
  });

  it("says nothing was requested when the person declines to open the page", async () => {
    const { client, asked } = await modernClient(mode, { elicitation: { url: {} } }, "decline");
    const result = await client.callTool(TAG);
    expect(asked).toHaveLength(1);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Nothing was requested \(the page was declined\); ask for it at http/);
    await client.close();
  });

  it("never asks a client that declared form-mode elicitation only: it gets the link in the refusal", async () => {
    const { client, asked } = await modernClient(mode, { elicitation: { form: {} } });
    const before = h.events.length;
    const outcome = await client.callTool(TAG).then(
      (r) => textOf(r),
      (e: Error) => e.message,
    );
    expect(asked).toHaveLength(0);
    expect(outcome).not.toContain("The request page was opened");
    expect(h.events.slice(before).filter((e) => e.kind === "mcp.server_request")).toHaveLength(0);
    expect(h.events.slice(before).find((e) => e.action === "tools/call")).toMatchObject({ outcome: "deny" });
    await client.close();
  });
});
