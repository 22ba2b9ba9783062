import { createServer as createHttpServer } from "node:http";
import { UnauthorizedError, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { expect, test, type Page } from "@playwright/test";
import { E2E_BASE_URL, PERSONAS } from "./fixtures/constants";
import { BrowserOAuthClient, connectThroughBrowser, REDIRECT_ORIGIN, ssoSignIn } from "./fixtures/mcp-oauth";
import { signInApi } from "./fixtures/session";
import { finopsPortalId, managerOnApprovals, roleForSpec } from "./fixtures/step-up";
import { stepUpRequestUrl } from "../gateway/stages/decide";

/**
 * Step-up, as the three people see it: the analyst's MCP client is challenged for the tagging
 * tool and re-authorizes, the analyst files the request on the authorization page and waits, the
 * manager sees it appear in Approvals without reloading and approves, the client's retried call
 * goes through; the manager revokes and the next call is refused within a second.
 *
 * The client keeps no refresh token: with one, SDK 1.32.2 answers an `insufficient_scope`
 * challenge by refreshing (same scope) instead of re-authorizing; such a client is let through by
 * the gateway on the principal's grant instead (covered by the integration tests).
 */
class NoRefreshOAuthClient extends BrowserOAuthClient implements OAuthClientProvider {
  override saveTokens(tokens: OAuthTokens) {
    super.saveTokens({ ...tokens, refresh_token: undefined });
  }
}

const TAG = { name: "tagging_tag_resource", arguments: { resource_id: "i-0fe278e1bf1cda126", key: "cost-center", value: "cc-4711" } };

/** The loopback redirect a CLI listens on while `run` drives the browser; resolves with the callback URL. */
async function loopback(run: () => Promise<void>): Promise<URL> {
  let callback: URL | undefined;
  const listener = createHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", REDIRECT_ORIGIN);
    if (url.pathname !== "/oauth/callback") return void res.writeHead(404).end();
    callback = url;
    res.writeHead(200, { "content-type": "text/plain" }).end("Done. You can close this window.");
  });
  await new Promise<void>((resolve) => listener.listen(Number(new URL(REDIRECT_ORIGIN).port), "127.0.0.1", resolve));
  try {
    await run();
    await expect.poll(() => callback?.toString() ?? "", { timeout: 15_000 }).toContain("/oauth/callback?");
  } finally {
    listener.closeAllConnections();
    await new Promise((resolve) => listener.close(resolve));
  }
  return callback!;
}

/** The analyst's client, signed in, calls the tagging tool and is sent to re-authorize for the elevated scope. */
async function challenged(page: Page) {
  const provider = new NoRefreshOAuthClient({ clientName: "Claude Code (step-up e2e)" });
  const client = await connectThroughBrowser(page, provider, { signIn: ssoSignIn("sam.sso") });
  provider.authorizationUrl = undefined;
  await expect(client.callTool(TAG)).rejects.toThrow(UnauthorizedError);
  const url = provider.authorizationUrl as URL | undefined;
  expect(url?.searchParams.get("scope")?.split(" ")).toEqual(expect.arrayContaining(["mcp", "mcp:elevated:write"]));
  return { provider, client, url: url! };
}

async function fileOnAuthorizationPage(page: Page, url: URL, reason: string) {
  await page.goto(url.toString());
  await expect(page.getByTestId("step-up-title")).toBeVisible();
  await expect(page.getByText("Claude Code (step-up e2e)")).toBeVisible();
  await expect(page.getByText("mcp:elevated:write")).toBeVisible();
  await page.getByLabel("Why do you need it?").fill(reason);
  await page.getByLabel("For how long?").selectOption("30");
  await page.getByRole("button", { name: "Ask for approval" }).click();
  await expect(page.getByTestId("step-up-waiting")).toBeVisible();
}

