import { expect, test, type Page } from "@playwright/test";
import { E2E_DEMO_PORTS, E2E_GATEWAY_URL } from "./fixtures/constants";
import { signIn } from "./fixtures/session";

test.describe.configure({ mode: "serial" });

test("an admin registers the bundled budgets server, syncs it and sees its tools", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/servers");
  await page.getByRole("button", { name: "Add server" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Add server" });
  // Typing starts in the first field, not on the form around it.
  await expect(dialog.getByLabel("Name")).toBeFocused();

  // Bad input first: the form shows the reasons next to the fields and nothing is created.
  await dialog.getByLabel("Name").fill("Budgets");
  await dialog.getByLabel("Slug").fill("bud_gets");
  await dialog.getByLabel("URL").fill("http://169.254.169.254/latest");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByText(/no underscores/i)).toBeVisible();
  await dialog.getByLabel("Slug").fill("budgets");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByText(/metadata/i)).toBeVisible();

  await dialog.getByLabel("URL").fill(`http://127.0.0.1:${E2E_DEMO_PORTS.budgets}/mcp`);
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/servers\/[a-z0-9]+$/);
  await expect(page.getByRole("heading", { name: "Budgets" })).toBeVisible();

  // The first sync runs by itself: no "Sync now" click between adding a server and seeing its tools.
  const tools = page.getByRole("table", { name: "Tools" });
  for (const tool of ["create_budget", "delete_budget", "get_budget_status", "list_budgets", "update_budget_limit"]) {
    await expect(tools.getByRole("row", { name: new RegExp(tool) })).toBeVisible();
  }
  await expect(page.getByText("Ready").first()).toBeVisible();
  // delete_budget says destructiveHint: the suggested class follows it.
  await expect(tools.getByLabel("Risk class for delete_budget")).toHaveValue("destructive");
  await tools.getByLabel("Risk class for create_budget").selectOption("financial");
  await expect(page.getByText(/saved|updated|risk class/i).first()).toBeVisible();
  await page.reload();
  await expect(page.getByRole("table", { name: "Tools" }).getByLabel("Risk class for create_budget")).toHaveValue("financial");
});

test("an admin builds a portal and turns a tool off", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/portals");
  await page.getByRole("button", { name: "Create portal" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Create portal" });
  await dialog.getByLabel("Name").fill("Cost review");
  await dialog.getByLabel("Cost Explorer").check();
  await dialog.getByRole("button", { name: /create/i }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole("link", { name: "Cost review" }).click();

  await expect(page.getByText(`${E2E_GATEWAY_URL}/mcp/cost-review`).first()).toBeVisible();
  // A new portal no role grants says so: whoever connects would see no tools.
  await expect(page.getByRole("alert").filter({ hasText: "No role grants this portal yet" })).toBeVisible();
  const toggle = page.getByRole("switch", { name: "Enable tool cost-explorer_top_services" });
  await expect(toggle).toHaveAttribute("aria-checked", "true");
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-checked", "false");
  await page.reload();
  await expect(page.getByRole("switch", { name: "Enable tool cost-explorer_top_services" })).toHaveAttribute("aria-checked", "false");

  // The API agrees, and the change is in the audit trail.
  const portals = await (await page.request.get("/api/v1/portals?q=cost-review")).json();
  const tools = await (await page.request.get(`/api/v1/portals/${portals.items[0].id}/tools`)).json();
  expect(tools.items.find((t: { name: string }) => t.name === "top_services")).toMatchObject({ enabled: false });
  const audit = await (await page.request.get("/api/v1/audit-events?kind=config.change&q=portal.tool")).json();
  expect(audit.items[0]).toMatchObject({ action: "portal.tool", actorLabel: "admin@portico.local" });
});

/** Whether the page itself scrolls sideways (tables may, inside their own scroller). */
const pageOverflowX = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

test("at 800 px wide the menu replaces the sidebar and the server page, role form and tool pick-list fit", async ({ page }) => {
  await page.setViewportSize({ width: 800, height: 900 });
  await signIn(page, "admin");
  await page.goto("/servers");
  await expect(page.getByRole("button", { name: "Open navigation" })).toBeVisible();
  expect(await pageOverflowX(page)).toBeLessThanOrEqual(0);

  await page.getByRole("link", { name: "Cost Explorer", exact: true }).first().click();
  await expect(page.getByRole("heading", { name: "Cost Explorer" })).toBeVisible();
  // The whole URL is on screen, and key/value rows keep their words whole.
  const url = `http://127.0.0.1:${E2E_DEMO_PORTS["cost-explorer"]}/mcp`;
  await expect(page.getByText(url, { exact: true })).toBeInViewport({ ratio: 1 });
  const transport = page.locator("dd", { hasText: "Streamable HTTP" });
  expect((await transport.boundingBox())!.height).toBeLessThan(28);
  expect(await pageOverflowX(page)).toBeLessThanOrEqual(0);

  await page.goto("/roles/new");
  await page.getByRole("textbox", { name: "Name", exact: true }).fill("Tool pick e2e");
  await page.getByRole("button", { name: "Add principal" }).click();
  await page.getByLabel("Principal 1 kind").selectOption("group");
  await page.getByLabel("Principal 1 value").fill("finops-analysts");
  await page.getByRole("button", { name: "Add grant" }).click();
  const grant = page.getByRole("group", { name: "Grant 1" });
  await grant.getByRole("combobox", { name: "Portal" }).selectOption({ label: "FinOps (finops)" });
  const tool = grant.getByRole("combobox", { name: "Tool", exact: true });
  await expect(tool).toBeDisabled();
  await grant.getByRole("combobox", { name: "Server", exact: true }).selectOption("tagging");
  // A pick-list of what the registry knows for that server: no free text to mistype.
  await expect(tool.locator("option", { hasText: "tag_resource" })).toHaveCount(1);
  await expect(tool.locator("option", { hasText: "top_services" })).toHaveCount(0);
  await tool.selectOption("tag_resource");
  expect(await pageOverflowX(page)).toBeLessThanOrEqual(0);
  await page.getByRole("button", { name: "Create role" }).click();
  await expect(page).toHaveURL(/\/roles\/[a-z0-9]+$/);
  const roles = (await (await page.request.get("/api/v1/roles?q=tool-pick-e2e")).json()) as { items: { id: string; grants: { serverSlug: string; toolName: string }[] }[] };
  expect(roles.items[0]!.grants).toMatchObject([{ serverSlug: "tagging", toolName: "tag_resource" }]);

  // The API refuses what the form cannot express: a misspelt tool, and a user principal that is no
  // email (this install has SSO, so an email of someone not signed in yet is taken).
  const portalId = (await (await page.request.get(`/api/v1/roles/${roles.items[0]!.id}`)).json()).grants[0].portalId as string;
  const refused = await page.request.post("/api/v1/roles", {
    data: { slug: "typo-e2e", name: "Typo", principals: [{ kind: "user", value: "nobody" }], grants: [{ portalId, serverSlug: "tagging", toolName: "tag-resource", riskClasses: ["read"] }] },
  });
  expect(refused.status()).toBe(422);
  const problem = JSON.stringify(await refused.json());
  expect(problem).toContain("grants.0.toolName");
  expect(problem).toContain("principals.0");
  await page.request.delete(`/api/v1/roles/${roles.items[0]!.id}`);
});
