import { expect, test } from "@playwright/test";
import { E2E_DEMO_PORTS, E2E_GATEWAY_URL } from "./fixtures/constants";
import { signIn } from "./fixtures/session";

test.describe.configure({ mode: "serial" });

test("an admin registers the bundled budgets server, syncs it and sees its tools", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/servers");
  await page.getByRole("button", { name: "Add server" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Add server" });

  // Bad input first: the form shows the reasons next to the fields and nothing is created.
  await dialog.getByLabel("Name").fill("Budgets");
  await dialog.getByLabel("ID").fill("bud_gets");
  await dialog.getByLabel("URL").fill("http://169.254.169.254/latest");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByText(/no underscores/i)).toBeVisible();
  await dialog.getByLabel("ID").fill("budgets");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByText(/metadata/i)).toBeVisible();

  await dialog.getByLabel("URL").fill(`http://127.0.0.1:${E2E_DEMO_PORTS.budgets}/mcp`);
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(page).toHaveURL(/\/servers\/[a-z0-9]+$/);
  await expect(page.getByRole("heading", { name: "Budgets" })).toBeVisible();

  await page.getByRole("button", { name: "Sync now" }).click();
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
