import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { expect, request as playwrightRequest, test } from "@playwright/test";
import { E2E_BASE_URL, E2E_DB_HOOK_PORT, E2E_GATEWAY_TOKEN, E2E_PORTAL_URL, E2E_SERVICE_ACCOUNT_SECRET } from "./fixtures/constants";
import { signIn, signInApi } from "./fixtures/session";

/**
 * The auditor's workspace (issue 11). Each test feeds its own MCP events through the real ingest
 * endpoint a gateway delivers to, then walks the dashboard as a person would.
 */

const run = randomUUID().slice(0, 8);
const session = `e2e-sess-${run}`;
const marker = `e2e budget rule ${run}`;

type Event = Record<string, unknown>;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const DAY = 86_400_000;

function call(over: Event): Event {
  return {
    id: randomUUID(),
    time: ago(60_000),
    kind: "mcp.request",
    actorType: "user",
    actorId: `u-bob-${run}`,
    actorLabel: `bob-${run}@example.test`,
    action: "tools/call",
    outcome: "deny",
    targetType: "tool",
    targetId: "budgets/set_budget",
    portal: "finops",
    server: "budgets",
    tool: "set_budget",
    reasons: [marker],
    sourceIp: "10.20.30.40",
    requestId: randomUUID(),
    ...over,
    data: { sessionId: session, upstreamOutcome: "not_called", latencyMs: 3.2, requestBytes: 180, responseBytes: 120, arguments: { month: "2026-11", amount: 5000 }, ...(over.data as Event) },
  };
}

async function ingest(events: Event[]) {
  const api = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });
  const res = await api.post("/api/internal/audit/ingest", { headers: { authorization: `Bearer ${E2E_GATEWAY_TOKEN}` }, data: { events } });
  expect(res.status(), await res.text()).toBe(200);
  await api.dispose();
}

/** SQL on the control plane's own database, through the e2e-only hook (e2e/fixtures/db-hook.mjs). */
async function sql<T = Record<string, unknown>>(query: string): Promise<T[]> {
  const res = await fetch(`http://127.0.0.1:${E2E_DB_HOOK_PORT}/`, { method: "POST", body: query });
  if (!res.ok) throw new Error(await res.text());
  return (await res.json()) as T[];
}

async function userId(email: string): Promise<string> {
  const api = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });
  await signInApi(api, email);
  const me = (await (await api.get("/api/v1/me")).json()) as { userId: string };
  await api.dispose();
  return me.userId;
}

const denied = [call({ time: ago(2 * DAY) }), call({ time: ago(DAY) }), call({ time: ago(3_600_000) })];
const allowed = call({ outcome: "allow", reasons: null, tool: "get_budget", targetId: "budgets/get_budget", data: { upstreamOutcome: "success" } });
const tooOld = call({ time: ago(10 * DAY), data: { sessionId: `other-${run}` } });

test.beforeAll(async () => {
  const viewerId = await userId("analyst@portico.local");
  await ingest([
    tooOld,
    ...denied,
    allowed,
    call({ actorId: viewerId, actorLabel: "analyst@portico.local", outcome: "allow", reasons: [`viewer own ${run}`], tool: "get_costs", server: "cost-explorer", data: { sessionId: `viewer-${run}` } }),
  ]);
});

