import { expect, test } from "@playwright/test";
import { signIn } from "./fixtures/session";

test.describe.configure({ mode: "serial" });

test("an admin turns sampling off for a server and back on, from its page", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/servers");
  await page.getByRole("row", { name: /Cost Explorer/ }).click();
  await expect(page.getByRole("heading", { name: "Cost Explorer" })).toBeVisible();

  const sampling = page.getByRole("switch", { name: "Relay sampling requests from this server to clients" });
  await expect(sampling).toHaveAttribute("aria-checked", "true");
  await sampling.click();
  await expect(page.getByText("Sampling requests from Cost Explorer are refused")).toBeVisible();
  await expect(page.getByText("refused", { exact: true })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("switch", { name: "Relay sampling requests from this server to clients" })).toHaveAttribute("aria-checked", "false");
  await expect(page.getByRole("switch", { name: "Relay elicitation requests from this server to clients" })).toHaveAttribute("aria-checked", "true");

  await page.getByRole("switch", { name: "Relay sampling requests from this server to clients" }).click();
  await expect(page.getByText("Sampling requests from Cost Explorer are relayed to clients")).toBeVisible();
});
