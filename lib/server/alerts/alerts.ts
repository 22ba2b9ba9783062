import "server-only";
import { randomUUID } from "node:crypto";
import nodemailer from "nodemailer";

import { AppError, notFound } from "@/lib/errors";
import { BUILT_IN_RULES, createAlertRuleInput, detectorParams, severityRank, updateAlertRuleInput, type Detector, type Severity } from "@/lib/alerts/rules";
import {
  acknowledgeAlertInput,
  createAlertChannelInput,
  listAlertsParams,
  resolveAlertInput,
  snoozeAlertInput,
  updateAlertChannelInput,
  type AlertChannelView,
  type AlertDetail,
  type AlertRuleView,
  type AlertView,
} from "@/lib/schemas/alert";
import type { Page } from "@/lib/schemas/common";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "../db/client";
import { actorFields, appendAuditEvents, recordConfigChange } from "../audit";
import { authorize, can, type Actor } from "../auth/actor";
import { encryptSecret } from "../crypto";
import { iso, pageArgs, toPage } from "../pagination";
import { readSettings } from "../settings";
import { assertAllowedUpstream } from "../url-guard";
import { sendToChannel, testMessage, type ChannelConfig } from "./deliveries";
import { runningAlertEngine } from "./engine";

type Tx = Prisma.TransactionClient;
type AlertRow = Prisma.AlertGetPayload<{ include: { rule: { select: { name: true } } } }>;

function auditHref(filter: unknown): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries((filter ?? {}) as Record<string, unknown>)) if (typeof v === "string" && v) params.set(k, v);
  const query = params.toString();
  return query ? `/audit?${query}` : "/audit";
}

function toView(a: AlertRow): AlertView {
  return {
    id: a.id,
    ruleId: a.ruleId,
    ruleName: a.rule.name,
    subject: a.subject,
    status: a.status as AlertView["status"],
    severity: a.severity as AlertView["severity"],
    title: a.title,
    count: a.count,
    firstSeenAt: a.firstSeenAt.toISOString(),
    lastSeenAt: a.lastSeenAt.toISOString(),
    snoozedUntil: iso(a.snoozedUntil),
    acknowledgedAt: iso(a.acknowledgedAt),
    acknowledgedBy: a.acknowledgedBy,
    note: a.note,
    resolvedAt: iso(a.resolvedAt),
    resolvedBy: a.resolvedBy,
    auditHref: auditHref(a.auditFilter),
  };
}

const whoIs = (actor: Actor) => (actor.type === "system" ? actor.label : actor.email);

export async function listAlerts(db: Db, actor: Actor, raw: unknown): Promise<Page<AlertView>> {
  authorize(actor, "alerts:read");
  const params = listAlertsParams.parse(raw);
  const rows = await db.alert.findMany({
    where: { ...(params.status ? { status: params.status } : {}), ...(params.severity ? { severity: params.severity } : {}) },
    orderBy: [{ lastSeenAt: "desc" }, { id: "desc" }],
    include: { rule: { select: { name: true } } },
    ...pageArgs(params),
  });
  return toPage(rows, params.limit, toView);
}

export async function getAlert(db: Db, actor: Actor, id: string): Promise<AlertDetail> {
  authorize(actor, "alerts:read");
  const alert = await db.alert.findUnique({
    where: { id },
    include: {
      rule: { select: { name: true } },
      occurrences: { orderBy: { time: "asc" }, take: 25 },
      deliveries: { orderBy: { createdAt: "desc" }, take: 50, include: { channel: { select: { name: true } } } },
    },
  });
  if (!alert) throw notFound("Alert");
  return {
    ...toView(alert),
    occurrences: alert.occurrences.map((o) => ({ id: o.id, eventId: o.eventId, time: o.time.toISOString(), detail: o.detail })),
    deliveries: alert.deliveries.map((d) => ({
      id: d.id,
      channel: d.channel.name,
      status: d.status,
      reason: d.reason,
      attempts: d.attempts,
      lastError: d.lastError,
      sentAt: iso(d.sentAt),
      createdAt: d.createdAt.toISOString(),
    })),
  };
}

