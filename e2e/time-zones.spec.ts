import { expect, test, type Browser, type Page } from "@playwright/test";

import type { Persona } from "./fixtures/constants";
import { signIn } from "./fixtures/session";

/**
 * Every page of the sidebar as an admin and as an auditor in Los Angeles see it: the server renders
 * in UTC and does not know the viewer's zone, so a time formatted during render gave React's
 * hydration error (#418) and, until the next render, a time eight hours off. Each page must load
 * without an uncaught error or a console error, and a known event must show its Los Angeles time:
 * an API token's creation in the audit log, and its expiry in the alert that it raises.
 */

const TIME_ZONE = "America/Los_Angeles";

test.use({ timezoneId: TIME_ZONE });

/** "Dec 7, 2026, 1:40 PM" in Los Angeles: the dashboard's date format, on the viewer's wall clock. */
const laTime = (iso: string) => new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: TIME_ZONE }).format(new Date(iso));

/** Text as Intl writes it (a narrow no-break space before "PM" in some ICU versions), matching any space. */
const spaced = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\s/g, "\\s"));

/** Every uncaught error and console error of the page (a hydration mismatch is both), with the page it happened on. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`${new URL(page.url()).pathname}: pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${new URL(page.url()).pathname}: console: ${message.text()}`);
  });
  return errors;
}

/**
 * Until React has hydrated the page's content: React keeps its fiber on each DOM node it hydrates,
 * and every `<time>` must have one (a time rendered in UTC is replaced right after). Then until the
 * page is quiet, so that a late mismatch (a query's first render) is caught too.
 */
async function hydrated(page: Page) {
  await page.waitForFunction(() => {
    const isReact = (node: Element) => Object.keys(node).some((key) => key.startsWith("__reactFiber"));
    const main = document.querySelector("main");
    return main !== null && isReact(main) && [...document.querySelectorAll("time")].every(isReact);
  });
  await page.waitForLoadState("networkidle");
}

/** Signs in as `persona` in a browser of its own and visits every page of its sidebar, returning the page (still signed in) and the errors seen. */
async function visitSidebar(browser: Browser, persona: Persona) {
  const context = await browser.newContext({ timezoneId: TIME_ZONE });
  const page = await context.newPage();
  await signIn(page, persona);
  const errors = collectErrors(page);
  await page.goto("/");
  await hydrated(page);
  const hrefs = await page.getByRole("navigation", { name: "Main" }).getByRole("link").evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
  expect(hrefs.length, `${persona} sees a sidebar`).toBeGreaterThan(3);
  for (const href of hrefs) {
    await page.goto(href);
    await hydrated(page);
    // No time is left in the server's UTC once hydrated.
    await expect(page.locator("main time").filter({ hasText: / UTC$/ })).toHaveCount(0);
  }
  return { page, hrefs, errors };
}

test("an admin and an auditor in Los Angeles load every page of their sidebar without a hydration error, and read Los Angeles times", async ({ browser }) => {
  test.setTimeout(300_000);

  const admin = await visitSidebar(browser, "admin");
  expect(admin.hrefs).toEqual(expect.arrayContaining(["/", "/audit", "/alerts", "/settings", "/policy-explainer", "/approvals"]));
  // Soft: the times below are checked too, and every failure is reported at once.
  expect.soft(admin.errors).toEqual([]);

  // A known event: an API token, created now and expiring in a day (which the credentials rule raises).
  const name = `tz-${Date.now()}`;
  const created = await admin.page.request.post("/api/v1/tokens", { data: { name, scopes: ["read"], expiresInDays: 1 } });
  expect(created.status(), await created.text()).toBe(201);
  const token = (await created.json()) as { id: string; expiresAt: string };
  const events = (await (await admin.page.request.get(`/api/v1/audit-events?q=${token.id}&limit=5`)).json()) as { items: { action: string; time: string }[] };
  const createdAt = events.items.find((e) => e.action === "token.create")!.time;

  const auditor = await visitSidebar(browser, "auditor");
  expect(auditor.hrefs).toEqual(expect.arrayContaining(["/audit", "/alerts"]));
  expect.soft(auditor.errors).toEqual([]);

  for (const { page } of [admin, auditor]) {
    // The audit log gives the creation in Los Angeles time, from the first paint of a fresh load on.
    await page.goto(`/audit?q=${token.id}`);
    await hydrated(page);
    const row = page.getByRole("table", { name: "Audit events" }).locator("tbody tr");
    await expect(row).toHaveCount(1);
    await expect(row.locator("td").first().locator("time").first()).toHaveText(spaced(laTime(createdAt)));

    // The inbox gives the expiry in Los Angeles time, though the alert's text says it in UTC (for webhooks and e-mail).
    // The credentials rule runs every 30 s; the inbox refreshes every 5 s.
    await page.goto("/alerts");
    await hydrated(page);
    const alert = page.getByRole("table", { name: "Alerts" }).getByRole("row").filter({ hasText: name });
    await expect(alert).toBeVisible({ timeout: 45_000 });
    await expect(alert.locator("time").first()).toHaveText(spaced(laTime(token.expiresAt)));
    await expect(alert).not.toContainText("UTC");
  }

  await admin.page.request.delete(`/api/v1/tokens/${token.id}`);
  // And no error on the reloads of the audit log and the inbox.
  expect(admin.errors).toEqual([]);
  expect(auditor.errors).toEqual([]);
  await Promise.all([admin.page.context().close(), auditor.page.context().close()]);
});
