import { expect, test, type Page } from "@playwright/test";
import { generateSync } from "otplib";
import { E2E_BASE_URL, E2E_PASSWORD, PERSONAS } from "./fixtures/constants";
import { signIn, signOut, tokenFor } from "./fixtures/session";

test("an admin signs in with a local account and lands on the overview", async ({ page }) => {
  await page.goto("/servers");
  await expect(page).toHaveURL(/\/sign-in\?callbackUrl=%2Fservers/);
  await page.getByLabel("Email").fill(PERSONAS.admin);
  await page.getByLabel("Password").fill(E2E_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/servers$/);
  await expect(page.getByRole("heading", { name: "Servers" })).toBeVisible();
  await expect(page.getByRole("complementary").getByText("Fiona Admin")).toBeVisible();
});

test("a wrong password is refused without saying whether the account exists", async ({ page }) => {
  await page.goto("/sign-in");
  for (const email of [PERSONAS.viewer, "nobody@portico.local"]) {
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByText("That email and password do not match.")).toBeVisible();
  }
  await expect(page).toHaveURL(/\/sign-in/);
});

test("an admin signs in through the company IdP and gets the role of their group", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByRole("button", { name: "Continue with Acme SSO" }).click();
  // oidc-provider's own login page, on the IdP's origin.
  await expect(page).toHaveURL(/127\.0\.0\.1:3990\/interaction\//);
  await page.locator('input[name="login"]').fill("olivia.sso");
  await page.locator('input[name="password"]').fill("any");
  await page.getByRole("button", { name: /sign-?in/i }).click();
  await page.waitForURL((url) => url.port === "3100" && !url.pathname.startsWith("/sign-in") && !url.pathname.startsWith("/api/"));
  await expect(page.getByRole("complementary").getByText("Olivia SSO-Admin")).toBeVisible();
  await expect(page.getByRole("link", { name: "Users" })).toBeVisible();

  // Created just in time, as an SSO user with the admin role from the finops-admins group.
  const me = await (await page.request.get("/api/v1/me")).json();
  expect(me).toMatchObject({ email: "olivia@corp.example", role: "admin" });
});

test("an IdP user whose groups map to no role is refused", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByRole("button", { name: "Continue with Acme SSO" }).click();
  await page.locator('input[name="login"]').fill("nobody.sso");
  await page.locator('input[name="password"]').fill("any");
  await page.getByRole("button", { name: /sign-?in/i }).click();
  await expect(page).toHaveURL(/\/sign-in\?.*error=AccessDenied/);
  await expect(page.getByText("not allowed into Portico")).toBeVisible();
});

test("a user enrols TOTP with the QR code's secret, then needs a code to sign in", async ({ page, playwright }) => {
  // Leave the manager as the seed made them (no second factor) for the journeys after this one.
  try {
    await enrolAndSignIn(page);
  } finally {
    const admin = await playwright.request.newContext({ baseURL: E2E_BASE_URL });
    const token = await tokenFor(admin, "admin");
    const headers = { authorization: `Bearer ${token}` };
    const users = (await (await admin.get(`/api/v1/users?q=${encodeURIComponent(PERSONAS.approver)}`, { headers })).json()) as { items: Array<{ id: string; email: string }> };
    const manager = users.items.find((u) => u.email === PERSONAS.approver)!;
    expect((await admin.patch(`/api/v1/users/${manager.id}`, { headers, data: { resetMfa: true } })).status()).toBe(200);
    await admin.dispose();
  }
});

async function enrolAndSignIn(page: Page) {
  await signIn(page, "approver");
  await page.goto("/account/security");
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await expect(page.getByRole("img", { name: /QR/i })).toBeVisible();
  const secret = await page.getByLabel("Secret key").inputValue();
  expect(secret).toMatch(/^[A-Z2-7]{16,}$/);

  await page.getByLabel("Verification code").fill("000000");
  await page.getByRole("button", { name: "Verify and turn on" }).click();
  await expect(page.getByText(/not valid/i)).toBeVisible();

  await page.getByLabel("Verification code").fill(generateSync({ secret }));
  await page.getByRole("button", { name: "Verify and turn on" }).click();
  const codes = page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem");
  await expect(codes).toHaveCount(10);
  await page.getByRole("button", { name: "I have saved my recovery codes" }).click();

  await signOut(page);
  await page.getByLabel("Email").fill(PERSONAS.approver);
  await page.getByLabel("Password").fill(E2E_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const code = page.getByLabel("Authentication code");
  await expect(code).toBeVisible();
  await code.fill("123456");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByText("That code is not valid.")).toBeVisible();
  // The next period's code: this period's was used to enrol, and a used code is refused.
  await code.fill(generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/sign-in"));
  await expect(page.getByRole("complementary").getByText("Max Manager")).toBeVisible();
}

test("a viewer who opens another role's page by its link is told so, not shown an error", async ({ page }) => {
  await signIn(page, "viewer");
  for (const [path, title] of [
    ["/approvals", "Approvals"],
    ["/alerts", "Alerts"],
    ["/settings", "Settings"],
  ] as const) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(200);
    await expect(page.getByRole("heading", { name: title, level: 1 })).toBeVisible();
    await expect(page.getByText("You do not have access to this page")).toBeVisible();
  }
  // And the sidebar does not offer them.
  const nav = page.getByRole("navigation").first();
  await expect(nav.getByRole("link", { name: /^Approvals/ })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: /^Alerts/ })).toHaveCount(0);
});