async function auditAlertChange(tx: Tx, actor: Actor | null, action: string, alert: { id: string; title: string }, data: Record<string, unknown>) {
  await appendAuditEvents(tx, [
    {
      id: randomUUID(),
      time: new Date(),
      kind: "alert",
      ...(actor ? actorFields(actor) : { actorType: "system" as const, actorId: null, actorLabel: "alert engine" }),
      action,
      outcome: "success",
      targetType: "alert",
      targetId: alert.id,
      reasons: [alert.title.slice(0, 1000)],
      data,
      requestId: actor?.requestId ?? null,
      sourceIp: actor?.ip ?? null,
    },
  ]);
}

/** Changes an alert's state in one transaction with its audit event. */
async function transition(db: Db, actor: Actor, id: string, action: string, change: (a: AlertRow) => Prisma.AlertUpdateInput): Promise<AlertView> {
  const updated = await db.$transaction(async (tx) => {
    const alert = await tx.alert.findUnique({ where: { id }, include: { rule: { select: { name: true } } } });
    if (!alert) throw notFound("Alert");
    const data = change(alert);
    const row = await tx.alert.update({ where: { id }, data, include: { rule: { select: { name: true } } } });
    await auditAlertChange(tx, actor, action, alert, {
      before: { status: alert.status, snoozedUntil: iso(alert.snoozedUntil) },
      after: { status: row.status, snoozedUntil: iso(row.snoozedUntil), note: row.note },
    });
    return { row, openKey: alert.openKey };
  });
  if (updated.row.status === "resolved" && updated.openKey) runningAlertEngine()?.forget(updated.openKey);
  return toView(updated.row);
}

export async function acknowledgeAlert(db: Db, actor: Actor, id: string, raw: unknown): Promise<AlertView> {
  authorize(actor, "alerts:ack");
  const input = acknowledgeAlertInput.parse(raw);
  return transition(db, actor, id, "alert.acknowledge", (a) => {
    if (a.status !== "open") throw new AppError("conflict", `This alert is ${a.status}; only an open alert can be acknowledged`);
    return { status: "acknowledged", acknowledgedAt: new Date(), acknowledgedBy: whoIs(actor), note: input.note ?? a.note };
  });
}

export async function resolveAlert(db: Db, actor: Actor, id: string, raw: unknown): Promise<AlertView> {
  authorize(actor, "alerts:ack");
  const input = resolveAlertInput.parse(raw);
  return transition(db, actor, id, "alert.resolve", (a) => {
    if (a.status === "resolved") throw new AppError("conflict", "This alert is already resolved");
    return { status: "resolved", openKey: null, resolvedAt: new Date(), resolvedBy: whoIs(actor), note: input.note ?? a.note };
  });
}

export async function snoozeAlert(db: Db, actor: Actor, id: string, raw: unknown): Promise<AlertView> {
  authorize(actor, "alerts:ack");
  const input = snoozeAlertInput.parse(raw);
  return transition(db, actor, id, "alert.snooze", (a) => {
    if (a.status === "resolved") throw new AppError("conflict", "A resolved alert cannot be snoozed");
    return { snoozedUntil: new Date(Date.now() + input.minutes * 60_000) };
  });
}

/** The condition cleared (state rules) or a rate rule went a whole window without a new occurrence. */
export async function resolveAlertAutomatically(db: Db, id: string, why: string): Promise<void> {
  const openKey = await db.$transaction(async (tx) => {
    const alert = await tx.alert.findUnique({ where: { id } });
    if (!alert || alert.status === "resolved") return null;
    await tx.alert.update({ where: { id }, data: { status: "resolved", openKey: null, resolvedAt: new Date(), resolvedBy: "auto" } });
    await auditAlertChange(tx, null, "alert.auto_resolve", alert, { before: { status: alert.status }, after: { status: "resolved" }, why });
    return alert.openKey;
  });
  if (openKey) runningAlertEngine()?.forget(openKey);
}

