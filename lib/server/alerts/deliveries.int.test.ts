import { createHmac, randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
process.env.AUTH_SECRET ??= randomBytes(32).toString("base64url");
process.env.ALERT_TEST_SMTP_PASSWORD = "smtp-password-for-tests";

const { createTestDatabase } = await import("../db/test-database");
const { ingestAuditEvents } = await import("../audit-ingest");
const { startAlerting } = await import("./start");
const { createAlertChannel, testAlertChannel, getAlert } = await import("./alerts");
const { deliverDue, MAX_DELIVERY_ATTEMPTS } = await import("./deliveries");
const { systemActor } = await import("../auth/actor");
const { toAppError } = await import("../errors");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let alerting: Awaited<ReturnType<typeof startAlerting>>;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const admin = systemActor("test admin");

type Received = { path: string; headers: http.IncomingHttpHeaders; body: string };
const received: Received[] = [];
let failingStatus = 503;
let receiver: http.Server;
let receiverUrl: string;

type Mail = { from: string; to: string[]; data: string; user: string | undefined };
const mails: Mail[] = [];
let smtp: SMTPServer;
let smtpPort: number;

const failedTokenRequest = (ip: string) => ({
  id: randomUUID(),
  time: new Date().toISOString(),
  kind: "auth.token",
  actorType: "anonymous",
  actorId: "sa_guess",
  action: "token.issue",
  outcome: "failure",
  reasons: ["invalid_client: client authentication failed"],
  data: { grantType: "client_credentials", clientId: "sa_guess", failure: "invalid_client" },
  sourceIp: ip,
});

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body });
      if (req.url === "/failing") res.writeHead(failingStatus).end();
      else res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    onAuth(auth, _session, callback) {
      if (auth.password === process.env.ALERT_TEST_SMTP_PASSWORD) callback(null, { user: auth.username });
      else callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      let data = "";
      stream.on("data", (c: Buffer) => (data += c.toString()));
      stream.on("end", () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "", to: session.envelope.rcptTo.map((r) => r.address), data, user: session.user as string | undefined });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  t = await createTestDatabase();
  // One alert per burst here (per address): the per-account rule is the engine test's business.
  await t.db.alertRule.createMany({ data: [{ key: "failed-auth-account", detector: "failed_auth", name: "off", severity: "high", enabled: false, params: { threshold: 5, windowMinutes: 10, by: "account" } }] });
  alerting = await startAlerting(t.db, { checkIntervalMs: 3_600_000, deliveryIntervalMs: 3_600_000 });
});

afterAll(async () => {
  // Control-plane events written by the last test are still being evaluated.
  await alerting?.engine.idle();
  alerting?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
  await t?.close();
});

