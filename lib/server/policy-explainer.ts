import "server-only";
import { configSnapshot, type ConfigSnapshot, type SnapshotRole } from "@/lib/config/snapshot";
import { roleConditions } from "@/lib/policy/conditions";
import { evaluate, explain, type Explanation, type PolicyDecision, type Principal, type PolicyRequest } from "@/lib/policy/evaluate";
import { explainInput, simulateInput, type ExplainPrincipal } from "@/lib/schemas/policy";
import { AppError, notFound } from "@/lib/errors";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";

/**
 * "Can X call Y, and why?" and "what if?": the very evaluator the gateway runs (lib/policy), on
 * the snapshot gateways run (or an older one, or the live one with a draft role in it). Nothing
 * here decides on its own; it only builds the principal, the request and the snapshot.
 */

async function loadSnapshot(db: Db, version?: number): Promise<ConfigSnapshot> {
  const row = version
    ? await db.configVersion.findUnique({ where: { version }, select: { snapshot: true } })
    : await db.configVersion.findFirst({ orderBy: { version: "desc" }, select: { snapshot: true } });
  if (!row) throw version ? notFound(`Config version ${version}`) : new AppError("conflict", "No config version has been published yet");
  return configSnapshot.parse(row.snapshot);
}

async function principalOf(db: Db, who: ExplainPrincipal, mfa: boolean): Promise<Principal & { label: string }> {
  switch (who.kind) {
    case "user": {
      const user = await db.user.findUnique({ where: { email: who.email }, select: { id: true, email: true, idpGroups: true } });
      // A person who has not signed in yet is still a principal: the role may name their email.
      return { kind: "user", subject: user?.id ?? who.email, email: who.email, groups: who.groups ?? user?.idpGroups ?? [], mfa, scopes: [], label: who.email };
    }
    case "groups":
      return { kind: "user", subject: "(any member)", email: null, groups: who.groups, mfa, scopes: [], label: `a member of ${who.groups.join(", ")}` };
    case "service_account":
      return { kind: "service_account", subject: who.clientId, email: null, groups: [], mfa: false, scopes: [], label: `service account ${who.clientId}` };
  }
}

type OfferedTool = { portal: string; server: string; tool: string; exposedName: string; riskClass: PolicyRequest["riskClass"] };

function toolsOf(snapshot: ConfigSnapshot, portalSlug: string): OfferedTool[] {
  const portal = snapshot.portals.find((p) => p.slug === portalSlug);
  if (!portal) return [];
  return portal.servers.flatMap((s) => s.tools.map((t) => ({ portal: portal.slug, server: s.slug, tool: t.name, exposedName: t.exposedName, riskClass: t.riskClass })));
}

export type VisibleTool = { exposedName: string; server: string; riskClass: string; effect: "allow" | "step_up" };

export type ExplainResult = Explanation & {
  version: number;
  at: string;
  principal: string;
  tool: { exposedName: string; server: string; name: string; riskClass: string };
  /** What tools/list would show this principal in the portal at that time (the gateway shows what is not denied). */
  visibleTools: VisibleTool[];
};

function explainOn(snapshot: ConfigSnapshot, principal: Principal & { label: string }, input: { portal: string; tool: string; sourceIp: string | null }, at: Date): ExplainResult {
  if (!snapshot.portals.some((p) => p.slug === input.portal)) throw new AppError("validation_failed", `No portal ${input.portal} in version ${snapshot.version}`, [{ field: "portal", message: "Unknown portal" }]);
  const offered = toolsOf(snapshot, input.portal);
  // By the name clients see, or by `<server>_<tool>` when the portal gives it an alias.
  const tool = offered.find((t) => t.exposedName === input.tool) ?? offered.find((t) => `${t.server}_${t.tool}` === input.tool);
  if (!tool) throw new AppError("validation_failed", `Portal ${input.portal} does not offer a tool ${input.tool} in version ${snapshot.version}`, [{ field: "tool", message: "Not offered in this portal" }]);
  const request = (t: OfferedTool): PolicyRequest => ({ portal: t.portal, server: t.server, tool: t.tool, riskClass: t.riskClass, sourceIp: input.sourceIp });
  const explanation = explain(snapshot, principal, request(tool), at);
  const visibleTools = offered.flatMap((t): VisibleTool[] => {
    const effect = evaluate(snapshot, principal, request(t), at).effect;
    return effect === "deny" ? [] : [{ exposedName: t.exposedName, server: t.server, riskClass: t.riskClass, effect }];
  });
  return {
    ...explanation,
    version: snapshot.version,
    at: at.toISOString(),
    principal: principal.label,
    tool: { exposedName: tool.exposedName, server: tool.server, name: tool.tool, riskClass: tool.riskClass },
    visibleTools,
  };
}