test("an auditor narrows to denied budgets calls, follows a session, exports, and verification catches an edited row", async ({ page }) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1400, height: 1000 });
  await signIn(page, "auditor");
  await page.goto("/audit");
  // A filter picked before React has hydrated the page lands on the server's HTML and is lost, as a
  // person's click would be in that instant: wait for it (times switch from UTC to the browser's zone).
  await expect(page.getByRole("table", { name: "Audit events" }).locator("time").first()).not.toHaveText(/UTC$/);
  // Two filters picked less than a navigation apart: neither may drop the other.
  await page.getByLabel("Time range").selectOption("7d");
  await page.getByLabel("Decision").selectOption("deny");
  await expect(page).toHaveURL(/^(?=.*range=7d)(?=.*outcome=deny)/);
  await page.getByText("More filters").click();
  await page.getByLabel("Server", { exact: true }).fill("budgets");
  await expect(page).toHaveURL(/server=budgets/);
  await page.getByLabel("Search", { exact: true }).fill(run);
  await expect(page).toHaveURL(new RegExp(`q=${run}`));
  await expect(page).toHaveURL(/range=7d/);
  const rows = page.getByRole("table", { name: "Audit events" }).getByRole("row", { name: /set_budget/ });
  await expect(rows).toHaveCount(3);
  // Facet counts sit beside the filters.
  await expect(page.getByLabel("Decision").locator("option", { hasText: /^Deny \(3\)$/ })).toHaveCount(1);

  await rows.first().click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByText(marker)).toBeVisible();
  await expect(dialog.getByText('"amount": 5000')).toBeVisible();
  await dialog.getByRole("link", { name: "Same session" }).click();
  await expect(page).toHaveURL(new RegExp(`session=${session}`));
  // The session's other calls: the three denied ones and the allowed one (the filters were replaced).
  await expect(page.getByRole("table", { name: "Audit events" }).getByRole("row", { name: /budgets/ })).toHaveCount(4);

  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
  const csvText = fs.readFileSync((await csv.path())!, "utf8");
  expect(csvText.split("\n")[0]).toContain("seq,id,time,kind");
  expect(csvText.match(new RegExp(`e2e-sess-${run}`, "g"))).toHaveLength(4);

  const [jsonl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export JSONL" }).click()]);
  const lines = fs.readFileSync((await jsonl.path())!, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { record: string });
  expect(lines[0]).toMatchObject({ record: "header", format: "portico-audit-export", isContiguous: false });
  expect(lines.filter((l) => l.record === "event")).toHaveLength(4);

  await page.getByRole("button", { name: "Verify chain" }).click();
  await expect(page.getByText("Chain verified")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByText(/Verified up to seq \d+/)).toBeVisible();
  // The README's picture of the explorer and a verification result.
  await page.screenshot({ path: "docs/screenshots/audit-explorer.png" });

  const victim = denied[1]!.id as string;
  const seq = (await sql<{ seq: string }>(`UPDATE "AuditEvent" SET "action" = 'tools/list' WHERE "id" = '${victim}' RETURNING "seq"`))[0]!.seq;
  try {
    await page.getByRole("button", { name: "Verify chain" }).click();
    await expect(page.getByText(`Chain broken at seq ${seq}`)).toBeVisible({ timeout: 60_000 });
    await expect(page.getByText(/edited, its content does not match its hash/)).toBeVisible();
  } finally {
    await sql(`UPDATE "AuditEvent" SET "action" = 'tools/call' WHERE "id" = '${victim}' RETURNING "seq"`);
  }
});

