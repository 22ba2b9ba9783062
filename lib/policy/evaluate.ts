import ipaddr from "ipaddr.js";

import type { ConfigSnapshot, SnapshotGrant, SnapshotRole } from "@/lib/config/snapshot";
import type { RiskClass } from "@/lib/schemas/common";

import type { RoleConditions, TimeWindow } from "./conditions";

/**
 * The policy evaluator: who may call which tool, now, from here. Pure (no I/O, the clock is an
 * argument), shared by the gateway, which enforces it, and the dashboard, which explains it.
 *
 * Least privilege: nothing is allowed unless a portal role that names the caller grants the tool's
 * risk class on that tool, and every condition of that role holds. A role that lists the risk class
 * under step-up lets the caller ask for elevated access instead of being refused; a token that
 * already carries the elevated scope (issued after a manager's approval) is allowed.
 */

export type Principal = {
  kind: "user" | "service_account";
  /** The user id, or the service account's client id. */
  subject: string;
  email: string | null;
  groups: string[];
  /** Whether this sign-in used a second factor. */
  mfa: boolean;
  scopes: string[];
};

export type PolicyRequest = {
  portal: string;
  server: string;
  /** The upstream's tool name, not the portal's alias. */
  tool: string;
  riskClass: RiskClass;
  sourceIp: string | null;
  /** The call's arguments; absent when listing tools, so argument-based conditions are not checked. */
  arguments?: Record<string, unknown>;
};

export type PolicyDecision =
  | { effect: "allow"; reasons: string[]; matchedRoles: string[] }
  | { effect: "deny"; reasons: string[]; matchedRoles: string[]; rule: DenyRule }
  | { effect: "step_up"; reasons: string[]; matchedRoles: string[]; requiredScope: string };

export type DenyRule = "least-privilege default" | "role conditions";

/** The scope a token must carry to use a step-up risk class without a new approval. */
export const elevatedScope = (riskClass: RiskClass) => `mcp:elevated:${riskClass}`;

type CompiledRole = {
  role: SnapshotRole;
  networks: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
};

export type Policy = {
  evaluate(principal: Principal, request: PolicyRequest, now: Date): PolicyDecision;
};

/** Parses what can be parsed once per config version (CIDRs), so each call is only comparisons. */
export function compilePolicy(roles: SnapshotRole[]): Policy {
  const compiled: CompiledRole[] = roles.map((role) => ({ role, networks: role.conditions.networks.map((c) => ipaddr.parseCIDR(c)) }));
  return { evaluate: (principal, request, now) => decide(compiled, principal, request, now) };
}

const compiledBySnapshot = new WeakMap<ConfigSnapshot, Policy>();

/** `(snapshot, principal, request, now)` → allow, deny or step-up, with the reasons. */
export function evaluate(snapshot: ConfigSnapshot, principal: Principal, request: PolicyRequest, now: Date): PolicyDecision {
  let policy = compiledBySnapshot.get(snapshot);
  if (!policy) compiledBySnapshot.set(snapshot, (policy = compilePolicy(snapshot.roles)));
  return policy.evaluate(principal, request, now);
}

function decide(roles: CompiledRole[], principal: Principal, request: PolicyRequest, now: Date): PolicyDecision {
  const mine = roles.filter((r) => namesPrincipal(r.role, principal));
  const where = `${request.riskClass} tool "${request.tool}" on ${request.server}`;
  if (mine.length === 0) {
    return { effect: "deny", rule: "least-privilege default", matchedRoles: [], reasons: [`no portal role includes ${describePrincipal(principal)}`] };
  }

  const granting: string[] = [];
  const stepUp: string[] = [];
  const failed: string[] = [];
  const failedRoles: string[] = [];
  for (const { role, networks } of mine) {
    const covering = role.grants.filter((g) => covers(g, request));
    const grants = covering.some((g) => g.riskClasses.includes(request.riskClass));
    const stepsUp = !grants && covering.length > 0 && role.stepUpRiskClasses.includes(request.riskClass);
    if (!grants && !stepsUp) continue;
    const failures = unmetConditions(role.conditions, networks, principal, request, now);
    if (failures.length > 0) {
      failedRoles.push(role.slug);
      failed.push(...failures.map((f) => `role "${role.name}": ${f}`));
    } else (grants ? granting : stepUp).push(role.slug);
  }

  if (granting.length > 0) {
    return { effect: "allow", matchedRoles: granting, reasons: granting.map((slug) => `role "${nameOf(mine, slug)}" grants ${where}`) };
  }
  if (stepUp.length > 0) {
    const requiredScope = elevatedScope(request.riskClass);
    const names = stepUp.map((slug) => `"${nameOf(mine, slug)}"`).join(", ");
    if (principal.scopes.includes(requiredScope)) {
      return { effect: "allow", matchedRoles: stepUp, reasons: [`elevated access (scope "${requiredScope}") approved for role ${names}`] };
    }
    return { effect: "step_up", matchedRoles: stepUp, requiredScope, reasons: [`role ${names} needs approved elevated access for ${where}`] };
  }
  if (failed.length > 0) return { effect: "deny", rule: "role conditions", matchedRoles: failedRoles, reasons: failed };
  return { effect: "deny", rule: "least-privilege default", matchedRoles: [], reasons: [`no role of yours grants ${where}`] };
}

