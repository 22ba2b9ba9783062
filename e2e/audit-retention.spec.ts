import { randomUUID } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import { signIn } from "./fixtures/session";

/**
 * Issue 11's retention and SIEM parts in Settings: the retention table per data class, and a SIEM
 * destination pointed at a real HTTPS receiver (the e2e certificate, which the control plane
 * trusts through NODE_EXTRA_CA_CERTS) that refuses the first batch and accepts the retry.
 */

const run = randomUUID().slice(0, 8);

test("an admin sees retention per class and streams the log to a SIEM that is down, then catches up", async ({ page }) => {
  test.setTimeout(120_000);
  const received: Array<{ seq: string; action: string }> = [];
  // The receiver is down until the test has seen the status line say so, then comes back.
  let isDown = true;
  let refused = 0;
  const server = https.createServer({ key: fs.readFileSync("e2e/fixtures/tls/localhost.key"), cert: fs.readFileSync("e2e/fixtures/tls/localhost.pem") }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (isDown) {
        refused += 1;
        res.writeHead(503).end();
        return;
      }
      for (const line of Buffer.concat(chunks).toString("utf8").trim().split("\n")) received.push(JSON.parse(line) as { seq: string; action: string });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `https://localhost:${(server.address() as AddressInfo).port}/in`;
  const name = `e2e SIEM ${run}`;

  try {
    await signIn(page, "admin");
    await page.goto("/settings");
    const retention = page.getByRole("table", { name: "Retention by data class" });
    await expect(retention.getByLabel("MCP payloads retention in days")).toHaveValue("30");
    await expect(retention.getByLabel("MCP request metadata retention in days")).toHaveValue("400");
    await expect(retention.getByLabel("Sign-in and token events retention in days")).toHaveValue("400");
    await expect(retention.getByLabel("Config changes and step-up decisions retention in days")).toHaveValue("2557");

    const form = page.getByRole("form", { name: "Add a SIEM destination" });
    await form.getByLabel("Name").fill(name);
    await form.getByLabel("URL").fill(url);
    await form.getByLabel("HMAC key").fill(`hmac-key-${run}-0123456789`);
    await form.getByRole("button", { name: "Add destination" }).click();

    const item = page.getByRole("listitem", { name });
    // Refused: the status line says so and nothing is counted as delivered; back up, the retry
    // delivers from the same event, in order.
    await expect(item.getByText(/last error: the receiver answered HTTP 503/)).toBeVisible({ timeout: 30_000 });
    await expect(item.getByText("Failing")).toBeVisible();
    expect(received).toHaveLength(0);
    // Created "from now on", it starts after the log's head: that is not a delivery.
    await expect(item.getByRole("status")).toContainText(/Nothing delivered yet · starts after seq \d+/);
    await expect(item.getByRole("status")).not.toContainText("Last delivered");
    isDown = false;
    await expect(item.getByText(/0 events to send/)).toBeVisible({ timeout: 60_000 });
    expect(refused).toBeGreaterThan(0);
    await expect(item.getByText("Delivering")).toBeVisible();
    expect(received.map((e) => e.action)).toContain("log_destination.create");
    const seqs = received.map((e) => BigInt(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    await expect(item.getByText(new RegExp(`Last delivered seq ${received.at(-1)!.seq}\\b`))).toBeVisible();
    await page.getByRole("heading", { name: "Audit retention" }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: "docs/screenshots/settings-retention-siem.png", fullPage: true });
  } finally {
    // Other specs count deliveries of nothing; leave no destination behind.
    const list = (await (await page.request.get("/api/v1/log-destinations")).json()) as { items: Array<{ id: string; name: string }> };
    for (const d of list.items.filter((d) => d.name === name)) await page.request.delete(`/api/v1/log-destinations/${d.id}`);
    server.close();
  }
});