/** POST /api/v1/policy/explain. */
export async function explainPolicy(db: Db, actor: Actor, raw: unknown): Promise<ExplainResult> {
  authorize(actor, "config:read");
  const input = explainInput.parse(raw);
  const snapshot = await loadSnapshot(db, input.version);
  const principal = await principalOf(db, input.principal, input.mfa);
  return explainOn(snapshot, principal, input, input.at ? new Date(input.at) : new Date());
}

// ---- what-if

/** The live snapshot with one role replaced by (or added as) a draft from the role form. */
async function withDraftRole(db: Db, live: ConfigSnapshot, roleId: string | null, draft: ReturnType<typeof simulateInput.parse>["against"] & { kind: "draft_role" }): Promise<ConfigSnapshot> {
  const existing = roleId ? await db.portalRole.findUnique({ where: { id: roleId }, select: { slug: true } }) : null;
  if (roleId && !existing) throw notFound("Role");
  const portalIds = [...new Set(draft.role.grants.map((g) => g.portalId))];
  const portals = await db.portal.findMany({ where: { id: { in: portalIds } }, select: { id: true, slug: true } });
  if (portals.length !== portalIds.length) throw new AppError("validation_failed", "A grant names a portal that does not exist", [{ field: "grants", message: "Unknown portal" }]);
  const slugOf = new Map(portals.map((p) => [p.id, p.slug]));
  const role: SnapshotRole = {
    slug: draft.role.slug,
    name: draft.role.name,
    principals: draft.role.principals.map((p) => ({ kind: p.kind, value: p.value })),
    grants: draft.role.grants.map((g) => ({ portalSlug: slugOf.get(g.portalId)!, serverSlug: g.serverSlug, toolName: g.toolName, riskClasses: g.riskClasses })),
    stepUpRiskClasses: draft.role.stepUpRiskClasses,
    conditions: roleConditions.parse(draft.role.conditions),
  };
  // Service accounts hold their role by mirroring (lib/server/roles.ts): a draft keeps them.
  const current = live.roles.find((r) => r.slug === (existing?.slug ?? role.slug));
  if (current) role.principals = [...role.principals.filter((p) => p.kind !== "service_account"), ...current.principals.filter((p) => p.kind === "service_account")];
  const others = live.roles.filter((r) => r.slug !== existing?.slug && r.slug !== role.slug);
  return { ...live, roles: [...others, role] };
}

export type AccessChange = {
  principal: string;
  portal: string;
  tool: string;
  calls: number;
  lastCall: string;
  before: PolicyDecision["effect"] | "not offered";
  after: PolicyDecision["effect"] | "not offered";
  change: "loses" | "gains" | "changes";
  /** Why, under the draft. */
  reasons: string[];
};

export type SimulateResult = {
  against: string;
  days: number;
  /** Distinct principal × tool pairs replayed. */
  replayed: number;
  changes: AccessChange[];
  question?: { live: ExplainResult; draft: ExplainResult };
  assumptions: string[];
};

const MAX_REPLAYED_EVENTS = 50_000;
const rank = { allow: 2, step_up: 1, deny: 0, "not offered": 0 } as const;

/**
 * POST /api/v1/policy/simulate: replays every principal's tool calls of the last `days` (from the
 * audit log) against the live policy and against the draft or older version, and lists who would
 * lose or gain what. Each distinct call is judged at the time and from the address it was made.
 */