const nameOf = (roles: CompiledRole[], slug: string) => roles.find((r) => r.role.slug === slug)!.role.name;

function namesPrincipal(role: SnapshotRole, principal: Principal): boolean {
  return role.principals.some((p) => {
    switch (p.kind) {
      case "group":
        return principal.groups.includes(p.value);
      case "user":
        return principal.kind === "user" && (p.value === principal.subject || (principal.email !== null && p.value.toLowerCase() === principal.email.toLowerCase()));
      case "service_account":
        return principal.kind === "service_account" && p.value === principal.subject;
    }
  });
}

function describePrincipal(principal: Principal): string {
  if (principal.kind === "service_account") return `service account ${principal.subject}`;
  return principal.email ?? `user ${principal.subject}`;
}

function covers(grant: SnapshotGrant, request: PolicyRequest): boolean {
  return (
    grant.portalSlug === request.portal &&
    (grant.serverSlug === null || grant.serverSlug === request.server) &&
    (grant.toolName === null || grant.toolName === request.tool)
  );
}

function unmetConditions(
  conditions: RoleConditions,
  networks: CompiledRole["networks"],
  principal: Principal,
  request: PolicyRequest,
  now: Date,
): string[] {
  const unmet: string[] = [];
  checkConditions(conditions, networks, principal, request, now, (check) => {
    if (!check.held) unmet.push(check.words);
  });
  return unmet;
}

export type ConditionCheck = { condition: "time window" | "network" | "mfa" | "look-back"; held: boolean; words: string };

/**
 * Every condition of a role that applies, held or not. The one place conditions are judged: the
 * gateway's decision keeps only the failures; the explainer shows them all. The words of a held
 * condition are built only when someone listens for them (the explainer), never on the hot path.
 */
function checkConditions(
  conditions: RoleConditions,
  networks: CompiledRole["networks"],
  principal: Principal,
  request: PolicyRequest,
  now: Date,
  report: (check: ConditionCheck) => void,
  isExplaining = false,
): void {
  if (conditions.timeWindows.length > 0) {
    const held = conditions.timeWindows.some((w) => isWithin(w, now));
    if (!held) report({ condition: "time window", held, words: `outside its hours (${conditions.timeWindows.map(describeWindow).join("; ")})` });
    else if (isExplaining) report({ condition: "time window", held, words: `within its hours (${conditions.timeWindows.map(describeWindow).join("; ")})` });
  }
  if (networks.length > 0) {
    const held = isFromNetworks(request.sourceIp, networks);
    if (!held) report({ condition: "network", held, words: `${request.sourceIp ?? "an unknown address"} is not in its networks (${conditions.networks.join(", ")})` });
    else if (isExplaining) report({ condition: "network", held, words: `${request.sourceIp} is in its networks (${conditions.networks.join(", ")})` });
  }
  // A person's second factor; a service account proves itself with a credential only it holds.
  if (conditions.mfaRequired) {
    const held = principal.kind !== "user" || principal.mfa;
    if (!held) report({ condition: "mfa", held, words: "requires a sign-in with MFA" });
    else if (isExplaining) report({ condition: "mfa", held, words: principal.kind === "user" ? "requires MFA, and the sign-in used it" : "requires MFA, which a service account's credential stands in for" });
  }
  if (conditions.maxLookbackDays !== null && request.arguments) {
    const days = lookbackDays(request.arguments, now);
    const held = days === null || days <= conditions.maxLookbackDays;
    if (!held) report({ condition: "look-back", held, words: `looks back ${days} days, more than its limit of ${conditions.maxLookbackDays}` });
    else if (isExplaining) report({ condition: "look-back", held, words: days === null ? `names no start date (limit ${conditions.maxLookbackDays} days)` : `looks back ${days} days, within its limit of ${conditions.maxLookbackDays}` });
  }
}

// ---- the explainer: the same decision, with every role and condition spelled out