/** The sidebar badge: open high and critical alerts, not snoozed, for those who can read alerts. */
export async function countAttentionAlerts(db: Db, actor: Actor): Promise<number | undefined> {
  if (!can(actor, "alerts:read")) return undefined;
  return db.alert.count({
    where: { status: "open", severity: { in: ["high", "critical"] }, OR: [{ snoozedUntil: null }, { snoozedUntil: { lt: new Date() } }] },
  });
}

// ---- rules

export async function listAlertRules(db: Db, actor: Actor): Promise<AlertRuleView[]> {
  authorize(actor, "alerts:read");
  const [rules, open] = await Promise.all([
    db.alertRule.findMany({ orderBy: { createdAt: "asc" } }),
    db.alert.groupBy({ by: ["ruleId"], where: { openKey: { not: null } }, _count: { _all: true } }),
  ]);
  const openBy = new Map(open.map((o) => [o.ruleId, o._count._all]));
  return rules
    .map((r) => ({
      id: r.id,
      key: r.key,
      detector: r.detector,
      name: r.name,
      description: r.description,
      severity: r.severity as Severity,
      enabled: r.enabled,
      params: r.params as Record<string, unknown>,
      scope: r.scope as Record<string, string>,
      throttleMinutes: r.throttleMinutes,
      openAlerts: openBy.get(r.id) ?? 0,
      isBuiltIn: BUILT_IN_KEYS.has(r.key),
    }))
    .sort((a, b) => severityRank[b.severity] - severityRank[a.severity] || a.name.localeCompare(b.name));
}

const BUILT_IN_KEYS = new Set(BUILT_IN_RULES.map((r) => r.key));

/** A detector's parameters checked by its own schema: a 422 naming `params.<field>`, or the parsed values. */
function checkedParams(detector: Detector, params: Record<string, unknown>): Record<string, unknown> {
  const parsed = detectorParams[detector].safeParse(params);
  if (!parsed.success) {
    throw new AppError("validation_failed", "The rule's settings are not valid", parsed.error.issues.map((i) => ({ field: ["params", ...i.path].join("."), message: i.message })));
  }
  return parsed.data as Record<string, unknown>;
}

/**
 * A new rule of one of the kinds the engine knows, with its own parameters and scope (a second
 * look-back rule for one portal at 90 days, a write-tool rule for one role). Validated like an
 * edit: nothing is saved when a field is wrong.
 */
export async function createAlertRule(db: Db, actor: Actor, raw: unknown): Promise<AlertRuleView> {
  authorize(actor, "alerts:write");
  const input = createAlertRuleInput.parse(raw);
  const params = checkedParams(input.detector, input.params);
  const id = await db.$transaction(async (tx) => {
    const row = await tx.alertRule.create({
      data: {
        key: `custom-${randomUUID()}`,
        detector: input.detector,
        name: input.name,
        description: input.description ?? "",
        severity: input.severity,
        enabled: input.enabled ?? true,
        params: params as Prisma.InputJsonValue,
        scope: input.scope ?? {},
        throttleMinutes: input.throttleMinutes ?? 15,
      },
    });
    await recordConfigChange(tx, actor, { action: "alert_rule.create", targetType: "alert_rule", targetId: row.key, after: row });
    return row.id;
  });
  runningAlertEngine()?.invalidateRules();
  return (await listAlertRules(db, actor)).find((r) => r.id === id)!;
}

/**
 * Deletes a rule an admin created. Built-in rules are turned off, never deleted (they would come
 * back on the next start). A rule with open alerts is refused: resolve them first, so no alert
 * disappears from the inbox unseen. Its resolved alerts go with it; the audit log keeps their story.
 */
