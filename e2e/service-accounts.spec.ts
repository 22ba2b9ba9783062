import { expect, test, type Page } from "@playwright/test";
import { E2E_BASE_URL, E2E_GATEWAY_URL } from "./fixtures/constants";
import { signIn } from "./fixtures/session";

/** Creates a service account in the dashboard with `role`, and returns the secret dialog. */
async function createAccount(page: Page, name: string, role: string) {
  await page.goto("/service-accounts");
  await page.getByRole("button", { name: "Create service account" }).first().click();
  const form = page.getByRole("dialog");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Portal role").selectOption({ label: role });
  await form.getByRole("button", { name: "Create service account" }).click();
  const secret = page.getByRole("dialog").filter({ hasText: "You will not see this secret again" });
  await expect(secret).toBeVisible();
  return secret;
}

test("the secret dialog's token example names the portal the account's role grants, and the command works", async ({ page }) => {
  await signIn(page, "admin");
  // A second portal, after the seeded FinOps one, and a role granting only it.
  const portal = await page.request.post("/api/v1/portals", { data: { slug: "sa-ops", name: "SA Ops" } });
  expect(portal.status(), await portal.text()).toBe(201);
  const { id: portalId } = (await portal.json()) as { id: string };
  expect((await page.request.post("/api/v1/roles", { data: { slug: "sa-ops-readers", name: "SA Ops readers", grants: [{ portalId, riskClasses: ["read"] }] } })).status()).toBe(201);
  expect((await page.request.post("/api/v1/roles", { data: { slug: "sa-nothing-yet", name: "SA nothing yet" } })).status()).toBe(201);

  const secret = await createAccount(page, "ops nightly", "SA Ops readers");
  const example = secret.getByText(/curl -s/);
  await expect(example).toContainText(`resource=${E2E_GATEWAY_URL}/mcp/sa-ops`);
  await expect(example).not.toContainText("/mcp/finops");
  await expect(secret.getByText("Get a 15-minute access token for SA Ops")).toBeVisible();

  // What the example runs, with the secret it shows: a token for that portal.
  const clientId = await secret.getByLabel("Client ID").inputValue();
  const clientSecret = await secret.getByLabel("Client secret").inputValue();
  const res = await page.request.post(`${E2E_BASE_URL}/oauth/token`, {
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}` },
    form: { grant_type: "client_credentials", resource: `${E2E_GATEWAY_URL}/mcp/sa-ops` },
  });
  expect(res.status(), await res.text()).toBe(200);
  await secret.getByRole("button", { name: "Done" }).click();

  // Rotating shows the same portal.
  await page.getByRole("button", { name: "Rotate the secret of ops nightly" }).click();
  await page.getByRole("alertdialog").or(page.getByRole("dialog")).getByRole("button", { name: /rotate/i }).last().click();
  const rotated = page.getByRole("dialog").filter({ hasText: "You will not see this secret again" });
  await expect(rotated.getByText(/curl -s/)).toContainText(`resource=${E2E_GATEWAY_URL}/mcp/sa-ops`);
  await rotated.getByRole("button", { name: "Done" }).click();

  // A role that grants no portal: said so, no command that cannot work.
  const none = await createAccount(page, "nothing yet", "SA nothing yet");
  await expect(none).toContainText("Role SA nothing yet grants no portal yet.");
  await expect(none.getByText(/curl -s/)).toHaveCount(0);
});
