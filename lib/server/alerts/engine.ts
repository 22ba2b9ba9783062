import "server-only";
import { randomUUID } from "node:crypto";

import type { AuditEventInput } from "@/lib/audit/event";
import {
  SlidingWindow,
  alertScope,
  detectorParams,
  eventDetectors,
  matchEvent,
  rateDetectors,
  type Detector,
  type Match,
  type AlertScope,
  type RuleView,
  type Severity,
} from "@/lib/alerts/rules";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "../db/client";
import { appendAuditEvents } from "../audit";
import { serviceAccountNames, unnamedServiceAccount } from "../actor-names";
import { describeError, log } from "../log";
import { enqueueDeliveries } from "./deliveries";

type Tx = Prisma.TransactionClient;

/** Occurrences kept per alert: enough to reach the events behind it; the count goes on. */
const MAX_OCCURRENCES = 25;
const RULES_TTL_MS = 30_000;
const MAX_WINDOWS = 50_000;
/** How long a service account's name is used before it is read again (a rename shows after at most this). */
const NAME_TTL_MS = 60_000;
const MAX_ADDRESS_ACTORS = 50_000;
const DAY_MS = 86_400_000;
/** How long events written inside a caller's transaction are waited for before they count as rolled back. */
const UNCOMMITTED_RETRIES = 20;
const UNCOMMITTED_RETRY_MS = 100;

type EngineRule = RuleView & { throttleMinutes: number };
export type Raise = { rule: EngineRule; match: Match; time: Date; eventIds: string[]; increment: number };

/**
 * Evaluates the alert rules against audit events as they are stored (both ingest paths call
 * `observeAuditEvents` once their events are written), so a burst is seen in the event's own
 * second, not at the next scan. Per event the work is a few map look-ups: rate rules keep the
 * last N times per rule and subject (N = threshold) in memory, rebuilt on start from the last
 * window of stored events; the database is touched only when a rule matches.
 *
 * Evaluation is serialised in one queue per process and never runs on the ingest request itself:
 * a slow alert write cannot slow or fail an ingest.
 */
export class AlertEngine {
  private rules: EngineRule[] = [];
  private rulesLoadedAt = 0;
  private risk = new Map<string, string>();
  private readonly windows = new Map<string, SlidingWindow>();
  /** Rate-rule keys with an alert open: further events add to it instead of refilling a window. */
  private readonly firing = new Set<string>();
  /** actorId → address → last seen (ms), for the new-address rule. */
  private readonly addresses = new Map<string, Map<string, number>>();
  /** grantId → the server and tool its request named, for the grant-misuse rule (grants never change what they were asked for). */
  private readonly grants = new Map<string, { server: string | null; tool: string | null }>();
  /** Service accounts' names by client id (null: none by that id) and when each was read, for alert titles. */
  private readonly names = new Map<string, { name: string | null; readAt: number }>();
  private queue: Promise<void> = Promise.resolve();
  private started: Promise<void> | null = null;

  /**
   * `isReplayingStore` false: start with empty windows and address history, for evaluating a set
   * of events already stored (the demo seed) without counting them twice.
   */
  constructor(
    private readonly db: Db,
    private readonly options: { isReplayingStore?: boolean } = {},
  ) {}

  /** Loads rules, the registry's risk classes, open rate alerts and the last window of events. */
  start(): Promise<void> {
    this.started ??= this.rebuild().catch((error: unknown) => {
      log("error", "alert engine could not rebuild its windows", describeError(error));
    });
    return this.started;
  }

  /** Rules changed (an admin saved one): read them again before the next event. */
  invalidateRules(): void {
    this.rulesLoadedAt = 0;
  }

  /**
   * Queues events for evaluation. `isCommitted` false: they were written inside a transaction
   * that may not have committed yet; each is evaluated once it is visible, never if rolled back.
   */
  observe(events: AuditEventInput[], isCommitted: boolean): Promise<void> {
    if (events.length === 0) return this.queue;
    const run = async () => {
      await this.start();
      const visible = isCommitted ? events : await this.committedOnly(events);
      if (visible.length > 0) await this.evaluate(visible);
    };
    this.queue = this.queue.then(run).catch((error: unknown) => log("error", "alert evaluation failed", describeError(error)));
    return this.queue;
  }

