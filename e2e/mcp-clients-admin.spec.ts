import { expect, test } from "@playwright/test";
import { BrowserOAuthClient, connectThroughBrowser, ssoSignIn, startSignIn } from "./fixtures/mcp-oauth";
import { signIn } from "./fixtures/session";

const ANALYST_TOOL = "cost-explorer_top_services";

test("an admin pre-registers a client; it connects with that client id while self-registration is off", async ({ page, browser }) => {
  await signIn(page, "admin");
  await page.goto("/connected-clients");
  await page.getByRole("button", { name: "Register a client" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("Cursor (pre-registered, e2e)");
  await dialog.getByLabel("Redirect URIs").fill("http://127.0.0.1:6274/oauth/callback");
  await dialog.getByRole("button", { name: "Register client" }).click();
  const clientId = await page.getByLabel("New client id").inputValue();
  expect(clientId).toMatch(/^pc_/);
  await page.getByRole("button", { name: "Done" }).click();

  expect((await page.request.patch("/api/v1/settings", { data: { oauthDynamicRegistration: false } })).status()).toBe(200);
  const analyst = await browser.newContext();
  try {
    const provider = new BrowserOAuthClient({ clientName: "not used: the admin named it", clientId });
    const client = await connectThroughBrowser(await analyst.newPage(), provider, {
      signIn: async (p) => {
        await ssoSignIn("sam.sso")(p);
        await expect(p.getByTestId("consent-title")).toHaveText(/Connect Cursor \(pre-registered, e2e\) to FinOps/);
        await expect(p.getByText("Registered by a Portico admin")).toBeVisible();
      },
    });
    expect((await client.listTools()).tools.map((t) => t.name)).toContain(ANALYST_TOOL);
    await client.close();
  } finally {
    await analyst.close();
    await page.request.patch("/api/v1/settings", { data: { oauthDynamicRegistration: true } });
    // The authorization server re-reads settings within two seconds; later tests register clients.
    await expect
      .poll(async () => ((await (await page.request.get("/oauth/.well-known/openid-configuration")).json()) as { registration_endpoint?: string }).registration_endpoint, { timeout: 8_000 })
      .toBeDefined();
  }

  await page.reload();
  const row = page.getByRole("row", { name: /Cursor \(pre-registered, e2e\)/ });
  await expect(row).toBeVisible();
  await expect(row.getByRole("cell").nth(3)).toHaveText("1");
});

test("the consent page cannot be framed, and a decision without its form token or from another site changes nothing", async ({ page }) => {
  const provider = new BrowserOAuthClient({ clientName: "Forgery target (e2e)" });
  await startSignIn(provider);
  await page.goto(provider.authorizationUrl!.toString());
  await ssoSignIn("sam.sso")(page);
  await expect(page.getByTestId("consent-title")).toBeVisible();

  const consentPage = await page.request.get(page.url());
  expect(consentPage.headers()["x-frame-options"]).toBe("DENY");
  expect(consentPage.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");

  const decision = `${page.url()}/decision`;
  const token = await page.locator('input[name="token"]').inputValue();
  const forged = await page.request.post(decision, { form: { token: "forged", decision: "approve" } });
  expect(forged.status()).toBe(403);
  const crossSite = await page.request.post(decision, { form: { token, decision: "approve" }, headers: { origin: "https://evil.example" } });
  expect(crossSite.status()).toBe(403);

  // Still pending, still the person's to decide.
  await page.reload();
  await expect(page.getByTestId("consent-title")).toBeVisible();
  await expect(page.getByRole("button", { name: "Approve" })).toBeVisible();
});
