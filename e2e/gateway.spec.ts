import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { expect, test } from "@playwright/test";

import { E2E_PORTAL_URL } from "./fixtures/constants";
import { serviceAccountToken, signIn } from "./fixtures/session";

const TOOL = "cost-explorer_top_services";

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "e2e-automation", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(E2E_PORTAL_URL), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

const toolNames = async (client: Client) => (await client.listTools()).tools.map((t) => t.name);

test("a tool turned off in the dashboard leaves the portal within a second, and the refusal is audited", async ({ page }) => {
  const client = await connect(await serviceAccountToken(page.request));
  try {
    expect(await toolNames(client)).toContain(TOOL);
    const ok = await client.callTool({ name: TOOL, arguments: { month: "2026-10" } });
    expect(ok.isError ?? false).toBe(false);

    await signIn(page, "admin");
    await page.goto("/portals");
    await page.getByRole("link", { name: "FinOps" }).first().click();
    // Who can use it: the demo's roles with a grant on the portal.
    await expect(page.getByRole("list", { name: "Roles with access" }).getByRole("link", { name: "Analyst", exact: true })).toBeVisible();
    const toggle = page.getByRole("switch", { name: `Enable tool ${TOOL}` });
    await expect(toggle).toHaveAttribute("aria-checked", "true");
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-checked", "false");
    const savedAt = Date.now();

    // The same MCP session, no reconnect: gone from the list, and refused by name with why.
    await expect.poll(() => toolNames(client), { intervals: [50], timeout: 1_000 }).not.toContain(TOOL);
    await expect(client.callTool({ name: TOOL, arguments: { month: "2026-10" } })).rejects.toThrow(/turned off in this portal/);
    expect(Date.now() - savedAt).toBeLessThan(1_500);

    // The auditor's view: the refused call, with the service account and the reason. The gateway
    // delivers its spool every half second, so the page may need a reload, as a person would.
    // The explorer names a service account by its name (its client id is the actor id, on hover).
    const row = page.getByRole("row", { name: /Demo automation \(Analyst\).*top_services/ }).first();
    await expect(async () => {
      // Narrowed by the reason: other journeys leave refused calls of the same tool (a DLP block).
      await page.goto(`/audit?kind=mcp.request&outcome=deny&q=${encodeURIComponent("turned off in this portal")}`);
      await expect(row).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
    await row.click();
    await expect(page.getByRole("dialog").getByText(/turned off in this portal/).first()).toBeVisible();
  } finally {
    await client.close();
    // Leave the demo as it was for the other journeys.
    const portals = (await (await page.request.get("/api/v1/portals?q=finops")).json()) as { items: Array<{ id: string; slug: string }> };
    const portal = portals.items.find((p) => p.slug === "finops");
    if (portal) {
      const tools = (await (await page.request.get(`/api/v1/portals/${portal.id}/tools`)).json()) as { items: Array<{ toolId: string; name: string }> };
      const tool = tools.items.find((t) => t.name === "top_services");
      if (tool) await page.request.patch(`/api/v1/portals/${portal.id}/tools/${tool.toolId}`, { data: { enabled: true } });
    }
  }
});

test("the gateway refuses a token for another portal and one that was tampered with", async ({ request }) => {
  const token = await serviceAccountToken(request);
  const [header, payload, signature] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, aud: E2E_PORTAL_URL.replace("finops", "other") })).toString("base64url")}.${signature}`;
  for (const bad of [forged, `${token.slice(0, -4)}AAAA`]) {
    const res = await request.post(E2E_PORTAL_URL, {
      headers: { authorization: `Bearer ${bad}`, accept: "application/json, text/event-stream", "content-type": "application/json" },
      data: { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } },
    });
    expect(res.status()).toBe(401);
    expect(res.headers()["www-authenticate"]).toContain("resource_metadata=");
  }
});
