import { expect, test, type APIRequestContext } from "@playwright/test";

import { E2E_BASE_URL, PERSONAS, type Persona } from "./fixtures/constants";
import { signIn, signInApi } from "./fixtures/session";

/**
 * My access, as the demo analyst (a dashboard viewer) lives it: they ask for elevated access from
 * the page, find the request there pending, see it turn approved with the time left counting down
 * when a manager decides (no reload), read a denial's note, and withdraw a pending one. Every role
 * has the page in its sidebar and sees only their own requests there.
 */

type Mine = { items: { id: string; status: string; riskClass: string; reason: string; grantId: string | null }[] };

// The risk classes this spec asks for. Not write: the seed files the analyst's demo request for
// write (pending in the manager's queue, and in the README's picture of it), which stays as it is.
const OURS = ["destructive", "financial"];

/**
 * Leaves the analyst with none of this spec's risk classes pending and no running grant, so the
 * form is offered and later journeys meet the analyst as before.
 */
async function clearAnalyst(analyst: APIRequestContext, manager: APIRequestContext) {
  const mine = (await (await analyst.get("/api/v1/step-up-requests?mine=1&status=pending&limit=100")).json()) as Mine;
  for (const r of mine.items) {
    if (OURS.includes(r.riskClass)) await analyst.post(`/api/v1/step-up-requests/${r.id}/withdraw`, { data: {} });
  }
  const grants = (await (await analyst.get("/api/v1/elevated-grants?mine=1&status=active&limit=100")).json()) as { items: { id: string }[] };
  for (const g of grants.items) await manager.post(`/api/v1/elevated-grants/${g.id}/revoke`, { data: {} });
}

// The analyst as the seed made them: an earlier journey (mcp-sign-in) turns on their second factor
// with a secret only it knows. The admin resets it, as the auth journey does for the manager.
test.beforeAll(async ({ playwright }) => {
  const admin = await playwright.request.newContext({ baseURL: E2E_BASE_URL });
  await signInApi(admin, PERSONAS.admin);
  const users = (await (await admin.get(`/api/v1/users?q=${encodeURIComponent(PERSONAS.viewer)}`)).json()) as { items: Array<{ id: string; email: string }> };
  const analyst = users.items.find((u) => u.email === PERSONAS.viewer)!;
  expect((await admin.patch(`/api/v1/users/${analyst.id}`, { data: { resetMfa: true } })).status()).toBe(200);
  await admin.dispose();
});