export async function deleteAlertRule(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "alerts:write");
  await db.$transaction(async (tx) => {
    const rule = await tx.alertRule.findUnique({ where: { id } });
    if (!rule) throw notFound("Alert rule");
    if (BUILT_IN_KEYS.has(rule.key)) throw new AppError("conflict", "Built-in rules cannot be deleted: turn it off instead");
    const open = await tx.alert.count({ where: { ruleId: id, openKey: { not: null } } });
    if (open > 0) throw new AppError("conflict", `This rule has ${open} open alert${open === 1 ? "" : "s"}: resolve ${open === 1 ? "it" : "them"} first`);
    await tx.alertRule.delete({ where: { id } });
    await recordConfigChange(tx, actor, { action: "alert_rule.delete", targetType: "alert_rule", targetId: rule.key, before: rule });
  });
  runningAlertEngine()?.invalidateRules();
}

/**
 * Toggles a rule or changes its thresholds, scope, severity or throttle. The parameters are
 * validated against the rule's detector: a bad threshold, window or CIDR is a 422 naming the
 * field, and nothing is saved.
 */
export async function updateAlertRule(db: Db, actor: Actor, id: string, raw: unknown): Promise<AlertRuleView> {
  authorize(actor, "alerts:write");
  const input = updateAlertRuleInput.parse(raw);
  const rule = await db.alertRule.findUnique({ where: { id } });
  if (!rule) throw notFound("Alert rule");
  const params = input.params ? checkedParams(rule.detector as Detector, { ...(rule.params as Record<string, unknown>), ...input.params }) : undefined;
  await db.$transaction(async (tx) => {
    const after = await tx.alertRule.update({
      where: { id },
      data: {
        enabled: input.enabled,
        severity: input.severity,
        throttleMinutes: input.throttleMinutes,
        ...(params ? { params: params as Prisma.InputJsonValue } : {}),
        ...(input.scope ? { scope: input.scope } : {}),
      },
    });
    await recordConfigChange(tx, actor, { action: "alert_rule.update", targetType: "alert_rule", targetId: rule.key, before: rule, after });
  });
  runningAlertEngine()?.invalidateRules();
  return (await listAlertRules(db, actor)).find((r) => r.id === id)!;
}

// ---- channels

function channelView(c: Prisma.AlertChannelGetPayload<{ include: { deliveries: true } }>): AlertChannelView {
  const config = c.config as ChannelConfig;
  let target = "";
  if (c.kind === "webhook" && config.url) target = new URL(config.url).origin;
  else if (c.kind === "slack" && config.url) target = `${new URL(config.url).host} (incoming webhook)`;
  else if (c.kind === "email") target = `${(config.to ?? []).join(", ")} via ${config.host}:${config.port}${config.startTls ? " (STARTTLS)" : ""}`;
  const last = c.deliveries[0];
  return {
    id: c.id,
    name: c.name,
    kind: c.kind as AlertChannelView["kind"],
    enabled: c.enabled,
    minSeverity: c.minSeverity as Severity,
    target,
    hasSecret: Boolean(c.secretEnc || c.secretRef),
    lastDelivery: last ? { status: last.status, lastError: last.lastError, at: (last.sentAt ?? last.createdAt).toISOString() } : null,
  };
}

const withLastDelivery = { deliveries: { orderBy: { createdAt: "desc" as const }, take: 1 } };

export async function listAlertChannels(db: Db, actor: Actor): Promise<AlertChannelView[]> {
  authorize(actor, "alerts:read");
  const rows = await db.alertChannel.findMany({ orderBy: { createdAt: "asc" }, include: withLastDelivery });
  return rows.map(channelView);
}

/**
 * Adds a channel once its target checks out: a webhook URL that is http(s) and not link-local or
 * metadata (the servers' guard), an SMTP server that answers. Otherwise a 422 and nothing saved.
 */