  /** Resolves when everything queued so far has been evaluated (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private async committedOnly(events: AuditEventInput[]): Promise<AuditEventInput[]> {
    const wanted = new Map(events.map((e) => [e.id, e]));
    const found: AuditEventInput[] = [];
    for (let attempt = 0; attempt < UNCOMMITTED_RETRIES && wanted.size > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, UNCOMMITTED_RETRY_MS));
      const rows = await this.db.auditEvent.findMany({ where: { id: { in: [...wanted.keys()] } }, select: { id: true } });
      for (const { id } of rows) {
        found.push(wanted.get(id)!);
        wanted.delete(id);
      }
    }
    return found.sort((a, b) => a.time.getTime() - b.time.getTime());
  }

  private async loadRules(force = false): Promise<EngineRule[]> {
    if (!force && Date.now() - this.rulesLoadedAt < RULES_TTL_MS) return this.rules;
    const [rows, tools] = await Promise.all([
      this.db.alertRule.findMany({ where: { enabled: true } }),
      this.db.tool.findMany({ select: { name: true, riskClass: true, server: { select: { slug: true } } } }),
    ]);
    this.rules = rows.flatMap((row) => {
      const detector = row.detector as Detector;
      const params = detectorParams[detector]?.safeParse(row.params);
      const scope = alertScope.safeParse(row.scope);
      if (!params?.success || !scope.success) {
        log("warn", "alert rule skipped: its stored settings do not validate", { rule: row.key });
        return [];
      }
      return [{ id: row.id, detector, severity: row.severity as Severity, params: params.data as Record<string, unknown>, scope: scope.data, name: row.name, throttleMinutes: row.throttleMinutes }];
    });
    this.risk = new Map(tools.map((t) => [`${t.server.slug}/${t.name}`, t.riskClass]));
    this.rulesLoadedAt = Date.now();
    return this.rules;
  }

  private async rebuild(): Promise<void> {
    const rules = await this.loadRules(true);
    const open = await this.db.alert.findMany({ where: { openKey: { not: null } }, select: { openKey: true, rule: { select: { detector: true } } } });
    for (const a of open) if (rateDetectors.has(a.rule.detector as Detector)) this.firing.add(a.openKey!);
    if (this.options.isReplayingStore === false) return;

    const now = Date.now();
    const addressRule = rules.find((r) => r.detector === "unexpected_network");
    if (addressRule) {
      const days = addressRule.params.newIpDays as number;
      const rows = await this.db.$queryRaw<Array<{ actorId: string; sourceIp: string; last: Date }>>`
        SELECT "actorId", "sourceIp", max("time") AS "last" FROM "AuditEvent"
        WHERE "kind" = 'mcp.request' AND "actorId" IS NOT NULL AND "sourceIp" IS NOT NULL AND "time" >= ${new Date(now - days * DAY_MS)}
        GROUP BY 1, 2 LIMIT 200000`;
      for (const row of rows) this.rememberAddress(row.actorId, row.sourceIp, new Date(row.last).getTime());
    }

    // Refill the rate windows from the stored events of the longest window, without raising:
    // what was already raised is in the database, what was not yet is counted from here.
    const longest = Math.max(0, ...rules.filter((r) => rateDetectors.has(r.detector)).map((r) => r.params.windowMinutes as number));
    if (longest > 0) {
      const rows = await this.db.auditEvent.findMany({
        where: {
          time: { gte: new Date(now - longest * 60_000) },
          OR: [{ kind: { in: ["auth.sign_in", "auth.token", "mcp.request"] }, outcome: { in: ["failure", "deny"] } }, { kind: "stepup.requested" }],
        },
        orderBy: { seq: "asc" },
        take: 100_000,
      });
      for (const row of await this.withNames(rows as unknown as AuditEventInput[])) this.evaluateOne(row, rules, true);
    }
  }

  private rememberAddress(actor: string, ip: string, time: number) {
    let seen = this.addresses.get(actor);
    if (!seen) {
      if (this.addresses.size >= MAX_ADDRESS_ACTORS) this.addresses.delete(this.addresses.keys().next().value!);
      seen = new Map();
      this.addresses.set(actor, seen);
    }
    seen.set(ip, Math.max(seen.get(ip) ?? 0, time));
  }

  /** Reads the grants the batch's elevated calls name and this engine has not seen yet: only elevated calls touch the database. */
  private async loadGrants(events: AuditEventInput[]): Promise<void> {
    const wanted = new Set<string>();
    for (const e of events) {
      const id = (e.data as Record<string, unknown> | null | undefined)?.grantId;
      if (typeof id === "string" && !this.grants.has(id)) wanted.add(id);
    }
    if (wanted.size === 0) return;
    const rows = await this.db.elevatedGrant.findMany({ where: { id: { in: [...wanted] } }, select: { id: true, serverSlug: true, toolName: true } });
    if (this.grants.size + rows.length > MAX_WINDOWS) this.grants.clear();
    for (const r of rows) this.grants.set(r.id, { server: r.serverSlug, tool: r.toolName });
  }

