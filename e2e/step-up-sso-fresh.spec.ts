import { UnauthorizedError, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { expect, test, type Page } from "@playwright/test";
import { E2E_BASE_URL, E2E_IDP_PORT } from "./fixtures/constants";
import { BrowserOAuthClient, connectThroughBrowser, ssoSignIn } from "./fixtures/mcp-oauth";
import { stepUpRequestUrl } from "../gateway/stages/decide";

/**
 * Step-up for an SSO account whose second factor is too old, with the real IdP: Stella's IdP
 * session began an hour ago (the fixture reports that `auth_time`), so Portico's session counts her
 * factor as an hour old, however recently she opened Portico. The request page says so and offers
 * "Sign in again"; filing is refused meanwhile. The button sends her to the IdP with
 * `prompt=login` and `max_age=0`, the IdP really asks again and reports `auth_time` now, she comes
 * back to the same page and can file.
 *
 * Stella is this spec's own person (no other spec signs in as her), and her request is withdrawn at
 * the end, so no Approvals queue or rate limit of another spec sees it.
 */

const LINK = stepUpRequestUrl(E2E_BASE_URL, "finops", "write", "tagging", "tag_resource");
const IDP_ORIGIN = `http://127.0.0.1:${E2E_IDP_PORT}`;

/** Clicks "Sign in again", checks the IdP was asked to authenticate her now, and signs in on its login form. */
async function signInAgainAtIdp(page: Page) {
  const [authorization] = await Promise.all([
    page.waitForRequest((req) => req.url().startsWith(`${IDP_ORIGIN}/auth`)),
    page.getByTestId("step-up-sign-in-again").getByRole("button", { name: "Sign in again" }).click(),
  ]);
  const asked = new URL(authorization.url()).searchParams;
  expect(asked.get("prompt")).toBe("login");
  expect(asked.get("max_age")).toBe("0");
  // Her IdP session is still there, yet the IdP shows its login form again.
  await expect(page).toHaveURL(new RegExp(`^${IDP_ORIGIN.replace(/\./g, "\\.")}/interaction/`));
  await page.locator('input[name="login"]').fill("stella.sso");
  await page.locator('input[name="password"]').fill("any");
  await page.getByRole("button", { name: /sign-?in/i }).click();
}

test("an SSO analyst whose IdP sign-in is an hour old signs in again at the IdP from the request page, comes back, and can then file", async ({ page }) => {
  await page.goto("/sign-in");
  await ssoSignIn("stella.sso")(page);
  await page.waitForURL((url) => url.origin === E2E_BASE_URL && !url.pathname.startsWith("/sign-in") && !url.pathname.startsWith("/api/"));

  await page.goto(LINK);
  await expect(page.getByRole("heading", { name: "Request elevated access" })).toBeVisible();
  const stale = page.getByTestId("step-up-sign-in-again");
  await expect(stale).toContainText("second factor from the last 10 minutes");
  await expect(page.getByTestId("step-up-form")).toHaveCount(0);

  // The form's own call, made without the fresh sign-in: refused, and nothing filed.
  const reason = `Tag the reserved instances ${Date.now()}`;
  const body = { portal: "finops", riskClass: "write", server: "tagging", tool: "tag_resource", reason, durationMinutes: 15 };
  const refused = await page.request.post("/api/v1/step-up-requests", { data: body });
  expect(refused.status()).toBe(403);
  expect(await refused.text()).toContain("Sign in again first");
  const mine = (await (await page.request.get(`/api/v1/step-up-requests?q=${encodeURIComponent(reason)}`)).json()) as { items: unknown[] };
  expect(mine.items).toHaveLength(0);

  await signInAgainAtIdp(page);

  // Back on the very page she left, now with the form.
  await page.waitForURL((url) => url.origin === E2E_BASE_URL && url.pathname === "/step-up/new");
  expect(new URL(page.url()).search).toBe(new URL(LINK).search);
  await expect(page.getByTestId("step-up-form")).toBeVisible();
  await expect(page.getByTestId("step-up-sign-in-again")).toHaveCount(0);
  await page.getByLabel("Why do you need it?").fill(reason);
  await page.getByLabel("For how long?").selectOption("15");
  await page.getByRole("button", { name: "Ask for approval" }).click();
  await expect(page.getByTestId("step-up-waiting")).toBeVisible();

  // Withdrawn again, so it waits in no one's Approvals queue.
  await page.getByRole("button", { name: "Withdraw the request" }).click();
  await expect(page.getByTestId("step-up-ended")).toContainText("withdrawn");
});

/** Keeps no refresh token, so SDK 1.x answers `insufficient_scope` by re-authorizing (as in step-up.spec). */
class NoRefreshOAuthClient extends BrowserOAuthClient implements OAuthClientProvider {
  override saveTokens(tokens: OAuthTokens) {
    super.saveTokens({ ...tokens, refresh_token: undefined });
  }
}

test("the same on the authorization page: her MCP client is challenged, she signs in again at the IdP and comes back to the same interaction", async ({ page }) => {
  const provider = new NoRefreshOAuthClient({ clientName: "Claude Code (stale SSO e2e)" });
  const client = await connectThroughBrowser(page, provider, { signIn: ssoSignIn("stella.sso") });
  provider.authorizationUrl = undefined;
  await expect(client.callTool({ name: "tagging_tag_resource", arguments: { resource_id: "i-0fe278e1bf1cda126", key: "owner", value: "stella" } })).rejects.toThrow(UnauthorizedError);
  const url = provider.authorizationUrl as URL | undefined;
  expect(url?.searchParams.get("scope")?.split(" ")).toContain("mcp:elevated:write");

  await page.goto(url!.toString());
  await expect(page.getByTestId("step-up-title")).toBeVisible();
  await expect(page.getByTestId("step-up-sign-in-again")).toBeVisible();
  await expect(page.getByTestId("step-up-form")).toHaveCount(0);
  const interaction = new URL(page.url()).pathname;
  expect(interaction).toMatch(/^\/oauth\/interaction\//);

  await signInAgainAtIdp(page);
  await page.waitForURL((u) => u.origin === E2E_BASE_URL && u.pathname === interaction);
  const reason = `Tag my instances from the client ${Date.now()}`;
  await page.getByLabel("Why do you need it?").fill(reason);
  await page.getByLabel("For how long?").selectOption("15");
  await page.getByRole("button", { name: "Ask for approval" }).click();
  await expect(page.getByTestId("step-up-waiting")).toBeVisible();
  await page.getByRole("button", { name: "Withdraw the request" }).click();
  await expect(page.getByTestId("step-up-ended")).toContainText("withdrawn");
  await client.close();
});
