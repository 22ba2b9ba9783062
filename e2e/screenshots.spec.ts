import { expect, test } from "@playwright/test";
import { BrowserOAuthClient, ssoSignIn, startSignIn } from "./fixtures/mcp-oauth";
import { signIn } from "./fixtures/session";

// The README's pictures, taken from the running product so they never drift from it.
const shots = [
  { name: "overview", path: "/", ready: "Welcome back" },
  { name: "servers", path: "/servers", ready: "Cost Explorer" },
  { name: "portal", path: "/portals", ready: "FinOps", open: "FinOps" },
  { name: "roles", path: "/roles", ready: "Analyst" },
  { name: "audit", path: "/audit?kind=config.change", ready: "portal.create" },
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

test("README screenshot: the consent page an MCP client's sign-in lands on", async ({ page }) => {
  await page.setViewportSize({ width: 1000, height: 820 });
  const provider = new BrowserOAuthClient({ clientName: "Claude Code" });
  await startSignIn(provider);
  await page.goto(provider.authorizationUrl!.toString());
  await ssoSignIn("sam.sso")(page);
  await expect(page.getByTestId("consent-title")).toBeVisible();
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path: "docs/screenshots/consent.png" });
});
