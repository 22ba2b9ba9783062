import { expect, test, type APIRequestContext } from "@playwright/test";
import type { Settings } from "../lib/schemas/settings";
import { E2E_BASE_URL, PERSONAS } from "./fixtures/constants";
import { signIn, signInApi, signOut } from "./fixtures/session";

// The authorization server re-reads settings at most every two seconds.
const SETTLED = { timeout: 8_000, intervals: [500] };

async function registrationEndpoint(request: APIRequestContext) {
  const res = await request.get("/oauth/.well-known/openid-configuration");
  expect(res.status()).toBe(200);
  return ((await res.json()) as { registration_endpoint?: string }).registration_endpoint;
}

test("an admin switches dynamic client registration off, and the authorization server stops offering it", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/settings");
  const registration = page.getByRole("switch", { name: "Let MCP clients register themselves" });
  await expect(registration).toBeChecked();
  expect(await registrationEndpoint(page.request)).toBe(`${E2E_BASE_URL}/oauth/reg`);

  try {
    await registration.click();
    await expect(page.getByText("MCP clients can no longer register themselves")).toBeVisible();
    await expect(registration).not.toBeChecked();
    await expect.poll(() => registrationEndpoint(page.request), SETTLED).toBeUndefined();
    expect((await page.request.post("/oauth/reg", { data: { redirect_uris: ["http://127.0.0.1:6274/oauth/callback"] } })).status()).toBe(403);

    await page.reload();
    await expect(registration).not.toBeChecked();
    await registration.click();
    await expect(page.getByText("MCP clients can register themselves again")).toBeVisible();
    await expect(registration).toBeChecked();
  } finally {
    // Other specs register clients: make sure registration is back before they run.
    await page.request.patch("/api/v1/settings", { data: { oauthDynamicRegistration: true } });
    await expect.poll(() => registrationEndpoint(page.request), SETTLED).toBe(`${E2E_BASE_URL}/oauth/reg`);
  }
});

test("an admin's client metadata domains and token lifetimes are checked, saved and shown read-only to an auditor", async ({ page, request }) => {
  await signInApi(request, PERSONAS.admin);
  const before = (await (await request.get("/api/v1/settings")).json()) as Settings;

  try {
    await signIn(page, "admin");
    await page.goto("/settings");
    const domains = page.getByLabel("Allowed domains for client metadata");
    const save = page.getByRole("button", { name: "Save domains" });

    // A URL is not a domain: the form says which entry is wrong and saves nothing.
    await domains.fill("claude.ai\nhttps://mcp.example.com/");
    await save.click();
    await expect(domains).toHaveAttribute("aria-invalid", "true");
    await expect(domains).toHaveAccessibleDescription(/https:\/\/mcp\.example\.com\/: Use a domain name such as claude\.ai or \*\.example\.com/);
    // The API refuses it on its own too, naming the entry.
    const refused = await page.request.patch("/api/v1/settings", { data: { oauthCimdDomains: ["claude.ai", "https://mcp.example.com/"] } });
    expect(refused.status()).toBe(422);
    expect(await refused.json()).toMatchObject({ errors: [{ field: "oauthCimdDomains.1", message: expect.stringMatching(/Use a domain name/) }] });

    await domains.fill("claude.ai\n*.Example.com");
    await expect(domains).not.toHaveAttribute("aria-invalid", "true");
    await save.click();
    await expect(page.getByText("Client metadata domains saved")).toBeVisible();

    const minutes = page.getByLabel("Access token lifetime (minutes)");
    const days = page.getByLabel("Refresh token lifetime (days)");
    await minutes.fill("61");
    await days.fill("7");
    await page.getByRole("button", { name: "Save lifetimes" }).click();
    await expect(minutes).toHaveAccessibleDescription(/Enter a whole number of minutes from 1 to 60\./);
    await minutes.fill("5");
    await page.getByRole("button", { name: "Save lifetimes" }).click();
    await expect(page.getByText("Token lifetimes saved")).toBeVisible();

    await page.reload();
    await expect(domains).toHaveValue("claude.ai\n*.example.com");
    await expect(minutes).toHaveValue("5");
    await expect(days).toHaveValue("7");
    expect(await (await page.request.get("/api/v1/settings")).json()).toMatchObject({
      oauthCimdDomains: ["claude.ai", "*.example.com"],
      oauthAccessTokenMinutes: 5,
      oauthRefreshTokenDays: 7,
    });

    // An auditor sees the same values and can change none of them.
    await signOut(page);
    await signIn(page, "auditor");
    await page.goto("/settings");
    await expect(page.getByText("Only admins can change settings.")).toBeVisible();
    await expect(domains).toHaveValue("claude.ai\n*.example.com");
    await expect(minutes).toHaveValue("5");
    await expect(days).toHaveValue("7");
    for (const field of [domains, minutes, days]) await expect(field).not.toBeEditable();
    for (const name of ["Let MCP clients register themselves", "Allow metadata documents on private addresses"]) {
      await expect(page.getByRole("switch", { name })).toBeDisabled();
    }
    await expect(page.getByRole("switch", { name: "Let MCP clients register themselves" })).toBeChecked({ checked: before.oauthDynamicRegistration });
    await expect(page.getByRole("button", { name: /^Save/ })).toHaveCount(0);
  } finally {
    const restored = await request.patch("/api/v1/settings", {
      data: {
        oauthCimdDomains: before.oauthCimdDomains,
        oauthAccessTokenMinutes: before.oauthAccessTokenMinutes,
        oauthRefreshTokenDays: before.oauthRefreshTokenDays,
      },
    });
    expect(restored.status(), await restored.text()).toBe(200);
  }
});

