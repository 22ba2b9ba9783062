import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { expect, test, type Page } from "@playwright/test";

import { E2E_PORTAL_URL, PERSONAS } from "./fixtures/constants";
import { DEMO_SERVICE_ACCOUNT, serviceAccountToken, signIn, signInApi } from "./fixtures/session";

// The demo automation holds the Analyst role: its calls are the audited history the what-if replays.
const CLIENT_ID = DEMO_SERVICE_ACCOUNT;
const TOOL = "cost-explorer_forecast_month_end";
const ARGS = { month: "2026-10" };

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "e2e-change-safety", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(E2E_PORTAL_URL), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

const latestVersion = async (page: Page) => ((await (await page.request.get("/api/v1/config-versions?limit=1")).json()) as { items: { version: number }[] }).items[0]!.version;

async function finopsPortalId(page: Page): Promise<string> {
  const portals = (await (await page.request.get("/api/v1/portals?q=finops")).json()) as { items: Array<{ id: string; slug: string }> };
  return portals.items.find((p) => p.slug === "finops")!.id;
}

test("an admin turns a tool off, sees the diff, rolls back, and the tool is callable again within a second", async ({ page }) => {
  const client = await connect(await serviceAccountToken(page.request));
  try {
    const ok = await client.callTool({ name: TOOL, arguments: ARGS });
    expect(ok.isError ?? false).toBe(false);

    await signIn(page, "admin");
    const before = await latestVersion(page);
    await page.goto("/portals");
    await page.getByRole("link", { name: "FinOps" }).first().click();
    const toggle = page.getByRole("switch", { name: `Enable tool ${TOOL}` });
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-checked", "false");
    await expect.poll(async () => (await client.listTools()).tools.map((t) => t.name), { timeout: 2_000 }).not.toContain(TOOL);
    const off = await latestVersion(page);
    expect(off).toBeGreaterThan(before);

    // The newest version's changes, in words.
    await page.goto("/config-versions");
    await expect(page.getByRole("heading", { name: `Changes in version ${off}` })).toBeVisible();
    const changes = page.getByRole("list", { name: "Changes" });
    await expect(changes).toContainText(`Tool ${TOOL} (cost-explorer) in portal finops no longer offered`);

    // Roll back to the version before, after a preview that names the tool coming back.
    await page.locator(`tr[data-version="${off - 1}"]`).getByRole("button", { name: "Roll back to this" }).click();
    const dialog = page.getByRole("dialog");
    await expect(dialog).toContainText(`Tool ${TOOL} (cost-explorer) in portal finops now offered`);
    await page.screenshot({ path: "docs/screenshots/config-rollback.png" });
    await dialog.getByRole("button", { name: "Roll back" }).click();
    // Measured from the moment the dashboard says it is done, as the admin experiences it.
    await expect(page.getByText(`Rolled back to version ${off - 1}`)).toBeVisible({ timeout: 15_000 });
    const rolledBackAt = Date.now();
    await expect.poll(
      async () => {
        const result = await client.callTool({ name: TOOL, arguments: ARGS }).catch(() => ({ isError: true }));
        return result.isError ?? false;
      },
      { intervals: [50], timeout: 2_000 },
    ).toBe(false);
    expect(Date.now() - rolledBackAt).toBeLessThan(1_000);
    expect(await latestVersion(page)).toBe(off + 1);
  } finally {
    await client.close();
    // Leave the demo as it was, whatever happened above.
    const portalId = await finopsPortalId(page);
    const tools = (await (await page.request.get(`/api/v1/portals/${portalId}/tools`)).json()) as { items: Array<{ toolId: string; exposedName: string }> };
    const tool = tools.items.find((t) => t.exposedName === TOOL);
    if (tool) await page.request.patch(`/api/v1/portals/${portalId}/tools/${tool.toolId}`, { data: { enabled: true } });
  }
});