export async function simulatePolicy(db: Db, actor: Actor, raw: unknown): Promise<SimulateResult> {
  authorize(actor, "config:read");
  const input = simulateInput.parse(raw);
  const live = await loadSnapshot(db);
  const candidate = input.against.kind === "version" ? await loadSnapshot(db, input.against.version) : await withDraftRole(db, live, input.against.roleId, input.against);
  const against = input.against.kind === "version" ? `version ${input.against.version}` : `the draft of role ${input.against.role.name}`;

  const since = new Date(Date.now() - input.days * 86_400_000);
  const events = await db.auditEvent.findMany({
    where: { kind: "mcp.request", action: "tools/call", time: { gte: since }, actorId: { not: null }, actorType: { in: ["user", "service_account"] }, portal: { not: null }, server: { not: null }, tool: { not: null } },
    select: { actorType: true, actorId: true, actorLabel: true, portal: true, server: true, tool: true, time: true, sourceIp: true },
    orderBy: { time: "desc" },
    take: MAX_REPLAYED_EVENTS,
  });
  type Group = { event: (typeof events)[number]; calls: number };
  const groups = new Map<string, Group>();
  for (const e of events) {
    const key = [e.actorType, e.actorId, e.portal, e.server, e.tool].join("\u0000");
    const group = groups.get(key);
    if (group) group.calls++;
    else groups.set(key, { event: e, calls: 1 });
  }
  const userIds = [...new Set(events.filter((e) => e.actorType === "user").map((e) => e.actorId!))];
  const users = new Map((await db.user.findMany({ where: { id: { in: userIds } }, select: { id: true, email: true, idpGroups: true } })).map((u) => [u.id, u]));

  const find = (snapshot: ConfigSnapshot, e: Group["event"]) => toolsOf(snapshot, e.portal!).find((t) => t.server === e.server && (t.tool === e.tool || t.exposedName === e.tool));
  const judge = (snapshot: ConfigSnapshot, principal: Principal, e: Group["event"]) => {
    const tool = find(snapshot, e);
    if (!tool) return { effect: "not offered" as const, reasons: [`${e.tool} is not offered in portal ${e.portal}`] };
    const decision = evaluate(snapshot, principal, { portal: tool.portal, server: tool.server, tool: tool.tool, riskClass: tool.riskClass, sourceIp: e.sourceIp }, e.time);
    return { effect: decision.effect, reasons: decision.reasons, exposedName: tool.exposedName };
  };

  const changes: AccessChange[] = [];
  for (const { event: e, calls } of groups.values()) {
    const user = e.actorType === "user" ? users.get(e.actorId!) : undefined;
    const principal: Principal =
      e.actorType === "service_account"
        ? { kind: "service_account", subject: e.actorId!, email: null, groups: [], mfa: false, scopes: [] }
        : { kind: "user", subject: e.actorId!, email: user?.email ?? e.actorLabel, groups: user?.idpGroups ?? [], mfa: true, scopes: [] };
    const before = judge(live, principal, e);
    const after = judge(candidate, principal, e);
    if (before.effect === after.effect) continue;
    changes.push({
      principal: user?.email ?? e.actorLabel ?? e.actorId!,
      portal: e.portal!,
      tool: after.exposedName ?? before.exposedName ?? e.tool!,
      calls,
      lastCall: e.time.toISOString(),
      before: before.effect,
      after: after.effect,
      change: rank[after.effect] < rank[before.effect] ? "loses" : rank[after.effect] > rank[before.effect] ? "gains" : "changes",
      reasons: after.reasons,
    });
  }
  changes.sort((a, b) => a.principal.localeCompare(b.principal) || a.tool.localeCompare(b.tool));

  let question: SimulateResult["question"];
  if (input.question) {
    const q = input.question;
    const principal = await principalOf(db, q.principal, q.mfa);
    const at = q.at ? new Date(q.at) : new Date();
    question = { live: explainOn(live, principal, q, at), draft: explainOn(candidate, principal, q, at) };
  }
  return {
    against,
    days: input.days,
    replayed: groups.size,
    changes,
    question,
    assumptions: [
      "Each call is judged at the time and from the address it was made, with the caller's current IdP groups.",
      "A person's sign-in is taken to have used MFA (the audit log does not record it), so only what the change itself does shows.",
      ...(events.length === MAX_REPLAYED_EVENTS ? [`Only the latest ${MAX_REPLAYED_EVENTS} calls were replayed.`] : []),
    ],
  };
}

export type ExplainerOptions = { version: number | null; portals: { slug: string; name: string; tools: { exposedName: string; riskClass: string }[] }[] };

/** The portals and tools of the live version, for the explainer's pickers. */
export async function explainerOptions(db: Db, actor: Actor): Promise<ExplainerOptions> {
  authorize(actor, "config:read");
  const row = await db.configVersion.findFirst({ orderBy: { version: "desc" }, select: { snapshot: true } });
  const parsed = configSnapshot.safeParse(row?.snapshot);
  if (!parsed.success) return { version: null, portals: [] };
  return {
    version: parsed.data.version,
    portals: parsed.data.portals.map((p) => ({ slug: p.slug, name: p.name, tools: toolsOf(parsed.data, p.slug).map((t) => ({ exposedName: t.exposedName, riskClass: t.riskClass })) })),
  };
}