test("an admin testing a DLP pattern that does not compile sees why on the field, and the old result goes", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/settings");
  const patterns = page.getByRole("region", { name: "DLP patterns" });
  const testBox = page.getByRole("region", { name: "DLP test" });
  await patterns.getByRole("button", { name: "Add pattern" }).click();
  const regex = patterns.getByLabel("Pattern regex").last();

  // A pattern that compiles: the test shows its result.
  await regex.fill("ticket-[0-9]+");
  await testBox.getByLabel("Test on sample text").fill("see ticket-42");
  await testBox.getByRole("button", { name: "Test" }).click();
  await expect(testBox.getByRole("status")).toContainText("ticket-42");

  // One that does not: RE2's reason is on the field and in the test result, and the earlier matches are gone.
  await regex.fill("([a-z");
  await testBox.getByRole("button", { name: "Test" }).click();
  await expect(regex).toHaveAttribute("aria-invalid", "true");
  await expect(regex).toHaveAccessibleDescription(/not a valid RE2 expression: .*missing \]/);
  await expect(testBox.getByRole("alert")).toContainText(/missing \]/);
  await expect(testBox.getByRole("status")).toHaveCount(0);

  // Blank (added, not written yet): the test leaves the row out and runs the rest, built-ins included.
  await regex.fill("");
  await expect(regex).not.toHaveAttribute("aria-invalid", "true");
  await testBox.getByLabel("Test on sample text").fill("see ticket-42, card 4111 1111 1111 1111");
  await testBox.getByRole("button", { name: "Test" }).click();
  await expect(testBox.getByRole("status")).toContainText("Recorded as: see ticket-42, card [REDACTED:card]");
  await expect(regex).not.toHaveAttribute("aria-invalid", "true");
  // Saving it names the row: a human message, not "The request is not valid" alone.
  await patterns.getByRole("button", { name: "Save patterns" }).click();
  await expect(regex).toHaveAccessibleDescription("Enter a regular expression");

  // Saving says the same, and saves nothing.
  await regex.fill("([a-z");
  await patterns.getByRole("button", { name: "Save patterns" }).click();
  await expect(regex).toHaveAccessibleDescription(/missing \]/);
  const saved = (await (await page.request.get("/api/v1/settings/dlp")).json()) as { patterns: Array<{ regex: string }> };
  expect(saved.patterns.map((p) => p.regex)).not.toContain("([a-z");
});

test("the browser finds the product's icon on a first page load, with no 404 for it", async ({ page }) => {
  const missing: string[] = [];
  page.on("response", (res) => {
    if (res.status() === 404) missing.push(res.url());
  });
  await page.goto("/sign-in");
  const href = await page.locator('link[rel="icon"]').first().getAttribute("href");
  expect(href).toBeTruthy();
  const icon = await page.request.get(href!);
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toContain("image/svg+xml");
  await page.waitForLoadState("networkidle");
  expect(missing).toEqual([]);
});
