import { createServer as createHttpServer } from "node:http";
import { expect, test } from "@playwright/test";
import { generateSync } from "otplib";
import { E2E_PASSWORD, PERSONAS } from "./fixtures/constants";
import { BrowserOAuthClient, connectThroughBrowser, REDIRECT_ORIGIN, serveClientMetadata, ssoSignIn, startSignIn } from "./fixtures/mcp-oauth";
import { signIn, signInApi, signOut } from "./fixtures/session";

// What the seeded Analyst role allows: the read tools of cost-explorer, tagging and budgets; tagging's
// and budgets' write, destructive and financial tools on a manager's approval (step-up). Those are
// listed too, so a client can call one and be challenged for the elevated scope.
const ANALYST_TOOL = "cost-explorer_top_services";
const STEP_UP_TOOL = "tagging_tag_resource";

async function toolNames(client: Awaited<ReturnType<typeof connectThroughBrowser>>) {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

test("an analyst connects a self-registering MCP client through company SSO, sees only the analyst's tools, and calls one", async ({ page }) => {
  const provider = new BrowserOAuthClient({ clientName: "Claude Code (e2e)" });
  const client = await connectThroughBrowser(page, provider, {
    signIn: async (p) => {
      await expect(p).toHaveURL(/\/sign-in\?callbackUrl=%2Foauth%2Finteraction%2F/);
      await ssoSignIn("sam.sso")(p);
      // Back from the IdP, on the consent page: the client, where the answer goes, the portal.
      await expect(p.getByTestId("consent-title")).toHaveText(/Connect Claude Code \(e2e\) to FinOps/);
      await expect(p.getByTestId("consent-redirect-host")).toHaveText("127.0.0.1:6274");
      await expect(p.getByText("The answer goes to this computer only")).toBeVisible();
    },
  });
  try {
    const names = await toolNames(client);
    expect(names).toContain(ANALYST_TOOL);
    expect(names).toContain(STEP_UP_TOOL);
    expect(names.every((n) => ["cost-explorer_", "tagging_", "budgets_"].some((prefix) => n.startsWith(prefix)))).toBe(true);
    const result = await client.callTool({ name: ANALYST_TOOL, arguments: { month: "2026-10" } });
    expect(result.isError ?? false).toBe(false);
  } finally {
    await client.close();
  }

  // The same client again, still signed in to Portico: consent is remembered, the browser goes straight back.
  provider.forgetTokens();
  const again = await connectThroughBrowser(page, provider, { expectConsent: false });
  expect(await toolNames(again)).toContain(ANALYST_TOOL);
  await again.close();
});

test("a local account with TOTP signs in a client; the person sees it under Connected clients and disconnects it", async ({ page }) => {
  // The demo analyst turns on two-factor authentication first (the Analyst role requires MFA).
  await signIn(page, "viewer");
  await page.goto("/account/security");
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  const secret = await page.getByLabel("Secret key").inputValue();
  await page.getByLabel("Verification code").fill(generateSync({ secret }));
  await page.getByRole("button", { name: "Verify and turn on" }).click();
  await page.getByRole("button", { name: "I have saved my recovery codes" }).click();
  await signOut(page);

  const provider = new BrowserOAuthClient({ clientName: "VS Code (e2e)" });
  const client = await connectThroughBrowser(page, provider, {
    signIn: async (p) => {
      await p.getByLabel("Email").fill(PERSONAS.viewer);
      await p.getByLabel("Password").fill(E2E_PASSWORD);
      await p.getByRole("button", { name: "Sign in", exact: true }).click();
      await p.getByLabel("Authentication code").fill(generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
      await p.getByRole("button", { name: "Verify" }).click();
    },
  });
  try {
    expect(await toolNames(client)).toContain(ANALYST_TOOL);
    expect((await client.callTool({ name: ANALYST_TOOL, arguments: { month: "2026-10" } })).isError ?? false).toBe(false);
  } finally {
    await client.close();
  }

  // Seconds later the client asks for the elevated scope (as on the gateway's step-up challenge):
  // the code just entered at sign-in is a fresh second factor, so the page offers the request form
  // at once instead of asking for another code (which the one-time rule would refuse as a replay).
  const elevated = new URL(provider.authorizationUrl!);
  elevated.searchParams.set("scope", "mcp mcp:elevated:write");
  await page.goto(elevated.toString());
  await expect(page.getByTestId("step-up-title")).toBeVisible();
  await expect(page.getByTestId("step-up-form")).toBeVisible();
  await expect(page.getByTestId("step-up-mfa")).toHaveCount(0);

  await page.goto("/connected-clients");
  const row = page.getByRole("row", { name: /VS Code \(e2e\)/ });
  await expect(row).toBeVisible();
  await expect(row).toContainText("finops");
  await row.getByRole("button", { name: "Disconnect" }).click();
  await page.getByRole("button", { name: "Disconnect", exact: true }).last().click();
  await expect(row).toHaveCount(0);
  // Its refresh token is dead: the SDK cannot refresh, and needs the browser again.
  const refreshed = await page.request.post("/oauth/token", {
    form: { grant_type: "refresh_token", client_id: String(provider.clientInformation()?.client_id), refresh_token: String(provider.tokens()?.refresh_token), resource: "http://127.0.0.1:4290/mcp/finops" },
  });
  expect(refreshed.status()).toBe(400);
});

test("a client identified by its metadata document (CIMD) connects, once an admin allows the local test host", async ({ page, request }) => {
  await signInApi(request, PERSONAS.admin);
  const allow = await request.patch("/api/v1/settings", { data: { oauthCimdAllowPrivate: true } });
  expect(allow.status(), await allow.text()).toBe(200);
  const metadata = await serveClientMetadata((url) => ({
    client_id: url,
    client_name: "Inspector via CIMD (e2e)",
    redirect_uris: ["http://127.0.0.1:6274/oauth/callback"],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  }));
  try {
    // Settings are re-read within two seconds.
    await page.waitForTimeout(2_100);
    const provider = new BrowserOAuthClient({ clientName: "ignored: the document names it", clientMetadataUrl: metadata.url });
    const client = await connectThroughBrowser(page, provider, {
      signIn: async (p) => {
        await ssoSignIn("sam.sso")(p);
        await expect(p.getByTestId("consent-title")).toHaveText(/Connect Inspector via CIMD \(e2e\) to FinOps/);
        await expect(p.getByText(metadata.url)).toBeVisible();
      },
    });
    try {
      expect(provider.clientInformation()?.client_id).toBe(metadata.url);
      expect(await toolNames(client)).toContain(ANALYST_TOOL);
      expect((await client.callTool({ name: ANALYST_TOOL, arguments: { month: "2026-10" } })).isError ?? false).toBe(false);
    } finally {
      await client.close();
    }
  } finally {
    await metadata.close();
    await request.patch("/api/v1/settings", { data: { oauthCimdAllowPrivate: false } });
  }
});

test("a person with no role on the portal is told so, with no Approve button, and the client gets access_denied saying why", async ({ page }) => {
  const provider = new BrowserOAuthClient({ clientName: "No-role CLI (e2e)" });
  await startSignIn(provider);
  let callback: URL | undefined;
  const listener = createHttpServer((req, res) => {
    callback = new URL(req.url ?? "/", REDIRECT_ORIGIN);
    res.writeHead(200, { "content-type": "text/plain" }).end("Done.");
  });
  await new Promise<void>((resolve) => listener.listen(Number(new URL(REDIRECT_ORIGIN).port), "127.0.0.1", resolve));
  try {
    await page.goto(provider.authorizationUrl!.toString());
    // The local manager holds no portal role (the seeded manager role names an IdP group).
    await page.getByLabel("Email").fill(PERSONAS.approver);
    await page.getByLabel("Password").fill(E2E_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await expect(page.getByTestId("consent-title")).toHaveText("You hold no role on FinOps");
    await expect(page.getByTestId("no-role-message")).toContainText(/You hold no role on FinOps; ask a Portico admin for access \(.*admin@portico\.local/);
    await expect(page.getByRole("button", { name: "Approve" })).toHaveCount(0);
    await page.getByRole("button", { name: "Back to No-role CLI (e2e)" }).click();
    await expect.poll(() => callback?.toString() ?? "").toContain("error=");
  } finally {
    listener.closeAllConnections();
    await new Promise((resolve) => listener.close(resolve));
  }
  expect(callback!.searchParams.get("code")).toBeNull();
  expect(callback!.searchParams.get("error")).toBe("access_denied");
  expect(callback!.searchParams.get("error_description")).toMatch(/^You hold no role on FinOps; ask a Portico admin for access \(.*admin@portico\.local.*\)\.$/);
});