  /**
   * A service account's gateway events carry its client id as their label; titles and subjects
   * name it as the rest of the dashboard does (actor-names.ts). A name is read again once it is a
   * minute old, so a renamed account (on this control plane or another) is named anew soon after.
   */
  private async withNames(events: AuditEventInput[]): Promise<AuditEventInput[]> {
    const wanted = new Set<string>();
    const now = Date.now();
    for (const e of events) {
      const id = unnamedServiceAccount(e);
      const known = id ? this.names.get(id) : undefined;
      if (id && (!known || now - known.readAt >= NAME_TTL_MS)) wanted.add(id);
    }
    if (wanted.size > 0) {
      const found = await serviceAccountNames(this.db, wanted);
      if (this.names.size + wanted.size > MAX_WINDOWS) this.names.clear();
      // An id with no service account (deleted) keeps its label: remembered as null until read again.
      for (const id of wanted) this.names.set(id, { name: found.get(id) ?? null, readAt: now });
    }
    return events.map((e) => {
      const id = unnamedServiceAccount(e);
      const name = id ? this.names.get(id)?.name : null;
      return name ? { ...e, actorLabel: name } : e;
    });
  }

  private async evaluate(batch: AuditEventInput[]): Promise<void> {
    const rules = (await this.loadRules()).filter((r) => eventDetectors.has(r.detector));
    const events = await this.withNames(batch);
    if (rules.some((r) => r.detector === "stepup_grant_misuse")) await this.loadGrants(events);
    const raises = new Map<string, Raise>();
    for (const event of events) {
      for (const raise of this.evaluateOne(event, rules, false)) {
        const key = `${raise.rule.id}|${raise.match.subject}`;
        const prior = raises.get(key);
        if (prior) {
          prior.increment += raise.increment;
          prior.time = raise.time > prior.time ? raise.time : prior.time;
          prior.eventIds.push(...raise.eventIds);
        } else raises.set(key, raise);
      }
    }
    for (const raise of raises.values()) {
      await raiseAlert(this.db, raise).catch((error: unknown) => log("error", "could not raise an alert", { rule: raise.rule.name, ...describeError(error) }));
    }
  }