test("a viewer sees only their own events", async ({ page }) => {
  await signIn(page, "viewer");
  await page.goto(`/audit?q=${run}`);
  const table = page.getByRole("table", { name: "Audit events" });
  await expect(table.getByRole("row", { name: /get_costs/ })).toHaveCount(1);
  await expect(table.getByRole("row", { name: /set_budget/ })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Verify chain" })).toHaveCount(0);
  const res = await page.request.get(`/api/v1/audit-events?session=${session}`);
  expect(((await res.json()) as { items: unknown[] }).items).toEqual([]);
});

test("an approver sees metadata without arguments or results", async ({ page }) => {
  await signIn(page, "approver");
  const res = await page.request.get(`/api/v1/audit-events?session=${session}`);
  const { items } = (await res.json()) as { items: Array<{ data: Record<string, unknown>; payloadsHidden?: boolean }> };
  expect(items).toHaveLength(4);
  for (const item of items) {
    expect(item.payloadsHidden).toBe(true);
    expect(item.data).not.toHaveProperty("arguments");
    expect(item.data.sessionId).toBe(session);
  }
  await page.goto(`/audit?session=${session}`);
  await page.getByRole("table", { name: "Audit events" }).getByRole("row", { name: /set_budget/ }).first().click();
  await expect(page.getByRole("dialog").getByText("Arguments and results are hidden for your role.")).toBeVisible();
  await expect(page.getByRole("dialog").getByText("5000")).toHaveCount(0);
});

test("a call carrying a test card number is stored redacted and flagged, and blocked on a portal set to block", async ({ page }) => {
  test.setTimeout(120_000);
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const { StreamableHTTPClientTransport } = await import("@modelcontextprotocol/sdk/client/streamableHttp.js");
  const tokenRes = await page.request.post(`${E2E_BASE_URL}/oauth/token`, {
    headers: { authorization: `Basic ${Buffer.from(`sa_demo_analyst:${E2E_SERVICE_ACCOUNT_SECRET}`).toString("base64")}` },
    form: { grant_type: "client_credentials", resource: E2E_PORTAL_URL },
  });
  expect(tokenRes.status()).toBe(200);
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const client = new Client({ name: "e2e-dlp", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(E2E_PORTAL_URL), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  const admin = await playwrightRequest.newContext({ baseURL: E2E_BASE_URL });
  await signInApi(admin, "admin@portico.local");
  try {
    const note = `dlp ${run} card 4111 1111 1111 1111`;
    await client.callTool({ name: "cost-explorer_top_services", arguments: { month: "2026-10", note } });

    // An admin's own pattern can be picked beside the built-ins.
    const pattern = await admin.put("/api/v1/settings/dlp", { data: { patterns: [{ id: "employee_id", name: "Employee id", regex: "E[0-9]{6}" }] } });
    expect(pattern.status(), await pattern.text()).toBe(200);

    await signIn(page, "auditor");
    const row = page.getByRole("table", { name: "Audit events" }).getByRole("row", { name: /DLP card/ }).first();
    await expect(async () => {
      await page.goto(`/audit?dlp=card&actor=sa_demo_analyst`);
      await expect(row).toBeVisible({ timeout: 1_000 });
    }).toPass({ timeout: 15_000 });
    await expect(page.getByLabel("DLP detector").locator("option")).toContainText(["card", "us_ssn", "employee_id (Employee id)"]);
    await row.click();
    const dialog = page.getByRole("dialog");
    await expect(dialog.getByText(`dlp ${run} card [REDACTED:card]`)).toBeVisible();
    await expect(dialog.getByText("4111")).toHaveCount(0);
    await expect(dialog.getByText("card in arguments (1)")).toBeVisible();

    const saved = await admin.put("/api/v1/settings/dlp", { data: { portals: { finops: { actions: { card: "block" }, capture: "full" } } } });
    expect(saved.status(), await saved.text()).toBe(200);
    await expect
      .poll(async () => JSON.stringify(await client.callTool({ name: "cost-explorer_top_services", arguments: { month: "2026-10", note } })), { timeout: 10_000 })
      .toContain('Blocked by data loss prevention: the arguments contain a payment card number (detector \\"card\\")');
  } finally {
    await admin.put("/api/v1/settings/dlp", { data: { patterns: [], portals: { finops: { actions: {}, capture: "full" } } } });
    await admin.dispose();
    await client.close();
  }
});

test.describe("from a browser in Berlin", () => {
  test.use({ timezoneId: "Europe/Berlin" });

  test("the log loads without a hydration error and shows Berlin times", async ({ page }) => {
    await signIn(page, "auditor");
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    await page.goto(`/audit?session=${session}`);
    const time = page.getByRole("table", { name: "Audit events" }).locator("tbody tr").first().locator("td").first().locator("time").first();
    const iso = (await time.getAttribute("datetime"))!;
    const berlin = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Berlin" }).format(new Date(iso));
    await expect(time).toHaveText(berlin);
    await page.waitForLoadState("networkidle");
    expect(errors).toEqual([]);
  });
});

test("the explorer says how it orders, lists every kind, and fits a 1440 px screen", async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await signIn(page, "auditor");
  await page.goto("/audit");
  const order = page.getByRole("button", { name: /^Newest recorded first/ });
  await expect(order).toHaveAttribute("title", /delivered late.*where they were recorded/);
  await expect(page.getByText("In recorded order: events delivered late appear where they arrived.")).toBeVisible();

  const kind = page.getByLabel("Kind");
  for (const label of ["Step-up requested", "Step-up withdrawn", "Alert", "Chain verification failed", "Retention purge", "Server request to a client"]) {
    await expect(kind.locator("option", { hasText: new RegExp(`^${label}( \\(\\d+\\))?$`) })).toHaveCount(1);
  }
  await expect(kind.locator("optgroup[label='Step-up']")).toHaveCount(1);

  const firstRow = page.getByRole("table", { name: "Audit events" }).locator("tbody tr").first();
  const outcome = firstRow.locator("td").nth(5);
  await expect(outcome).toBeVisible();
  const box = (await outcome.boundingBox())!;
  expect(box.x + box.width).toBeLessThanOrEqual(1440);
  const container = page.locator("[data-slot=table-container]").filter({ has: page.getByRole("table", { name: "Audit events" }) });
  expect(await container.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
});

test("a link with from= shows its custom range; a bad filter is named and cleared in one click", async ({ page }) => {
  await signIn(page, "auditor");
  const from = ago(2 * DAY);
  await page.goto(`/audit?q=${run}&from=${encodeURIComponent(from)}`);
  await expect(page.getByLabel("Time range")).toHaveValue("custom");
  const d = new Date(from);
  const pad = (n: number) => String(n).padStart(2, "0");
  await expect(page.getByLabel("From (your time zone)")).toHaveValue(`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`);

  // The overview's 6h range means the same here.
  await page.goto(`/audit?q=${run}&range=6h`);
  await expect(page.getByLabel("Time range")).toHaveValue("6h");
  await expect(page.getByRole("table", { name: "Audit events" }).getByRole("row", { name: /set_budget/ }).first()).toBeVisible();

  await page.goto(`/audit?q=${run}&range=6w&outcome=bogus`);
  const problem = page.getByRole("alert").filter({ hasText: "Some filters in the address are not valid" });
  await expect(problem).toContainText("Time range (range=6w)");
  await expect(problem).toContainText("Decision (outcome=bogus)");
  await expect(page.getByLabel("Time range")).toHaveValue("6w");
  const table = page.getByRole("table", { name: "Audit events" });
  await expect(table).not.toHaveAttribute("aria-busy", "true");
  await problem.getByRole("button", { name: "Clear the invalid filters" }).click();
  await expect(page).not.toHaveURL(/range=|outcome=/);
  await expect(page).toHaveURL(new RegExp(`q=${run}`));
  await expect(table.getByRole("row", { name: /set_budget/ }).first()).toBeVisible();
});
