import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

import { E2E_PORTAL_URL } from "./fixtures/constants";
import { DEMO_SERVICE_ACCOUNT, serviceAccountToken, signIn, signInApi } from "./fixtures/session";

const CLIENT_ID = DEMO_SERVICE_ACCOUNT;

async function serviceAccountClient(request: APIRequestContext): Promise<Client> {
  const token = await serviceAccountToken(request);
  const client = new Client({ name: "e2e-alerts", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(E2E_PORTAL_URL), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** The inbox refreshes itself every few seconds; a person would wait for the row to appear. */
async function alertRow(page: Page, title: RegExp) {
  const row = page.getByRole("row").filter({ hasText: title }).first();
  await expect(row).toBeVisible({ timeout: 20_000 });
  return row;
}

test("six wrong passwords and a write call raise alerts; the admin acknowledges one and resolves the other; the charts show the traffic", async ({ page, browser }) => {
  test.setTimeout(120_000);
  const email = `alerts-${Date.now()}@portico.local`;

  // The admin makes an account of its own for this test, and turns on the (default off) write rule.
  await signInApi(page.request, "admin@portico.local");
  const created = await page.request.post("/api/v1/users", { data: { email, name: "Alert Target", role: "viewer", password: "a-long-correct-password-1" } });
  expect(created.status(), await created.text()).toBe(201);
  // page.request shares the page's cookies: the browser is signed in as the admin too.
  await page.goto("/alerts?tab=rules");
  await page.getByRole("tab", { name: "Rules" }).click();
  const writeRule = page.getByRole("switch", { name: "Write tool called on" });
  if ((await writeRule.getAttribute("aria-checked")) !== "true") await writeRule.click();
  await expect(writeRule).toHaveAttribute("aria-checked", "true");

  // Someone guesses the password six times, on the sign-in page.
  const guesser = await browser.newPage();
  for (let i = 0; i < 6; i++) {
    await guesser.goto("/sign-in");
    await guesser.getByLabel("Email").fill(email);
    await guesser.getByLabel("Password").fill(`wrong-guess-${i}`);
    await guesser.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(guesser.locator("[data-slot=alert]")).toBeVisible();
  }
  await guesser.close();

  // The demo automation calls a write tool through the gateway (its role needs step-up for it).
  const client = await serviceAccountClient(page.request);
  try {
    await client.callTool({ name: "tagging_tag_resource", arguments: { resource_id: "i-0abc", key: "team", value: "finops" } }).catch(() => undefined);
  } finally {
    await client.close();
  }

  await page.goto("/alerts");
  const signInAlert = await alertRow(page, new RegExp(`Failed sign-ins for ${email.replace(/[.]/g, "\\.")}`));
  await expect(signInAlert.getByRole("cell", { name: "6", exact: true })).toBeVisible();
  // Named as Approvals and token events name it, though the gateway's events label it by client id.
  const writeAlert = await alertRow(page, /Demo automation \(Analyst\) called write tool tagging\/tag_resource/);
  // Its events: the call itself, found by the actor's id and the tool (free text searches neither actor nor address).
  await expect(writeAlert.getByRole("link", { name: /^Events behind/ })).toHaveAttribute("href", /^\/audit\?(?!.*\bq=)(?=.*\bactor=sa_demo_analyst)(?=.*\btool=tag_resource)/);
  // The sidebar badge counts open high and critical alerts.
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Alerts/ }).getByLabel(/^\d+ open high or critical alerts? \(not snoozed\)$/)).toBeVisible();

  await signInAlert.getByRole("button", { name: /^Acknowledge/ }).click();
  const dialog = page.getByRole("dialog", { name: "Acknowledge alert" });
  await dialog.getByLabel("Note").fill("Locked out on its own; contacting the user");
  await dialog.getByRole("button", { name: "Acknowledge" }).click();
  await expect(page.getByText("Alert acknowledged")).toBeVisible();
  await writeAlert.getByRole("button", { name: /^Resolve/ }).click();
  await expect(page.getByText("Alert resolved")).toBeVisible();

  await page.getByRole("combobox", { name: "Status" }).selectOption("acknowledged");
  await expect(await alertRow(page, new RegExp(`Failed sign-ins for ${email.replace(/[.]/g, "\\.")}`))).toContainText("Note: Locked out on its own");
  await page.getByRole("combobox", { name: "Status" }).selectOption("resolved");
  await alertRow(page, /Demo automation \(Analyst\) called write tool tagging\/tag_resource/);

  // Each change is in the audit trail.
  const trail = (await (await page.request.get("/api/v1/audit-events?kind=alert&limit=50")).json()) as { items: { action: string }[] };
  expect(trail.items.map((e) => e.action)).toEqual(expect.arrayContaining(["alert.acknowledge", "alert.resolve", "alert.raise"]));

  // The overview's charts show the call this test made, from the rollups.
  await page.goto("/");
  const traffic = page.getByRole("region", { name: "Traffic" });
  await expect(traffic.getByTestId("calls-chart")).toBeVisible();
  await expect(traffic.getByRole("list", { name: "Top tools" })).toContainText("tagging/tag_resource");
  // The service account by its name, as Approvals names it; its link filters by its client id.
  const callers = traffic.getByRole("list", { name: "Top callers" });
  await expect(callers.getByRole("link", { name: /^Demo automation \(Analyst\)/ })).toHaveAttribute("href", new RegExp(`actor=${CLIENT_ID}`));
  await expect(traffic.getByTestId("alerts-chart")).toBeVisible();
  // The seeded step-up request is on the step-up chart.
  await expect(traffic.getByTestId("stepup-chart")).toBeVisible();
  await expect(traffic.getByLabel("Step-up figures")).toContainText("Approval rate");
  const csv = await page.request.get("/api/v1/dashboards/cost-attribution?range=1h&format=csv");
  expect(csv.headers()["content-type"]).toContain("text/csv");

  // The README's pictures of both, from what this journey made.
  await page.setViewportSize({ width: 1400, height: 1000 });
  await traffic.scrollIntoViewIfNeeded();
  await page.waitForLoadState("networkidle");
  await traffic.screenshot({ path: "docs/screenshots/overview-charts.png" });
  await page.goto("/alerts?status=");
  await page.getByRole("combobox", { name: "Status" }).selectOption("");
  await alertRow(page, /called write tool/);
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: "docs/screenshots/alerts.png" });
});

