import { expect, test, type Page } from "@playwright/test";

import { signIn } from "./fixtures/session";

/** The overview's traffic section after picking a range, once the charts show that range's data. */
async function trafficFor(page: Page, rangeLabel: string, range: string) {
  const traffic = page.getByRole("region", { name: "Traffic" });
  const loaded = page.waitForResponse((r) => r.url().includes(`/dashboards/traffic?range=${range}`) && r.ok());
  await traffic.getByRole("combobox", { name: "Time range" }).selectOption({ label: rangeLabel });
  await loaded;
  return traffic;
}

/** The label of the option a filter of the explorer has picked, e.g. "MCP request (40)". */
async function pickedOption(page: Page, filter: string): Promise<string> {
  const select = page.getByRole("search", { name: "Audit filters" }).getByRole("combobox", { name: filter, exact: true });
  return select.evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.textContent ?? "");
}

test("the overview's figures open the rows they counted in the audit log: same window, same filter", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/");
  const traffic = await trafficFor(page, "Last hour", "1h");

  // The calls card: "N calls: …", and the explorer it opens counts N MCP requests, not all time's.
  const callsCard = traffic.locator("[data-slot=card]").filter({ hasText: "Calls over time" }).first();
  const summary = (await callsCard.getByText(/^[\d,]+ calls:/).textContent()) ?? "";
  const calls = Number(summary.match(/^([\d,]+) calls:/)![1]!.replace(/,/g, ""));
  expect(calls).toBeGreaterThan(0);
  await callsCard.getByRole("link", { name: "Open in audit log" }).click();
  await page.waitForURL(/\/audit\?/);
  await expect(page.getByRole("search", { name: "Audit filters" }).getByRole("combobox", { name: "Time range" })).toHaveValue("custom");
  await expect.poll(() => pickedOption(page, "Kind")).toBe(`MCP request (${calls})`);

  // The busiest tool: the row opens the explorer filtered on that server and tool, with as many calls.
  await page.goBack();
  const traffic2 = await trafficFor(page, "Last hour", "1h");
  const top = traffic2.getByRole("list", { name: "Top tools" }).getByRole("listitem").first();
  const [label, value] = await top.locator("span").allTextContents();
  const tool = label!.split("/").slice(1).join("/");
  const toolCalls = Number(value!.replace(/,/g, ""));
  await top.getByRole("link").click();
  await page.waitForURL(/\/audit\?/);
  expect(new URL(page.url()).searchParams.get("tool")).toBe(tool);
  await expect.poll(() => pickedOption(page, "Tool")).toBe(`${tool} (${toolCalls})`);
});

test.describe("in a British browser", () => {
  test.use({ locale: "en-GB", timezoneId: "Europe/London" });

  test("the 7-day chart's ticks give day, month and hours:minutes, not a bare hour that reads as a year", async ({ page }) => {
    await signIn(page, "admin");
    await page.goto("/");
    const traffic = await trafficFor(page, "Last 7 days", "7d");
    const ticks = traffic.getByTestId("calls-chart").locator(".recharts-cartesian-axis-tick-value");
    await expect(ticks.first()).toBeVisible();
    // The time axis's ticks: the value axis's are bare counts.
    const labels = (await ticks.allTextContents()).filter((text) => !/^\d+$/.test(text));
    expect(labels.length).toBeGreaterThan(1);
    for (const text of labels) expect(text).toMatch(/^\d{1,2} [A-Z][a-z]{2,3} \d{2}:\d{2}$/);
  });
});

test("an analyst, who sees only their own events, is told so instead of 'No changes yet'", async ({ page, browser }) => {
  // A viewer of its own: the demo analyst may have turned on two-factor authentication in an
  // earlier journey (mcp-sign-in), and this one is about what the overview says, not signing in.
  const admin = await browser.newPage();
  await signIn(admin, "admin");
  const email = `overview-viewer-${Date.now()}@portico.local`;
  const password = "a-long-correct-password-1";
  const created = await admin.request.post("/api/v1/users", { data: { email, name: "Overview Viewer", role: "viewer", password } });
  expect(created.status(), await created.text()).toBe(201);
  await signIn(page, email, password);
  await page.goto("/");
  const changes = page.getByRole("region", { name: "Recent configuration changes" });
  await expect(changes).toContainText("your role does not see other people's changes");
  await expect(changes).not.toContainText("No changes yet");

  // An admin, who sees every change, sees the seeded ones.
  await admin.goto("/");
  await expect(admin.getByRole("table", { name: "Recent configuration changes" }).getByRole("row")).not.toHaveCount(0);
  await admin.close();
});