export type RoleExplanation = {
  slug: string;
  name: string;
  /** Whether the role names this principal (group, user or service account). */
  isMember: boolean;
  /** A grant of the role covers this tool (portal, server, tool) with its risk class. */
  grantsTool: boolean;
  /** A grant covers the tool but not its risk class, which the role lets the caller step up to. */
  stepsUp: boolean;
  conditions: ConditionCheck[];
  /** In words: why this role does or does not let the caller through. */
  verdict: string;
};

export type Explanation = { decision: PolicyDecision; roles: RoleExplanation[] };

/**
 * `evaluate`'s decision, unchanged, plus each role of the snapshot judged by the same predicates
 * (membership, grant cover, conditions): what the dashboard's "can X call Y, and why?" shows.
 */
export function explain(snapshot: ConfigSnapshot, principal: Principal, request: PolicyRequest, now: Date): Explanation {
  const decision = evaluate(snapshot, principal, request, now);
  const roles = snapshot.roles.map((role): RoleExplanation => {
    const networks = role.conditions.networks.map((c) => ipaddr.parseCIDR(c));
    const isMember = namesPrincipal(role, principal);
    const covering = role.grants.filter((g) => covers(g, request));
    const grantsTool = covering.some((g) => g.riskClasses.includes(request.riskClass));
    const stepsUp = !grantsTool && covering.length > 0 && role.stepUpRiskClasses.includes(request.riskClass);
    const conditions: ConditionCheck[] = [];
    checkConditions(role.conditions, networks, principal, request, now, (c) => conditions.push(c), true);
    const failed = conditions.filter((c) => !c.held);
    let verdict: string;
    if (!isMember) verdict = `does not include ${describePrincipal(principal)}`;
    else if (!grantsTool && !stepsUp) verdict = covering.length ? `covers the tool but not its ${request.riskClass} risk class` : `grants nothing on ${request.server}/${request.tool} in portal ${request.portal}`;
    else if (failed.length) verdict = `would ${grantsTool ? "grant" : "allow step-up for"} it, but ${failed.map((c) => c.words).join("; ")}`;
    else verdict = grantsTool ? "grants it: every condition holds" : `allows asking for elevated ${request.riskClass} access: every condition holds`;
    return { slug: role.slug, name: role.name, isMember, grantsTool, stepsUp, conditions, verdict };
  });
  return { decision, roles };
}

// ---- time windows: wall-clock time in the window's zone, so DST moves with the clock on the wall

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** ISO weekday (1 = Monday) and minutes since midnight at `now` in `timeZone`. */
export function wallClock(now: Date, timeZone: string): { weekday: number; minutes: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, format);
  }
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of format.formatToParts(now)) {
    if (part.type === "weekday") weekday = WEEKDAYS.indexOf(part.value as (typeof WEEKDAYS)[number]) + 1;
    else if (part.type === "hour") hour = Number(part.value);
    else if (part.type === "minute") minute = Number(part.value);
  }
  return { weekday, minutes: hour * 60 + minute };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Start inclusive, end exclusive. A window whose end is before its start runs past midnight and
 * belongs to the day it starts on: Friday 22:00–02:00 covers Saturday 01:00.
 */
export function isWithin(window: TimeWindow, now: Date): boolean {
  const { weekday, minutes } = wallClock(now, window.timeZone);
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  if (start < end) return window.days.includes(weekday) && minutes >= start && minutes < end;
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  return (window.days.includes(weekday) && minutes >= start) || (window.days.includes(yesterday) && minutes < end);
}

function describeWindow(window: TimeWindow): string {
  const days = [...window.days].sort((a, b) => a - b).map((d) => WEEKDAYS[d - 1]);
  return `${days.join(", ")} ${window.start}–${window.end} ${window.timeZone}`;
}

// ---- networks

function isFromNetworks(sourceIp: string | null, networks: CompiledRole["networks"]): boolean {
  if (!sourceIp || !ipaddr.isValid(sourceIp)) return false;
  let address = ipaddr.parse(sourceIp);
  // A v4 client seen through a dual-stack socket arrives as ::ffff:a.b.c.d.
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
  return networks.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
}

// ---- look-back: how far back a cost query reaches, from its start date

const LOOKBACK_ARGUMENTS = ["start", "startDate", "start_date", "from", "since"];
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/;
const DAY_MS = 86_400_000;

/** Whole days between the query's start date and today (UTC); null when the call names none. */
export function lookbackDays(args: Record<string, unknown>, now: Date): number | null {
  for (const key of LOOKBACK_ARGUMENTS) {
    const value = args[key];
    if (typeof value !== "string") continue;
    const match = ISO_DATE.exec(value);
    if (!match) continue;
    const start = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    if (Number.isNaN(start)) continue;
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    return Math.max(0, Math.round((today - start) / DAY_MS));
  }
  return null;
}