export async function createAlertChannel(db: Db, actor: Actor, raw: unknown): Promise<AlertChannelView> {
  authorize(actor, "alerts:write");
  const input = createAlertChannelInput.parse(raw);
  let config: ChannelConfig;
  let secretEnc: string | null = null;
  let secretRef: string | null = null;
  if (input.kind === "email") {
    config = { host: input.host, port: input.port, startTls: input.startTls, username: input.username, from: input.from, to: input.to };
    secretRef = input.passwordRef ?? null;
    await assertSmtpAnswers(config);
  } else {
    const { allowPrivateTargets } = await readSettings(db);
    await assertAllowedUpstream(input.url, { allowPrivateTargets });
    config = { url: input.url };
    if (input.kind === "webhook" && input.secret) secretEnc = encryptSecret(input.secret);
  }
  const channel = await db.$transaction(async (tx) => {
    const row = await tx.alertChannel.create({
      data: { name: input.name, kind: input.kind, enabled: input.enabled, minSeverity: input.minSeverity, config: config as Prisma.InputJsonValue, secretEnc, secretRef },
      include: withLastDelivery,
    });
    await recordConfigChange(tx, actor, { action: "alert_channel.create", targetType: "alert_channel", targetId: row.id, after: { ...channelView(row), secretRef } });
    return row;
  });
  return channelView(channel);
}

async function assertSmtpAnswers(config: ChannelConfig): Promise<void> {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.port === 465,
    requireTLS: Boolean(config.startTls),
    ignoreTLS: !config.startTls && config.port !== 465,
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
    socketTimeout: 5_000,
  });
  try {
    // Connects, greets and (when asked) upgrades with STARTTLS; no credentials are tried here.
    await transport.verify();
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new AppError("validation_failed", "The SMTP server did not answer", [
      { field: "host", message: `No SMTP server answered at ${config.host}:${config.port}${code ? ` (${code})` : ""}` },
    ]);
  } finally {
    transport.close();
  }
}

export async function updateAlertChannel(db: Db, actor: Actor, id: string, raw: unknown): Promise<AlertChannelView> {
  authorize(actor, "alerts:write");
  const input = updateAlertChannelInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await tx.alertChannel.findUnique({ where: { id } });
    if (!before) throw notFound("Alert channel");
    const row = await tx.alertChannel.update({ where: { id }, data: input, include: withLastDelivery });
    await recordConfigChange(tx, actor, { action: "alert_channel.update", targetType: "alert_channel", targetId: id, before: { name: before.name, enabled: before.enabled, minSeverity: before.minSeverity }, after: input });
    return channelView(row);
  });
}

export async function deleteAlertChannel(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "alerts:write");
  await db.$transaction(async (tx) => {
    const before = await tx.alertChannel.findUnique({ where: { id } });
    if (!before) throw notFound("Alert channel");
    await tx.alertChannel.delete({ where: { id } });
    await recordConfigChange(tx, actor, { action: "alert_channel.delete", targetType: "alert_channel", targetId: id, before: { name: before.name, kind: before.kind } });
  });
}

/** "Send test": sends now, logs the attempt beside real deliveries, and says what happened. */
export async function testAlertChannel(db: Db, actor: Actor, id: string): Promise<{ ok: boolean; error: string | null }> {
  authorize(actor, "alerts:write");
  const channel = await db.alertChannel.findUnique({ where: { id } });
  if (!channel) throw notFound("Alert channel");
  let error: string | null = null;
  try {
    await sendToChannel(db, channel, testMessage());
  } catch (e) {
    error = e instanceof Error ? e.message.slice(0, 500) : "delivery failed";
  }
  await db.alertDelivery.create({
    data: { channelId: id, reason: "test", status: error ? "failed" : "sent", attempts: 1, lastError: error, sentAt: error ? null : new Date() },
  });
  return { ok: error === null, error };
}