test.describe("the analyst's own step-up", () => {
  let analystApi: APIRequestContext;
  let managerApi: APIRequestContext;

  test.beforeAll(async ({ playwright }) => {
    analystApi = await playwright.request.newContext({ baseURL: E2E_BASE_URL });
    managerApi = await playwright.request.newContext({ baseURL: E2E_BASE_URL });
    await signInApi(analystApi, PERSONAS.viewer);
    await signInApi(managerApi, PERSONAS.approver);
    await clearAnalyst(analystApi, managerApi);
  });

  test.afterAll(async () => {
    await clearAnalyst(analystApi, managerApi);
    await Promise.all([analystApi.dispose(), managerApi.dispose()]);
  });

  test("files from My access, sees it pending, then approved with a live countdown when the manager approves, without reloading", async ({ page }) => {
    // Every uncaught error and console error (a hydration mismatch of the countdown is both).
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
    page.on("console", (message) => void (message.type() === "error" && errors.push(`console: ${message.text()}`)));
    await signIn(page, "viewer");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My access" }).click();
    await expect(page.getByRole("heading", { name: "My access", level: 1 })).toBeVisible();

    // Ask from the page: the dialog offers what the analyst's role lists under step-up.
    await page.getByRole("button", { name: "Request elevated access" }).click();
    await page.getByTestId("step-up-options").getByRole("link", { name: /destructive on FinOps/ }).click();
    await page.waitForURL((url) => url.pathname === "/step-up/new" && url.searchParams.get("risk") === "destructive");
    const reason = `Delete the Q3 test snapshots ${Date.now()}`;
    await page.getByLabel("Why do you need it?").fill(reason);
    await page.getByLabel("For how long?").selectOption("30");
    await page.getByRole("button", { name: "Ask for approval" }).click();
    await expect(page.getByTestId("step-up-waiting")).toBeVisible();

    // Later, from the sidebar: the request is there, pending, with a way back to its page.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My access" }).click();
    const row = page.getByTestId("my-request").filter({ hasText: reason });
    await expect(row).toHaveAttribute("data-status", "pending");
    await expect(row).toContainText("Pending");
    await expect(row).toContainText("FinOps");
    await expect(row).toContainText("Waiting for a manager");
    await row.getByRole("link", { name: "Open" }).click();
    await expect(page.getByTestId("step-up-waiting")).toContainText(reason);
    await page.goBack();
    await expect(row).toBeVisible();
    await expect(page.getByTestId("my-grant")).toHaveCount(0);

    // The manager approves (for 15 of the 30 minutes asked) while the analyst's page stays open.
    const mine = (await (await analystApi.get("/api/v1/step-up-requests?mine=1&status=pending")).json()) as Mine;
    const filed = mine.items.find((r) => r.reason === reason)!;
    expect(filed.riskClass).toBe("destructive");
    const approved = await managerApi.post(`/api/v1/step-up-requests/${filed.id}/approve`, { data: { durationMinutes: 15, note: "For the Q4 audit only" } });
    expect(approved.status(), await approved.text()).toBe(200);

    await expect(row).toHaveAttribute("data-status", "approved");
    await expect(row).toContainText(`Approved by ${PERSONAS.approver}`);
    await expect(row).toContainText("For the Q4 audit only");
    const grant = page.getByTestId("my-grant");
    await expect(grant).toHaveCount(1);
    await expect(grant).toContainText("destructive on FinOps");
    const timeLeft = grant.getByTestId("time-left");
    await expect(timeLeft).toHaveText(/^1[45]:\d\d left$/);
    // It counts down, second by second, with nothing reloaded.
    const before = await timeLeft.textContent();
    await expect(timeLeft).not.toHaveText(before!, { timeout: 3_000 });

    // A fresh load with the grant running renders the same on the server and in the browser.
    await page.reload();
    await expect(page.getByTestId("my-grant").getByTestId("time-left")).toHaveText(/^1[45]:\d\d left$/);
    await page.waitForTimeout(1_500);
    expect(errors).toEqual([]);
  });

  test("reads a denial's note, and withdraws a pending request from the list", async ({ page }) => {
    await signIn(page, "viewer");
    await page.goto("/step-up");
    const file = async (riskClass: string, reason: string) => {
      const res = await analystApi.post("/api/v1/step-up-requests", { data: { portal: "finops", riskClass, reason, durationMinutes: 15 } });
      expect(res.status(), await res.text()).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    // Destructive again: the first journey's request was decided, so none is pending for it.
    const deniedReason = `Delete the stale snapshots ${Date.now()}`;
    const deniedId = await file("destructive", deniedReason);
    const withdrawReason = `Raise the Q1 budget ${Date.now()}`;
    const withdrawId = await file("financial", withdrawReason);

    // Both arrive live; the manager denies one with a note.
    const denied = page.getByTestId("my-request").filter({ hasText: deniedReason });
    const pending = page.getByTestId("my-request").filter({ hasText: withdrawReason });
    await expect(denied).toHaveAttribute("data-status", "pending");
    await expect(pending).toHaveAttribute("data-status", "pending");
    const deny = await managerApi.post(`/api/v1/step-up-requests/${deniedId}/deny`, { data: { note: "Use the staging account" } });
    expect(deny.status(), await deny.text()).toBe(200);
    await expect(denied).toHaveAttribute("data-status", "denied");
    await expect(denied.getByTestId("decision-note")).toHaveText("“Use the staging account”");
    await expect(denied.getByRole("button", { name: "Withdraw" })).toHaveCount(0);

    await pending.getByRole("button", { name: "Withdraw" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Withdraw" }).click();
    await expect(pending).toHaveAttribute("data-status", "withdrawn");
    await expect(pending).toContainText("You withdrew it");
    const view = (await (await analystApi.get(`/api/v1/step-up-requests/${withdrawId}`)).json()) as { status: string };
    expect(view.status).toBe("withdrawn");
    // And it left the managers' queue.
    const queue = (await (await managerApi.get("/api/v1/step-up-requests?status=pending&limit=100")).json()) as Mine;
    expect(queue.items.map((r) => r.id)).not.toContain(withdrawId);
  });

  test("a manager's My access lists their own requests, not the analyst's waiting in their queue", async ({ page }) => {
    const reason = `Check the tagging backlog ${Date.now()}`;
    const filed = await analystApi.post("/api/v1/step-up-requests", { data: { portal: "finops", riskClass: "financial", reason, durationMinutes: 15 } });
    expect(filed.status(), await filed.text()).toBe(201);
    await signIn(page, "approver");
    await page.goto("/approvals");
    await expect(page.getByTestId("step-up-request").filter({ hasText: reason })).toBeVisible();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My access" }).click();
    await expect(page.getByRole("heading", { name: "My access", level: 1 })).toBeVisible();
    // Settled: the page has polled at least once since it loaded.
    await page.waitForTimeout(2_500);
    await expect(page.getByText(reason)).toHaveCount(0);
  });
});

test("every role has My access in the sidebar and can open it", async ({ page }) => {
  for (const persona of ["admin", "approver", "auditor", "viewer"] as Persona[]) {
    await page.context().clearCookies();
    await signIn(page, persona);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My access" }).click();
    await expect(page, persona).toHaveURL(/\/step-up$/);
    await expect(page.getByRole("heading", { name: "My access", level: 1 })).toBeVisible();
    await expect(page.getByText("You do not have access to this page")).toHaveCount(0);
  }
});

test("someone who never asked sees what step-up is and how to ask", async ({ page }) => {
  // A viewer of their own, named by no portal role: nothing filed, nothing to ask for.
  await signIn(page, "admin");
  const email = `my-access-newcomer-${Date.now()}@portico.local`;
  const password = "a-long-correct-password-1";
  const created = await page.request.post("/api/v1/users", { data: { email, name: "Newcomer", role: "viewer", password } });
  expect(created.status(), await created.text()).toBe(201);
  await page.context().clearCookies();
  await signIn(page, email, password);
  await page.goto("/step-up");
  const empty = page.getByTestId("my-access-empty");
  await expect(empty).toContainText("You have not asked for elevated access");
  await expect(empty).toContainText("need a manager's approval for a limited time");
  await page.getByRole("button", { name: "Request elevated access" }).click();
  await expect(page.getByTestId("no-step-up-options")).toBeVisible();
});