  /** One event against every event rule; with `isReplay` only the windows are refilled. */
  private evaluateOne(event: AuditEventInput, rules: EngineRule[], isReplay: boolean): Raise[] {
    const out: Raise[] = [];
    const time = new Date(event.time);
    const ctx = {
      riskOf: (server: string, tool: string) => this.risk.get(`${server}/${tool}`),
      addressHistory: (actor: string, ip: string) => {
        const seen = this.addresses.get(actor);
        if (!seen || seen.size === 0) return "new-actor" as const;
        const rule = rules.find((r) => r.detector === "unexpected_network");
        const days = (rule?.params.newIpDays as number | undefined) ?? 30;
        const last = seen.get(ip);
        return last !== undefined && time.getTime() - last <= days * DAY_MS ? ("known" as const) : ("new-address" as const);
      },
      grantOf: (grantId: string) => this.grants.get(grantId),
    };
    for (const rule of rules) {
      if (isReplay && !rateDetectors.has(rule.detector)) continue;
      const match = matchEvent(rule, event, ctx);
      if (!match) continue;
      if (!rateDetectors.has(rule.detector)) {
        out.push({ rule, match, time, eventIds: [event.id], increment: 1 });
        continue;
      }
      const key = `${rule.id}|${match.subject}`;
      if (this.firing.has(key)) {
        if (!isReplay) out.push({ rule, match, time, eventIds: [event.id], increment: 1 });
        continue;
      }
      let window = this.windows.get(key);
      if (!window) {
        if (this.windows.size >= MAX_WINDOWS) this.pruneWindows(time.getTime());
        window = new SlidingWindow(rule.params.threshold as number, (rule.params.windowMinutes as number) * 60_000);
        this.windows.set(key, window);
      }
      if (window.add(time.getTime(), event.id) && !isReplay) {
        const ids = window.eventIds();
        out.push({ rule, match, time, eventIds: ids, increment: ids.length });
        this.windows.delete(key);
        this.firing.add(key);
      }
    }
    if (event.kind === "mcp.request" && event.actorId && event.sourceIp) this.rememberAddress(event.actorId, event.sourceIp, time.getTime());
    return out;
  }

  private pruneWindows(now: number) {
    for (const [key, window] of this.windows) if (window.isStale(now)) this.windows.delete(key);
    // Still full of live windows: drop the oldest keys rather than grow without bound.
    for (const key of this.windows.keys()) {
      if (this.windows.size < MAX_WINDOWS) break;
      this.windows.delete(key);
    }
  }

  /** An alert was resolved (by a person or the schedule): its rate key counts from zero again. */
  forget(openKey: string): void {
    this.firing.delete(openKey);
    this.windows.delete(openKey);
  }
}

const openKeyOf = (ruleId: string, subject: string) => `${ruleId}|${subject}`;

/**
 * Opens an alert for a rule and subject, or adds to the one already open (dedup). Notifies the
 * channels on open, and again for a repeat only once the rule's throttle has passed and the
 * alert is not snoozed. Raising is recorded in the audit trail.
 */
export async function raiseAlert(db: Db, raise: Raise, options: { isStateCheck?: boolean } = {}): Promise<{ id: string; isNew: boolean }> {
  const { rule, match, time } = raise;
  const openKey = openKeyOf(rule.id, match.subject);
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.$transaction(async (tx) => {
        const existing = await tx.alert.findUnique({ where: { openKey } });
        if (existing) {
          const now = new Date();
          const isThrottled = existing.lastNotifiedAt !== null && now.getTime() - existing.lastNotifiedAt.getTime() < rule.throttleMinutes * 60_000;
          const isSnoozed = existing.snoozedUntil !== null && existing.snoozedUntil > now;
          // A state check seeing the same state again is not news: only a new event is.
          const shouldNotify = !options.isStateCheck && !isThrottled && !isSnoozed && existing.status === "open";
          await tx.alert.update({
            where: { id: existing.id },
            data: {
              count: options.isStateCheck ? undefined : { increment: raise.increment },
              lastSeenAt: time > existing.lastSeenAt ? time : existing.lastSeenAt,
              ...(shouldNotify ? { lastNotifiedAt: now } : {}),
            },
          });
          if (!options.isStateCheck && existing.count < MAX_OCCURRENCES) await addOccurrences(tx, existing.id, raise, MAX_OCCURRENCES - existing.count);
          if (shouldNotify) await enqueueDeliveries(tx, existing.id, existing.severity as Severity, "repeated");
          return { id: existing.id, isNew: false };
        }
        const alert = await tx.alert.create({
          data: {
            ruleId: rule.id,
            subject: match.subject,
            openKey,
            severity: rule.severity,
            title: match.title.slice(0, 500),
            count: raise.increment,
            firstSeenAt: time,
            lastSeenAt: time,
            lastNotifiedAt: new Date(),
            auditFilter: eventsLink(rule, match, time),
          },
        });
        await addOccurrences(tx, alert.id, raise, MAX_OCCURRENCES);
        await enqueueDeliveries(tx, alert.id, rule.severity, "created");
        await appendAuditEvents(tx, [
          {
            id: randomUUID(),
            time: new Date(),
            kind: "alert",
            actorType: "system",
            actorId: null,
            actorLabel: "alert engine",
            action: "alert.raise",
            outcome: "success",
            targetType: "alert",
            targetId: alert.id,
            reasons: [match.title.slice(0, 1000)],
            data: { rule: rule.name, severity: rule.severity, subject: match.subject, count: raise.increment },
          },
        ]);
        return { id: alert.id, isNew: true };
      });
    } catch (error) {
      // Another process opened the same alert between our read and write: add to it instead.
      if (attempt === 0 && (error as { code?: string }).code === "P2002") continue;
      throw error;
    }
  }
}