// The seeded Analyst role grants one tagging tool only, so tagging's write tools are not offered for
// step-up there; this role (for Sam alone, removed afterwards) lets Sam read tagging and ask for write.
roleForSpec((portalId) => ({
  slug: "tagging-step-up-e2e",
  name: "Tagging on approval",
  principals: [{ kind: "user", value: "sam@corp.example" }],
  grants: [{ portalId, serverSlug: "tagging", toolName: null, riskClasses: ["read"] }],
  stepUpRiskClasses: ["write"],
}));

test("an analyst is challenged, files a request, the manager approves it live, revokes it, and the next call is refused within a second", async ({ page, browser }) => {
  const { client, url } = await challenged(page);
  const { context, bob } = await managerOnApprovals(browser);
  const reason = `Tag the Q4 instances for the audit ${Date.now()}`;

  const callback = await loopback(async () => {
    await fileOnAuthorizationPage(page, url, reason);
    // Bob's page was open before the request existed: it appears without a reload.
    const card = bob.getByTestId("step-up-request").filter({ hasText: reason });
    await expect(card).toBeVisible({ timeout: 10_000 });
    await expect(card).toContainText("sam");
    await expect(card).toContainText("30 minutes");
    // The tab counts what Bob may decide, and the sidebar badge says the same number.
    const tabCount = ((await bob.getByRole("tab", { name: /Pending requests/ }).textContent()) ?? "").match(/\d+/)?.[0];
    expect(tabCount).toBeTruthy();
    await expect(bob.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Approvals/ }).getByLabel(`${tabCount} waiting`)).toBeVisible();
    // The README's pictures of both sides, from the running product.
    await page.setViewportSize({ width: 1000, height: 820 });
    await page.screenshot({ path: "docs/screenshots/step-up-waiting.png" });
    await bob.setViewportSize({ width: 1400, height: 900 });
    await bob.screenshot({ path: "docs/screenshots/approvals.png" });
    await card.getByRole("button", { name: "Approve" }).click();
    await bob.getByTestId("confirm-approve").click();
  });
  const code = callback.searchParams.get("code");
  expect(code, callback.toString()).toBeTruthy();
  await (client.transport as StreamableHTTPClientTransport).finishAuth(code!);

  // The retried call goes through with the elevated token.
  const result = await client.callTool(TAG);
  expect(result.isError ?? false).toBe(false);

  // Bob revokes from Active elevated access; the next call is refused within a second.
  await bob.getByRole("tab", { name: /Active elevated access/ }).click();
  const row = bob.getByTestId("grant-row").filter({ hasText: "sam" });
  await expect(row).toBeVisible();
  await row.getByRole("button", { name: "Revoke" }).click();
  const revoked = bob.waitForResponse((r) => r.url().includes("/revoke") && r.request().method() === "POST");
  await bob.getByRole("button", { name: "Revoke", exact: true }).last().click();
  expect((await revoked).status()).toBe(200);
  const started = Date.now();
  let refusedAfter = -1;
  while (Date.now() - started < 5_000) {
    const refused = await client
      .callTool(TAG)
      .then(() => false)
      .catch(() => true);
    if (refused) {
      refusedAfter = Date.now() - started;
      break;
    }
  }
  console.log(`step-up e2e: revoked grant refused ${refusedAfter} ms after the revoke answer (shared 2-core machine)`);
  expect(refusedAfter).toBeGreaterThanOrEqual(0);
  expect(refusedAfter).toBeLessThan(1_000);
  await expect(row).toHaveCount(0);

  // The auditor sees the chain: requested → approved → revoked, each naming the request or its grant.
  const auditor = await browser.newContext();
  await signInApi(auditor.request, PERSONAS.auditor);
  const kinds = [];
  for (const kind of ["stepup.requested", "stepup.approved", "stepup.revoked"]) {
    const res = await auditor.request.get(`/api/v1/audit-events?kind=${kind}&limit=20`);
    expect(res.status()).toBe(200);
    const events = ((await res.json()) as { items: { kind: string; data: Record<string, unknown> | null }[] }).items;
    kinds.push(...events.filter((e) => JSON.stringify(e.data ?? {}).length > 2).map((e) => e.kind));
  }
  expect(new Set(kinds)).toEqual(new Set(["stepup.requested", "stepup.approved", "stepup.revoked"]));
  await Promise.all([client.close(), context.close(), auditor.close()]);
});

