import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
process.env.AUTH_SECRET = randomBytes(32).toString("base64url");
process.env.AUTH_URL = "https://portico.example.com";
process.env.TEST_APPROVER_WEBHOOK_SECRET = "approver-webhook-secret-0123456789";

const { createTestDatabase } = await import("./db/test-database");
const stepUp = await import("./step-up");
const { updateSettings, readSettings } = await import("./settings");

/**
 * The approver webhook, against a real HTTP receiver: a filed request is announced once, with a
 * Slack-compatible body, a link to it in Approvals and an HMAC the receiver can check; a URL the
 * SSRF guard refuses is never saved; a receiver that is down does not fail the filing.
 */

type Received = { headers: IncomingMessage["headers"]; body: string };
type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let aliceId: string;
const received: Received[] = [];
let status = 200;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
    res.writeHead(status).end();
  });
});
let receiverUrl = "";
let admin: { type: "user"; userId: string; email: string; name: string; role: "admin"; mfa: boolean };

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/approvals`;
  t = await createTestDatabase();
  const portal = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  aliceId = (await t.db.user.create({ data: { email: "alice@t.local", name: "alice", role: "viewer", idpGroups: ["analysts"] } })).id;
  const adminRow = await t.db.user.create({ data: { email: "root@t.local", name: "root", role: "admin" } });
  admin = { type: "user", userId: adminRow.id, email: adminRow.email, name: "root", role: "admin", mfa: true };
  await t.db.portalRole.create({
    data: {
      slug: "analyst",
      name: "Analyst",
      stepUpRiskClasses: ["write", "financial"],
      perCallRiskClasses: ["financial"],
      stepUpMaxMinutes: 60,
      principals: { create: [{ kind: "group", value: "analysts" }] },
      grants: { create: [{ portalId: portal.id, riskClasses: ["read"] }] },
    },
  });
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await t?.close();
});

async function waitForDelivery(count: number) {
  const deadline = Date.now() + 10_000;
  while (received.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(received).toHaveLength(count);
  return received[count - 1]!;
}

describe("the approver webhook", () => {
  it("refuses a URL the SSRF guard refuses, and a secret given in clear instead of a reference, changing nothing", async () => {
    await expect(updateSettings(t.db, admin, { approverWebhookUrl: "http://169.254.169.254/latest/meta-data" })).rejects.toMatchObject({
      code: "validation_failed",
      fieldErrors: [expect.objectContaining({ field: "approverWebhookUrl" })],
    });
    await expect(updateSettings(t.db, admin, { approverWebhookUrl: receiverUrl, approverWebhookSecretRef: "hunter2" })).rejects.toThrow();
    expect(await readSettings(t.db)).toMatchObject({ approverWebhookUrl: null, approverWebhookSecretRef: null });
  });

  it("announces a filed request once, Slack-compatible, linked to Approvals, signed with the referenced secret", async () => {
    await updateSettings(t.db, admin, { approverWebhookUrl: receiverUrl, approverWebhookSecretRef: "env:TEST_APPROVER_WEBHOOK_SECRET" });
    const requester = await stepUp.userRequester(t.db, aliceId);
    const filed = await stepUp.fileStepUpRequest(t.db, requester, { portal: "finops", riskClass: "financial", server: "budgets", tool: "update_budget_limit", arguments: { budget_id: "b-1", limit_usd: 2500 }, reason: "raise the ML budget", durationMinutes: 15 });
    const delivery = await waitForDelivery(1);

    const signature = String(delivery.headers["x-portico-signature"]);
    const [, timestamp, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
    expect(mac).toBe(createHmac("sha256", "approver-webhook-secret-0123456789").update(`${timestamp}.${delivery.body}`).digest("hex"));
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    const wrong = createHmac("sha256", "another-secret").update(`${timestamp}.${delivery.body}`).digest("hex");
    expect(mac).not.toBe(wrong);

    const body = JSON.parse(delivery.body) as { text: string; portico: Record<string, unknown> };
    const link = `https://portico.example.com/approvals?request=${filed.id}`;
    expect(body.text).toContain(`<${link}|Review it in Portico>`);
    expect(body.text).toContain("*alice@t.local* asks for one call of budgets_update_budget_limit on FinOps.\n> raise the ML budget");
    expect(body.portico).toMatchObject({ type: "stepup.requested", requestId: filed.id, url: link, arguments: { budget_id: "b-1", limit_usd: 2500 }, reason: "raise the ML budget" });
    expect(delivery.headers["content-type"]).toBe("application/json");
  });

  it("files the request all the same when the receiver fails, and sends nothing once the URL is cleared", async () => {
    status = 500;
    const requester = await stepUp.userRequester(t.db, aliceId);
    const filed = await stepUp.fileStepUpRequest(t.db, requester, { portal: "finops", riskClass: "write", reason: "tag the Q4 accounts", durationMinutes: 30 });
    expect(filed.status).toBe("pending");
    await waitForDelivery(2);
    status = 200;
    await updateSettings(t.db, admin, { approverWebhookUrl: null });
    await stepUp.withdrawStepUpRequest(t.db, requester, filed.id);
    await stepUp.fileStepUpRequest(t.db, requester, { portal: "finops", riskClass: "write", reason: "tag the Q4 accounts again", durationMinutes: 30 });
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(2);
  });
});