/**
 * The explorer filters of an alert's "Events" link: the match's structured filters (never the
 * free-text `q`, which searches neither actors nor addresses), the rule's portal, server and tool
 * scope (event rules), and a range from the start of the window that counted the first events (an hour at least,
 * for events delivered late) with no end, so the events counted later are in it too.
 */
export function eventsLink(rule: { detector: Detector; params: Record<string, unknown>; scope: AlertScope }, match: Match, time: Date): Record<string, string> {
  const windowMinutes = typeof rule.params.windowMinutes === "number" ? rule.params.windowMinutes : 0;
  const from = new Date(time.getTime() - Math.max(60, windowMinutes) * 60_000).toISOString();
  // The scope narrows the events an event rule counts; the scheduled checks read no events.
  const { portal, server, tool } = eventDetectors.has(rule.detector) ? rule.scope : {};
  return { ...(portal ? { portal } : {}), ...(server ? { server } : {}), ...(tool ? { tool } : {}), ...match.auditFilter, from };
}

async function addOccurrences(tx: Tx, alertId: string, raise: Raise, room: number) {
  if (room <= 0) return;
  const detail = (raise.match.detail ?? undefined) as Prisma.InputJsonValue | undefined;
  // A scheduled check has no event behind it: one occurrence without an event id.
  const eventIds: Array<string | null> = raise.eventIds.length > 0 ? raise.eventIds.slice(0, room) : [null];
  await tx.alertOccurrence.createMany({ data: eventIds.map((eventId) => ({ alertId, eventId, time: raise.time, detail })) });
}

// ---- one engine per process, reached from both ingest paths

const ENGINE = Symbol.for("portico.alertEngine");
type Registry = { [ENGINE]?: AlertEngine };

/**
 * Installs the engine for this process (the control plane's server does on start; tests do).
 * Kept on globalThis: Next.js bundles its own copy of this module beside server.ts's.
 */
export function installAlertEngine(db: Db): AlertEngine {
  const engine = new AlertEngine(db);
  (globalThis as Registry)[ENGINE] = engine;
  void engine.start();
  return engine;
}

export function uninstallAlertEngine(): void {
  delete (globalThis as Registry)[ENGINE];
}

export function runningAlertEngine(): AlertEngine | undefined {
  return (globalThis as Registry)[ENGINE];
}

/**
 * The hook both ingest paths call once their events are written. Never throws and never waits:
 * alerting must not slow or fail the write of an audit event.
 */
export function observeAuditEvents(events: AuditEventInput[], isCommitted: boolean): void {
  const engine = (globalThis as Registry)[ENGINE];
  if (!engine) return;
  void engine.observe(events, isCommitted);
}