describe(`alert delivery (${label})`, () => {
  it("refuses channels it could never deliver to, and saves nothing", async () => {
    const cases: Array<[unknown, string]> = [
      [{ kind: "webhook", name: "Metadata", url: "http://169.254.169.254/latest" }, "url"],
      [{ kind: "webhook", name: "FTP", url: "ftp://example.com/x" }, "url"],
      [{ kind: "slack", name: "Link-local", url: "http://[fe80::1]/hook" }, "url"],
      [{ kind: "webhook", name: "Short secret", url: `${receiverUrl}/hook`, secret: "short" }, "secret"],
      [{ kind: "email", name: "Nobody home", host: "127.0.0.1", port: 1, startTls: false, from: "portico@example.com", to: ["ops@example.com"] }, "host"],
      [{ kind: "email", name: "Bad ref", host: "127.0.0.1", port: smtpPort, startTls: false, passwordRef: "plaintext", from: "portico@example.com", to: ["ops@example.com"] }, "passwordRef"],
    ];
    for (const [body, field] of cases) {
      const error = toAppError(await createAlertChannel(t.db, admin, body).catch((e: unknown) => e));
      expect(error?.status, JSON.stringify(body)).toBe(422);
      expect(error?.fieldErrors.map((f) => f.field)).toContain(field);
    }
    expect(await t.db.alertChannel.count()).toBe(0);
  });

  it("delivers a new alert to a signed webhook, a Slack-compatible hook and SMTP; a failing channel retries without holding the others", async () => {
    const secret = "webhook-signing-secret-0123456789";
    await createAlertChannel(t.db, admin, { kind: "webhook", name: "SIEM", url: `${receiverUrl}/hook`, secret, minSeverity: "medium" });
    await createAlertChannel(t.db, admin, { kind: "slack", name: "#finops-alerts", url: `${receiverUrl}/slack`, minSeverity: "high" });
    await createAlertChannel(t.db, admin, {
      kind: "email",
      name: "On-call mail",
      host: "127.0.0.1",
      port: smtpPort,
      startTls: false,
      username: "portico",
      passwordRef: "env:ALERT_TEST_SMTP_PASSWORD",
      from: "portico@example.com",
      to: ["oncall@example.com"],
    });
    await createAlertChannel(t.db, admin, { kind: "webhook", name: "Broken", url: `${receiverUrl}/failing`, minSeverity: "low" });
    // Only critical: this high alert is not sent there.
    await createAlertChannel(t.db, admin, { kind: "webhook", name: "Pager", url: `${receiverUrl}/pager`, minSeverity: "critical" });

    await ingestAuditEvents(t.db, Array.from({ length: 5 }, () => failedTokenRequest("198.51.100.9")));
    await alerting.engine.idle();
    const alert = await t.db.alert.findFirstOrThrow({ where: { rule: { key: "failed-auth-ip" } } });
    // Queued with the alert, sent by the worker: nothing went out on the ingest path.
    expect(received).toHaveLength(0);
    expect(await t.db.alertDelivery.count({ where: { alertId: alert.id, status: "pending" } })).toBe(4);

    await deliverDue(t.db);
    const hook = received.find((r) => r.path === "/hook")!;
    const payload = JSON.parse(hook.body) as { type: string; alert: { title: string; severity: string; count: number; url: string } };
    expect(payload.type).toBe("alert");
    expect(payload.alert).toMatchObject({ title: "Failed sign-ins from 198.51.100.9", severity: "high", count: 5 });
    const [, timestamp, signature] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hook.headers["x-portico-signature"]))!;
    expect(signature).toBe(createHmac("sha256", secret).update(`${timestamp}.${hook.body}`).digest("hex"));

    const slack = JSON.parse(received.find((r) => r.path === "/slack")!.body) as { text: string };
    expect(slack.text).toContain("*HIGH* Failed sign-ins from 198.51.100.9");
    expect(received.some((r) => r.path === "/pager")).toBe(false);

    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ from: "portico@example.com", to: ["oncall@example.com"], user: "portico" });
    expect(mails[0]!.data).toContain("Subject: [high] Failed sign-ins from 198.51.100.9");

    const detail = await getAlert(t.db, admin, alert.id);
    const byChannel = Object.fromEntries(detail.deliveries.map((d) => [d.channel, d]));
    expect(byChannel.SIEM).toMatchObject({ status: "sent", attempts: 1 });
    expect(byChannel["On-call mail"]).toMatchObject({ status: "sent" });
    expect(byChannel.Broken).toMatchObject({ status: "pending", attempts: 1, lastError: "the receiver answered HTTP 503" });

    // Retried with backoff until it gives up; never sent before its next attempt is due.
    const before = received.filter((r) => r.path === "/failing").length;
    await deliverDue(t.db);
    expect(received.filter((r) => r.path === "/failing").length).toBe(before);
    for (let i = 1; i < MAX_DELIVERY_ATTEMPTS; i++) await deliverDue(t.db, new Date(Date.now() + 2 * 3_600_000));
    const broken = await t.db.alertDelivery.findFirstOrThrow({ where: { alertId: alert.id, channel: { name: "Broken" } } });
    expect(broken).toMatchObject({ status: "failed", attempts: MAX_DELIVERY_ATTEMPTS });
  });

  it("more failures add to the open alert without notifying again inside the throttle", async () => {
    const sentBefore = await t.db.alertDelivery.count();
    await ingestAuditEvents(t.db, Array.from({ length: 3 }, () => failedTokenRequest("198.51.100.9")));
    await alerting.engine.idle();
    const alerts = await t.db.alert.findMany({ where: { rule: { key: "failed-auth-ip" } } });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.count).toBe(8);
    expect(await t.db.alertDelivery.count()).toBe(sentBefore);
  });

  it("sends over STARTTLS when the channel requires it (the test CA is trusted through NODE_EXTRA_CA_CERTS)", async () => {
    const tls = path.resolve(import.meta.dirname, "../../../e2e/fixtures/tls");
    const tlsMails: string[] = [];
    const secure = new SMTPServer({
      authOptional: true,
      key: fs.readFileSync(path.join(tls, "localhost.key")),
      cert: fs.readFileSync(path.join(tls, "localhost.pem")),
      onData(stream, session, callback) {
        stream.resume();
        stream.on("end", () => {
          tlsMails.push(session.secure ? "secure" : "plain");
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => secure.listen(0, "127.0.0.1", resolve));
    try {
      const port = (secure.server.address() as AddressInfo).port;
      const channel = await createAlertChannel(t.db, admin, { kind: "email", name: "TLS mail", host: "localhost", port, startTls: true, from: "portico@example.com", to: ["sec@example.com"] });
      expect(await testAlertChannel(t.db, admin, channel.id)).toEqual({ ok: true, error: null });
      expect(tlsMails).toEqual(["secure"]);
    } finally {
      await new Promise<void>((resolve) => secure.close(() => resolve()));
    }
  });

  it("'send test' reports success or the receiver's refusal, and logs it", async () => {
    const siem = await t.db.alertChannel.findFirstOrThrow({ where: { name: "SIEM" } });
    expect(await testAlertChannel(t.db, admin, siem.id)).toEqual({ ok: true, error: null });
    expect(JSON.parse(received.at(-1)!.body)).toMatchObject({ type: "alert.test" });
    failingStatus = 500;
    const broken = await t.db.alertChannel.findFirstOrThrow({ where: { name: "Broken" } });
    expect(await testAlertChannel(t.db, admin, broken.id)).toEqual({ ok: false, error: "the receiver answered HTTP 500" });
    expect(await t.db.alertDelivery.count({ where: { reason: "test", channelId: { in: [siem.id, broken.id] } } })).toBe(2);
  });
});