test("the explainer shows the demo analyst's weekday-only role failing its time window on a Saturday", async ({ page, request }) => {
  // The admin's part through the API, in a context of its own; the auditor asks in the browser.
  await signInApi(request, PERSONAS.admin);
  const portals = (await (await request.get("/api/v1/portals?q=finops")).json()) as { items: Array<{ id: string; slug: string }> };
  const portalId = portals.items.find((p) => p.slug === "finops")!.id;
  const created = await request.post("/api/v1/roles", {
    data: {
      slug: "weekday-tagging",
      name: "Weekday tagging",
      principals: [{ kind: "user", value: "analyst@portico.local" }],
      grants: [{ portalId, serverSlug: "tagging", toolName: "tag_resource", riskClasses: ["write"] }],
      conditions: { timeWindows: [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" }] },
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const role = (await created.json()) as { id: string };
  try {
    await signIn(page, "auditor");
    await page.goto("/policy-explainer");
    await page.getByLabel("Email", { exact: true }).fill("analyst@portico.local");
    await page.getByLabel("Tool", { exact: true }).selectOption("tagging_tag_resource");
    // Without MFA: the seeded Analyst role (MFA required) would otherwise offer step-up for tagging
    // writes and decide the call; here the weekday role's time window is what decides.
    await page.getByLabel("Signed in with MFA").uncheck();
    // Saturday 5 December 2026, late morning wherever the browser is.
    await page.getByLabel("When (your time zone)").fill("2026-12-05T11:00");
    await page.getByRole("button", { name: "Explain" }).click();

    await expect(page.locator('[aria-label="Decision"]').getByText("Denied")).toBeVisible();
    const conditions = page.getByRole("list", { name: "Conditions of Weekday tagging" });
    await expect(conditions.locator('li[data-held="false"]')).toContainText("time window: outside its hours (Mon, Tue, Wed, Thu, Fri 08:00–19:00 Europe/Paris)");
    await expect(page.getByRole("list", { name: "Reasons" })).toContainText('role "Weekday tagging": outside its hours');
    await page.screenshot({ path: "docs/screenshots/policy-explainer.png", fullPage: true });
  } finally {
    await request.delete(`/api/v1/roles/${role.id}`);
  }
});

test("a draft role change's what-if lists the analyst automation losing a tool it used", async ({ page }) => {
  // A call in the audit log to replay.
  const client = await connect(await serviceAccountToken(page.request));
  try {
    expect((await client.callTool({ name: TOOL, arguments: ARGS })).isError ?? false).toBe(false);
  } finally {
    await client.close();
  }

  await signIn(page, "admin");
  const roles = (await (await page.request.get("/api/v1/roles?q=finops-analyst")).json()) as { items: Array<{ id: string; slug: string; grants: Array<{ serverSlug: string | null }> }> };
  const analyst = roles.items.find((r) => r.slug === "finops-analyst")!;
  const costExplorerGrant = analyst.grants.findIndex((g) => g.serverSlug === "cost-explorer");
  await page.goto(`/roles/${analyst.id}`);
  await page.getByRole("button", { name: `Remove grant ${costExplorerGrant + 1}` }).click();

  // The audit spool delivers every half second: the call may take a moment to be replayable.
  const dialog = page.getByRole("dialog");
  await expect(async () => {
    if (await dialog.isVisible()) await dialog.getByRole("button", { name: "Close" }).first().click();
    await page.getByRole("button", { name: "What if?" }).click();
    await expect(dialog.getByRole("row", { name: new RegExp(`${CLIENT_ID}.*${TOOL}.*Loses`) })).toBeVisible({ timeout: 3_000 });
  }).toPass({ timeout: 15_000 });

  // Nothing was saved.
  const after = (await (await page.request.get(`/api/v1/roles/${analyst.id}`)).json()) as { grants: unknown[] };
  expect(after.grants).toHaveLength(analyst.grants.length);
});