test("a bad threshold is refused next to its field and nothing is saved", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/alerts?tab=rules");
  await page.getByRole("tab", { name: "Rules" }).click();
  await page.getByRole("button", { name: "Edit Failed sign-ins per address" }).click();
  const dialog = page.getByRole("dialog", { name: "Edit Failed sign-ins per address" });
  await dialog.getByLabel("Threshold (events)").fill("0");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByText("At least 1")).toBeVisible();
  const rules = (await (await page.request.get("/api/v1/alert-rules")).json()) as { key: string; params: { threshold?: number } }[];
  expect(rules.find((r) => r.key === "failed-auth-ip")?.params.threshold).toBe(5);
});

test("an admin creates a rule scoped to a role, is told beside the field what is wrong, and deletes it", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/alerts?tab=rules");
  await page.getByRole("tab", { name: "Rules" }).click();
  await page.getByRole("button", { name: "New rule" }).click();
  const dialog = page.getByRole("dialog", { name: "New alert rule" });
  await dialog.getByLabel("Kind").selectOption("lookback");
  await dialog.getByLabel("Name", { exact: true }).fill("Analysts looking back over 90 days");
  await dialog.getByLabel("Days", { exact: true }).fill("0");
  await dialog.getByLabel("Only for role (slug)").fill("analyst");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByText("At least 1 day")).toBeVisible();
  await dialog.getByLabel("Days", { exact: true }).fill("90");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Rule created")).toBeVisible();
  const rules = (await (await page.request.get("/api/v1/alert-rules")).json()) as { name: string; params: { days?: number }; scope: { role?: string } }[];
  expect(rules.find((r) => r.name === "Analysts looking back over 90 days")).toMatchObject({ params: { days: 90 }, scope: { role: "analyst" } });
  await page.getByRole("button", { name: "Delete Analysts looking back over 90 days" }).click();
  await page.getByRole("dialog", { name: /Delete Analysts/ }).getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("button", { name: "Delete Analysts looking back over 90 days" })).toHaveCount(0);
});
