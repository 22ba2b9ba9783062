import { expect, test } from "@playwright/test";
import { signIn } from "./fixtures/session";

// The README's pictures, taken from the running product so they never drift from it.
const shots = [
  { name: "overview", path: "/", ready: "Welcome back" },
  { name: "servers", path: "/servers", ready: "Cost Explorer" },
  { name: "portal", path: "/portals", ready: "FinOps", open: "FinOps" },
  { name: "roles", path: "/roles", ready: "Analyst" },
  { name: "audit", path: "/audit", ready: "portal.create" },
];

test("README screenshots", async ({ page }) => {
  await page.setViewportSize({ width: 1400, height: 900 });
  await signIn(page, "admin");
  for (const shot of shots) {
    await page.goto(shot.path);
    if (shot.open) await page.getByRole("link", { name: shot.open, exact: true }).first().click();
    await expect(page.getByText(shot.ready).first()).toBeVisible();
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: `docs/screenshots/${shot.name}.png` });
  }
});
