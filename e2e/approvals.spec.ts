import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

import { E2E_BASE_URL, PERSONAS } from "./fixtures/constants";
import { serviceAccountToken, signIn, signInApi } from "./fixtures/session";

/**
 * Approvals as a manager in Berlin sees it, while the demo automation asks for elevated access:
 * the live card's waiting time keeps counting, relative times are to the nearest minute, the
 * time of day is the manager's own, and loading the page raises no hydration error.
 */

const TIME_ZONE = "Europe/Berlin";

async function file(request: APIRequestContext, token: string, riskClass: string, reason: string): Promise<string> {
  const res = await request.post("/api/v1/step-up-requests", { headers: { authorization: `Bearer ${token}` }, data: { riskClass, reason, durationMinutes: 15 } });
  expect(res.status(), await res.text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Every uncaught error and console error of the page (a hydration mismatch is both). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/**
 * Waits until the wall clock is 35–45 s into a minute: a page whose clock counted whole minutes
 * would then be 35 s or more behind, and show a request pending for 30 minutes as "in 31 minutes".
 */
async function lateInTheMinute() {
  await expect.poll(() => new Date().getSeconds() >= 35 && new Date().getSeconds() < 45, { timeout: 61_000, intervals: [250] }).toBe(true);
}

/** Text as Intl writes it (a narrow no-break space before "PM" in some ICU versions), matching any space. */
const spaced = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s/g, "\\s"));

test("a card that arrives live keeps counting its wait, times are to the nearest minute in the manager's zone, and the page hydrates cleanly", async ({ browser, playwright }) => {
  test.setTimeout(150_000);
  const automation = await playwright.request.newContext({ baseURL: E2E_BASE_URL });
  const token = await serviceAccountToken(automation);
  const manager = await playwright.request.newContext({ baseURL: E2E_BASE_URL });
  await signInApi(manager, PERSONAS.approver);
  const context = await browser.newContext({ timezoneId: TIME_ZONE });
  const bob = await context.newPage();
  const ids: string[] = [];
  try {
    await signIn(bob, "approver");
    await bob.goto("/approvals");
    await expect(bob.getByRole("heading", { name: "Approvals" })).toBeVisible();

    await lateInTheMinute();
    const reason = `Nightly retagging ${Date.now()}`;
    ids.push(await file(automation, token, "write", reason));
    const card = bob.getByTestId("step-up-request").filter({ hasText: reason });
    await expect(card).toBeVisible({ timeout: 10_000 });
    // The wait counts on, on a card that came by polling (it stayed at "0 s").
    await expect(card.getByTestId("waiting")).toHaveText(/^([3-9]|[1-5]\d) s$/, { timeout: 10_000 });
    // Filed a moment ago, pending for 30 minutes: not "in 31 minutes".
    await expect(card).toContainText("expires in 30 minutes");

    await card.getByRole("button", { name: "Approve" }).click();
    await bob.getByTestId("confirm-approve").click();
    await bob.getByRole("tab", { name: /Active elevated access/ }).click();
    // The row of the grant this approval made (the account is shown by its name).
    const mine = (await (await automation.get(`/api/v1/step-up-requests/${ids[0]}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { grantId: string };
    const grants = (await (await manager.get("/api/v1/elevated-grants?status=active&limit=100")).json()) as { items: { id: string; endsAt: string; principal: { label: string } }[] };
    const grant = grants.items.find((g) => g.id === mine.grantId)!;
    const endsAt = grant.endsAt;
    const row = bob.getByTestId("grant-row").filter({ hasText: grant.principal.label });
    await expect(row).toContainText("in 15 minutes");
    // The time of day in Berlin, as the manager reads clocks.
    await expect(row).toContainText(spaced(new Intl.DateTimeFormat("en", { timeStyle: "medium", timeZone: TIME_ZONE }).format(new Date(endsAt))));

    // A fresh load with a waiting card and a running grant, from a browser outside UTC: no hydration error.
    ids.push(await file(automation, token, "financial", `Budget fix ${Date.now()}`));
    const errors = collectErrors(bob);
    await bob.reload();
    await expect(bob.getByTestId("step-up-request").first()).toBeVisible();
    await bob.getByRole("tab", { name: /Active elevated access/ }).click();
    await expect(bob.getByTestId("grant-row").first()).toBeVisible();
    await bob.waitForTimeout(2_500);
    expect(errors).toEqual([]);
  } finally {
    // Leave nothing pending or running for the other journeys.
    for (const id of ids) {
      const view = (await (await automation.get(`/api/v1/step-up-requests/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; grantId: string | null };
      if (view.status === "pending") await automation.post(`/api/v1/step-up-requests/${id}/withdraw`, { headers: { authorization: `Bearer ${token}` }, data: {} });
      if (view.grantId) await manager.post(`/api/v1/elevated-grants/${view.grantId}/revoke`, { data: {} });
    }
    await Promise.all([context.close(), automation.dispose(), manager.dispose()]);
  }
});