test("a denied request shows the manager's note, then ends the client's authorization with access_denied by itself", async ({ page, browser }) => {
  const { client, url } = await challenged(page);
  const { context, bob } = await managerOnApprovals(browser);
  const reason = `Retag everything ${Date.now()}`;

  const callback = await loopback(async () => {
    await fileOnAuthorizationPage(page, url, reason);
    const card = bob.getByTestId("step-up-request").filter({ hasText: reason });
    await card.getByRole("button", { name: "Deny" }).click();
    await bob.getByTestId("confirm-deny").click();
    await expect(bob.getByText("Tell the requester why")).toBeVisible();
    await bob.getByLabel("Note to the requester").fill("Use the staging account for bulk changes");
    await bob.getByTestId("confirm-deny").click();
    await expect(page.getByTestId("step-up-denied")).toContainText("Use the staging account for bulk changes");
    // No click: the page counts down and sends the waiting client its answer, as an approval does.
    await expect(page.getByTestId("step-up-return-countdown")).toContainText(/Back to Claude Code \(step-up e2e\) in \d s/);
    await expect(page.getByRole("link", { name: "Back now" })).toBeVisible();
  });
  expect(callback.searchParams.get("error")).toBe("access_denied");
  expect(callback.searchParams.get("error_description")).toBe("a manager denied the step-up request: Use the staging account for bulk changes");
  await Promise.all([client.close(), context.close()]);
});

test("no one approves their own request, not even an admin", async ({ request }) => {
  await signInApi(request, PERSONAS.admin);
  const portalId = await finopsPortalId(request);
  const slug = `self-${Date.now()}`;
  const role = await request.post("/api/v1/roles", {
    data: { slug, name: "Self approval test", principals: [{ kind: "user", value: PERSONAS.admin }], grants: [{ portalId, riskClasses: ["read"] }], stepUpRiskClasses: ["write"] },
  });
  expect(role.status(), await role.text()).toBe(201);
  try {
    const filed = await request.post("/api/v1/step-up-requests", { data: { portal: "finops", riskClass: "write", reason: "my own change", durationMinutes: 15 } });
    expect(filed.status(), await filed.text()).toBe(201);
    const { id } = (await filed.json()) as { id: string };
    const approve = await request.post(`/api/v1/step-up-requests/${id}/approve`, { data: {} });
    expect(approve.status()).toBe(403);
    expect(((await approve.json()) as { title: string }).title).toContain("separation of duties");
    await request.post(`/api/v1/step-up-requests/${id}/withdraw`, { data: {} });
  } finally {
    const { id } = (await role.json()) as { id: string };
    await request.delete(`/api/v1/roles/${id}`);
  }
});

