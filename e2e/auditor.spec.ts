import { expect, test } from "@playwright/test";
import { signIn } from "./fixtures/session";

test("an auditor can read everything but change nothing, in the UI and through the API", async ({ page }) => {
  await signIn(page, "auditor");

  await page.goto("/servers");
  await expect(page.getByRole("row", { name: /Cost Explorer/ })).toBeVisible();
  await expect(page.getByRole("button", { name: "Add server" })).toHaveCount(0);
  await page.getByRole("row", { name: /Cost Explorer/ }).click();
  await expect(page.getByRole("heading", { name: "Cost Explorer" })).toBeVisible();
  for (const name of ["Sync now", "Edit", "Delete server"]) await expect(page.getByRole("button", { name, exact: true })).toHaveCount(0);
  await expect(page.getByRole("combobox", { name: /Risk class for/ })).toHaveCount(0);

  await page.goto("/portals");
  await expect(page.getByRole("button", { name: "Create portal" })).toHaveCount(0);
  await page.getByRole("link", { name: "FinOps" }).click();
  await expect(page.getByRole("switch")).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Delete portal" })).toHaveCount(0);

  // Narrowed to config changes: other journeys' events may have pushed it off the first page.
  await page.goto("/audit?kind=config.change&q=portal.create");
  await expect(page.getByRole("heading", { name: /Audit/ })).toBeVisible();
  await expect(page.getByRole("row", { name: /portal\.create/ }).first()).toBeVisible();

  // The session cookie reaches the API too, and the API refuses the auditor's writes.
  const portals = await (await page.request.get("/api/v1/portals")).json();
  const finops = portals.items.find((p: { slug: string }) => p.slug === "finops");
  const tools = await (await page.request.get(`/api/v1/portals/${finops.id}/tools`)).json();
  const res = await page.request.patch(`/api/v1/portals/${finops.id}/tools/${tools.items[0].toolId}`, { data: { enabled: false } });
  expect(res.status()).toBe(403);
  expect(await res.json()).toMatchObject({ code: "forbidden", status: 403 });
  const after = await (await page.request.get(`/api/v1/portals/${finops.id}/tools`)).json();
  expect(after.items[0].enabled).toBe(tools.items[0].enabled);
  expect((await page.request.post("/api/v1/servers", { data: { slug: "x", name: "x", url: "http://127.0.0.1:1/mcp" } })).status()).toBe(403);
});
