import "server-only";
import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import nodemailer from "nodemailer";

import { severityRank, type Severity } from "@/lib/alerts/rules";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "../db/client";
import { decryptSecret } from "../crypto";
import { describeError, log } from "../log";
import { assertAllowedUpstream } from "../url-guard";
import { readSettings } from "../settings";

type Tx = Prisma.TransactionClient;

export const MAX_DELIVERY_ATTEMPTS = 8;
const BATCH = 20;
const SEND_TIMEOUT_MS = 10_000;
export const SIGNATURE_HEADER = "x-portico-signature";

/** Seconds before retry n (1-based): 15 s, 30 s, 1 min … capped at 1 h, with jitter. */
export function backoffMs(attempt: number): number {
  return Math.min(3_600_000, 15_000 * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
}

/**
 * Queues one delivery per enabled channel that wants this severity, in the alert's own
 * transaction: the worker sends them, so no channel is ever called on the ingest path.
 */
export async function enqueueDeliveries(tx: Tx, alertId: string, severity: Severity, reason: "created" | "repeated"): Promise<void> {
  const channels = await tx.alertChannel.findMany({ where: { enabled: true }, select: { id: true, minSeverity: true } });
  const wanted = channels.filter((c) => severityRank[severity] >= severityRank[c.minSeverity as Severity]);
  if (wanted.length === 0) return;
  await tx.alertDelivery.createMany({ data: wanted.map((c) => ({ alertId, channelId: c.id, reason })) });
}

export type ChannelConfig = {
  url?: string;
  host?: string;
  port?: number;
  startTls?: boolean;
  username?: string;
  from?: string;
  to?: string[];
};

export type AlertMessage = {
  id: string | null;
  title: string;
  severity: string;
  status: string;
  rule: string;
  subject: string;
  count: number;
  firstSeenAt: string;
  lastSeenAt: string;
  url: string;
  isTest: boolean;
};

type ChannelRow = { id: string; name: string; kind: string; config: unknown; secretEnc: string | null; secretRef: string | null };

/** Reads a secret reference (env:NAME or file:/path); throws a message safe to log. */
export async function resolveRef(ref: string): Promise<string> {
  if (ref.startsWith("env:")) {
    const value = process.env[ref.slice(4)];
    if (!value) throw new Error(`secret reference ${ref} is not set`);
    return value;
  }
  if (ref.startsWith("file:")) {
    const value = (await readFile(ref.slice(5), "utf8").catch(() => "")).trim();
    if (!value) throw new Error(`secret reference ${ref} could not be read`);
    return value;
  }
  throw new Error("the secret reference is neither env:NAME nor file:/path");
}

/** HMAC-SHA256 over `<timestamp>.<body>`, so a receiver can refuse replays of old bodies. */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `t=${timestamp},v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

function slackText(m: AlertMessage): string {
  const prefix = m.isTest ? "[test] " : "";
  return `${prefix}*${m.severity.toUpperCase()}* ${m.title}\nRule: ${m.rule} · ${m.count} occurrence${m.count === 1 ? "" : "s"} · last ${m.lastSeenAt}\n<${m.url}|Open in Portico>`;
}

/** Sends one message on one channel; throws with a message safe to store in the delivery log. */
export async function sendToChannel(db: Db, channel: ChannelRow, message: AlertMessage): Promise<void> {
  const config = (channel.config ?? {}) as ChannelConfig;
  if (channel.kind === "webhook" || channel.kind === "slack") {
    if (!config.url) throw new Error("the channel has no URL");
    // Checked again at send time: a host name can be pointed somewhere else after it was saved.
    const { allowPrivateTargets } = await readSettings(db);
    await assertAllowedUpstream(config.url, { allowPrivateTargets }).catch(() => {
      throw new Error("the URL points at an address alerts may not be sent to");
    });
    const body = channel.kind === "slack" ? JSON.stringify({ text: slackText(message) }) : JSON.stringify({ type: message.isTest ? "alert.test" : "alert", alert: message });
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "Portico-Alerts/1" };
    if (channel.kind === "webhook" && channel.secretEnc) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      headers[SIGNATURE_HEADER] = signBody(decryptSecret(channel.secretEnc), timestamp, body);
    }
    let res: Response;
    try {
      res = await fetch(config.url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
    } catch {
      throw new Error("the receiver could not be reached");
    }
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) throw new Error(`the receiver answered HTTP ${res.status}`);
    return;
  }
  if (channel.kind === "email") {
    if (!config.host || !config.port || !config.from || !config.to?.length) throw new Error("the channel's SMTP settings are incomplete");
    const password = channel.secretRef ? await resolveRef(channel.secretRef) : undefined;
    const transport = nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.port === 465,
      requireTLS: Boolean(config.startTls),
      ignoreTLS: !config.startTls && config.port !== 465,
      auth: config.username ? { user: config.username, pass: password ?? "" } : undefined,
      connectionTimeout: SEND_TIMEOUT_MS,
      greetingTimeout: SEND_TIMEOUT_MS,
      socketTimeout: SEND_TIMEOUT_MS,
    });
    try {
      await transport.sendMail({
        from: config.from,
        to: config.to.join(", "),
        subject: `${message.isTest ? "[test] " : ""}[${message.severity}] ${message.title}`.slice(0, 250),
        text: `${message.title}\n\nRule: ${message.rule}\nSubject: ${message.subject}\nSeverity: ${message.severity}\nOccurrences: ${message.count}\nFirst seen: ${message.firstSeenAt}\nLast seen: ${message.lastSeenAt}\n\n${message.url}\n`,
      });
    } catch (error) {
      const code = (error as { code?: unknown; responseCode?: unknown }).responseCode ?? (error as { code?: unknown }).code;
      throw new Error(`the SMTP server refused or did not answer${code ? ` (${String(code)})` : ""}`);
    } finally {
      transport.close();
    }
    return;
  }
  throw new Error(`unknown channel kind ${channel.kind}`);
}

function publicUrl(): string {
  return (process.env.AUTH_URL ?? process.env.PORTICO_PUBLIC_URL ?? "http://127.0.0.1:3000").replace(/\/$/, "");
}

export async function messageFor(db: Db, alertId: string): Promise<AlertMessage | null> {
  const alert = await db.alert.findUnique({ where: { id: alertId }, include: { rule: { select: { name: true } } } });
  if (!alert) return null;
  return {
    id: alert.id,
    title: alert.title,
    severity: alert.severity,
    status: alert.status,
    rule: alert.rule.name,
    subject: alert.subject,
    count: alert.count,
    firstSeenAt: alert.firstSeenAt.toISOString(),
    lastSeenAt: alert.lastSeenAt.toISOString(),
    url: `${publicUrl()}/alerts?alert=${alert.id}`,
    isTest: false,
  };
}

export function testMessage(): AlertMessage {
  const now = new Date().toISOString();
  return { id: null, title: "Test alert from Portico", severity: "low", status: "open", rule: "Test", subject: "test", count: 1, firstSeenAt: now, lastSeenAt: now, url: `${publicUrl()}/alerts`, isTest: true };
}

/**
 * Sends what is due: each delivery on its own, so a channel that keeps failing (or hangs until
 * its timeout) delays nobody else's. A failure is retried with backoff up to
 * MAX_DELIVERY_ATTEMPTS, then marked failed; the log keeps the last error.
 */
export async function deliverDue(db: Db, now = new Date()): Promise<number> {
  const due = await db.alertDelivery.findMany({
    where: { status: "pending", nextAttemptAt: { lte: now } },
    orderBy: { nextAttemptAt: "asc" },
    take: BATCH,
    include: { channel: true },
  });
  await Promise.all(
    due.map(async (delivery) => {
      const attempts = delivery.attempts + 1;
      try {
        const message = delivery.alertId ? await messageFor(db, delivery.alertId) : testMessage();
        if (!message) throw new Error("the alert no longer exists");
        await sendToChannel(db, delivery.channel, message);
        await db.alertDelivery.update({ where: { id: delivery.id }, data: { status: "sent", attempts, sentAt: new Date(), lastError: null } });
      } catch (error) {
        const reason = error instanceof Error ? error.message.slice(0, 500) : "delivery failed";
        const isLast = attempts >= MAX_DELIVERY_ATTEMPTS;
        await db.alertDelivery.update({
          where: { id: delivery.id },
          data: { attempts, lastError: reason, status: isLast ? "failed" : "pending", nextAttemptAt: new Date(Date.now() + backoffMs(attempts)) },
        });
        if (isLast) log("warn", "alert delivery gave up", { channel: delivery.channel.name, attempts });
      }
    }),
  );
  return due.length;
}

/** The worker loop: every `intervalMs`, until stopped. Runs in the control plane, off every request. */
export function startDeliveryWorker(db: Db, intervalMs = 2_000): () => void {
  let isRunning = false;
  const timer = setInterval(() => {
    if (isRunning) return;
    isRunning = true;
    deliverDue(db)
      .catch((error: unknown) => log("error", "alert delivery worker failed", describeError(error)))
      .finally(() => {
        isRunning = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