test("a client that cannot re-authorize: the analyst opens the tool error's link, files the request, the manager approves, the page shows it and the same client's next call goes through", async ({ page, browser }) => {
  // Removing a tag is destructive: the seeded Analyst role (Sam's IdP group) reads tagging and
  // lists destructive under step-up, so this exercises the demo role itself, not the role above.
  const REMOVE = { name: "tagging_remove_tag", arguments: { resource_id: "i-0fe278e1bf1cda126", key: "e2e-absent-tag" } };
  const provider = new NoRefreshOAuthClient({ clientName: "Scripted client (step-up link e2e)" });
  const client = await connectThroughBrowser(page, provider, { signIn: ssoSignIn("sam.sso") });
  expect((await client.listTools()).tools.map((t) => t.name)).toContain(REMOVE.name);
  await expect(client.callTool(REMOVE)).rejects.toThrow(UnauthorizedError);

  // The link the gateway's tool error carries, built by the gateway's own function.
  const link = stepUpRequestUrl(E2E_BASE_URL, "finops", "destructive", "tagging", "remove_tag");
  const broken = new URL(link);
  broken.searchParams.delete("portal");
  await page.goto(broken.toString());
  await expect(page.getByTestId("step-up-link-problem")).toContainText("does not name the portal");

  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Request elevated access" })).toBeVisible();
  await expect(page.getByTestId("step-up-ask")).toContainText("FinOps");
  await expect(page.getByTestId("step-up-ask")).toContainText("destructive");
  await expect(page.getByTestId("step-up-ask")).toContainText("tagging_remove_tag");
  const { context, bob } = await managerOnApprovals(browser);
  const reason = `Clean up a stray tag ${Date.now()}`;
  await page.getByLabel("Why do you need it?").fill(reason);
  await page.getByLabel("For how long?").selectOption("15");
  await page.getByRole("button", { name: "Ask for approval" }).click();
  await expect(page.getByTestId("step-up-waiting")).toBeVisible();

  // A second request for the same portal and risk class is refused in plain words.
  const again = await page.context().request.post("/api/v1/step-up-requests", { data: { portal: "finops", riskClass: "destructive", reason: "again please", durationMinutes: 15 } });
  expect(again.status()).toBe(409);

  const card = bob.getByTestId("step-up-request").filter({ hasText: reason });
  await expect(card).toBeVisible({ timeout: 10_000 });
  await card.getByRole("button", { name: "Approve" }).click();
  await bob.getByTestId("confirm-approve").click();
  // The analyst's page polls: approved, without a reload.
  await expect(page.getByTestId("step-up-approved")).toBeVisible({ timeout: 10_000 });

  // No new token: the gateway lets the same client through on the grant, the first time it tries
  // after the page says so (the page waits until every gateway runs the grant).
  const result = await client.callTool(REMOVE);
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false);
  await Promise.all([client.close(), context.close()]);
});

test("after a denial, the analyst's request page still shows the manager's note on reload, and offers to ask again", async ({ page, browser }) => {
  const link = stepUpRequestUrl(E2E_BASE_URL, "finops", "financial", "budgets", "create_budget");
  await page.goto(link);
  if (await page.getByRole("button", { name: "Continue with Acme SSO" }).isVisible()) {
    await ssoSignIn("sam.sso")(page);
    await page.goto(link);
  }
  await expect(page.getByRole("heading", { name: "Request elevated access" })).toBeVisible();
  const { context, bob } = await managerOnApprovals(browser);
  const reason = `A budget for the Q1 pilot ${Date.now()}`;
  // The form offers the shortest window first (least privilege), and an example reason about budgets, not tags.
  await expect(page.getByLabel("For how long?")).toHaveValue("15");
  await expect(page.getByLabel("Why do you need it?")).toHaveAttribute("placeholder", /budget/i);
  await page.getByLabel("Why do you need it?").fill(reason);
  await page.getByLabel("For how long?").selectOption("15");
  await page.getByRole("button", { name: "Ask for approval" }).click();
  await expect(page.getByTestId("step-up-waiting")).toBeVisible();

  const card = bob.getByTestId("step-up-request").filter({ hasText: reason });
  await card.getByRole("button", { name: "Deny" }).click();
  await bob.getByLabel("Note to the requester").fill("Budgets go through finance this quarter");
  await bob.getByTestId("confirm-deny").click();
  await expect(page.getByTestId("step-up-denied")).toContainText("Budgets go through finance this quarter");

  // A reload shows the same request as it is now, not a blank form.
  await page.reload();
  await expect(page.getByTestId("step-up-denied")).toContainText("Budgets go through finance this quarter");
  await expect(page.getByTestId("step-up-form")).toHaveCount(0);
  // Asking again is a deliberate step: the form, for a new request.
  await page.getByRole("button", { name: "Ask again" }).click();
  await expect(page.getByTestId("step-up-form")).toBeVisible();
  await context.close();
});
