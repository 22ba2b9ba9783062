import "server-only";
import { createHash, randomUUID } from "node:crypto";
import { z } from "zod";
import { AppError, forbidden, notFound } from "@/lib/errors";
import { argumentsHash, type SnapshotElevatedGrant } from "@/lib/config/elevated-grants";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Page, RiskClass } from "@/lib/schemas/common";
import {
  approveStepUpRequestInput,
  createStepUpRequestInput,
  denyStepUpRequestInput,
  listElevatedGrantsParams,
  listStepUpRequestsParams,
  PER_CALL_GRANT_MINUTES,
  stepUpDurations,
  type ElevatedGrantView,
  type GrantStatus,
  type RecentActivity,
  type StepUpRequestView,
  type StepUpStatus,
} from "@/lib/schemas/step-up";
import type { Db } from "./db/client";
import { authorize, can, type Actor } from "./auth/actor";
import { actorFields, appendAuditEvents } from "./audit";
import { pageArgs, toPage, iso } from "./pagination";
import { OFFLINE_AFTER_MS } from "./gateways";
import { announceStepUpRequest } from "./step-up-webhook";

type Tx = Prisma.TransactionClient;

/**
 * Step-up: requests for elevated access, their decisions, and the grants they make.
 *
 *   request: pending → approved | denied | expired | withdrawn (never reopened)
 *   grant:   active → ended (its end time) | revoked | used (per call, once)
 *
 * Every transition is one transaction that checks the state it leaves (so two approvers racing
 * make one grant, not two) and writes its audit event. Time is an argument (`now`) everywhere, so
 * tests move the clock instead of waiting; an expired request or ended grant is read as such from
 * its dates even before `sweepStepUps` has written it down.
 *
 * Gateways learn of grants from the config snapshot (`activeGrantsForSnapshot`); the route
 * handlers publish a new version after each approval, revocation and sweep that changed anything.
 */

export const PENDING_MINUTES_DEFAULT = 30;
/** A flood of requests from one requester is refused: this many in the window, then 429. */
export const RATE_LIMIT = { count: 5, windowMs: 10 * 60_000 };
const RECENT_ACTIVITY = 5;
// Every request-filing transaction for one requester takes this lock, so the "one pending request"
// check and the insert cannot interleave with another filing.
const FILE_LOCK_PREFIX = "portico/step-up/file";

/** Who files a request: a signed-in person (the authorization page, the dashboard) or a service account. */
export type Requester =
  | { kind: "user"; userId: string; email: string; groups: string[]; requestId?: string; ip?: string }
  | { kind: "service_account"; clientId: string; name: string; requestId?: string; ip?: string };

const requesterId = (r: Requester) => (r.kind === "user" ? r.userId : r.clientId);
const requesterLabel = (r: Requester) => (r.kind === "user" ? r.email : r.name);

export function pendingMinutes(): number {
  const raw = Number(process.env.PORTICO_STEP_UP_PENDING_MINUTES);
  return Number.isInteger(raw) && raw > 0 && raw <= 24 * 60 ? raw : PENDING_MINUTES_DEFAULT;
}

/** The durations a role allows, shortest first. */
export const allowedDurations = (maxMinutes: number) => stepUpDurations.filter((m) => m <= maxMinutes);

function parse<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new AppError(
      "validation_failed",
      "Some fields are not valid",
      result.error.issues.map((i) => ({ field: i.path.join(".") || "body", message: i.message })),
    );
  }
  return result.data;
}

const roleInclude = { principals: true, grants: true } as const satisfies Prisma.PortalRoleInclude;
type RoleRow = Prisma.PortalRoleGetPayload<{ include: typeof roleInclude }>;

function namesRequester(role: Pick<RoleRow, "principals">, requester: Requester): boolean {
  return role.principals.some((p) => {
    if (requester.kind === "service_account") return p.kind === "service_account" && p.value === requester.clientId;
    if (p.kind === "group") return requester.groups.includes(p.value);
    return p.kind === "user" && (p.value === requester.userId || p.value.toLowerCase() === requester.email.toLowerCase());
  });
}

/**
 * The portal role under which this requester may ask for `riskClass` on `portalId`: one that names
 * them, grants something on the portal and lists the risk class under step-up. The first by slug,
 * so the same request always lands with the same approvers.
 */
export async function findStepUpRole(db: Tx | Db, requester: Requester, portalId: string, riskClass: RiskClass): Promise<RoleRow | null> {
  // The risk class is matched here, not with an array filter in SQL: the embedded database's
  // adapter refuses `has` on an enum array ("malformed array literal") when it runs from files.
  const roles = await db.portalRole.findMany({ where: { grants: { some: { portalId } } }, include: roleInclude, orderBy: { slug: "asc" } });
  return roles.find((r) => r.stepUpRiskClasses.includes(riskClass) && namesRequester(r, requester)) ?? null;
}

/** A portal and risk class the requester may ask for, under the role `findStepUpRole` would pick. */
export type StepUpOption = { portal: { slug: string; name: string }; riskClass: RiskClass; roleName: string; isPerCall: boolean };

/**
 * Everything the requester may ask for (the My access page's "Request elevated access"), chosen as
 * `findStepUpRole` chooses: the first role by slug that names them, grants something on the portal
 * and lists the risk class. Per-call ones are listed too, though only a client can file them (the
 * request carries the call's exact arguments).
 */
export async function listStepUpOptions(db: Db, requester: Requester): Promise<StepUpOption[]> {
  const roles = await db.portalRole.findMany({
    include: { principals: true, grants: { include: { portal: { select: { slug: true, name: true } } } } },
    orderBy: { slug: "asc" },
  });
  const options = new Map<string, StepUpOption>();
  for (const role of roles) {
    if (role.stepUpRiskClasses.length === 0 || !namesRequester(role, requester)) continue;
    for (const grant of role.grants) {
      for (const riskClass of role.stepUpRiskClasses) {
        const key = `${grant.portal.slug}/${riskClass}`;
        if (!options.has(key)) options.set(key, { portal: grant.portal, riskClass, roleName: role.name, isPerCall: role.perCallRiskClasses.includes(riskClass) });
      }
    }
  }
  return [...options.values()].sort((a, b) => a.portal.name.localeCompare(b.portal.name) || a.riskClass.localeCompare(b.riskClass));
}

/** The requester as the authorization page sees a signed-in user. */
export async function userRequester(db: Db, userId: string, context: { requestId?: string; ip?: string } = {}): Promise<Requester> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { id: true, email: true, idpGroups: true, disabled: true } });
  if (!user || user.disabled) throw new AppError("unauthorized", "Sign in again");
  return { kind: "user", userId: user.id, email: user.email, groups: user.idpGroups, ...context };
}

function requesterAudit(r: Requester): Pick<AuditEventInput, "actorType" | "actorId" | "actorLabel" | "requestId" | "sourceIp"> {
  return { actorType: r.kind, actorId: requesterId(r), actorLabel: requesterLabel(r), requestId: r.requestId ?? null, sourceIp: r.ip ?? null };
}

type StepUpKind = "requested" | "approved" | "denied" | "withdrawn" | "revoked" | "expired";
const ACTIONS: Record<StepUpKind, string> = {
  requested: "stepup.request",
  approved: "stepup.approve",
  denied: "stepup.deny",
  withdrawn: "stepup.withdraw",
  revoked: "stepup.revoke",
  expired: "stepup.expire",
};

/** Who a step-up event names: the requester, a deciding person, or time itself (expiry). */
type EventBy = { requester: Requester } | { actor: Actor } | "expiry";

function byFields(by: EventBy): Pick<AuditEventInput, "actorType" | "actorId" | "actorLabel" | "requestId" | "sourceIp"> {
  if (by === "expiry") return { actorType: "system", actorId: null, actorLabel: "step-up expiry", requestId: null, sourceIp: null };
  if ("requester" in by) return requesterAudit(by.requester);
  return { ...actorFields(by.actor), requestId: by.actor.requestId ?? null, sourceIp: by.actor.ip ?? null };
}

/**
 * One `stepup.*` audit event: its action follows from the kind (a grant's end is `stepup.grant_end`),
 * its actor from who did it, and it always succeeds (a refusal writes nothing). `data` names the
 * request and, once there is one, the grant, which is what links the chain in the explorer.
 */
function stepUpEvent(
  kind: StepUpKind,
  by: EventBy,
  time: Date,
  target: { type: "step_up_request" | "elevated_grant"; id: string; portal: string; server?: string | null; tool?: string | null },
  fields: { reasons?: string[]; data: Record<string, unknown> },
): AuditEventInput {
  return {
    id: randomUUID(),
    time,
    kind: `stepup.${kind}`,
    ...byFields(by),
    action: kind === "expired" && target.type === "elevated_grant" ? "stepup.grant_end" : ACTIONS[kind],
    outcome: "success",
    targetType: target.type,
    targetId: target.id,
    portal: target.portal,
    ...(target.server !== undefined ? { server: target.server } : {}),
    ...(target.tool !== undefined ? { tool: target.tool } : {}),
    ...(fields.reasons ? { reasons: fields.reasons } : {}),
    data: fields.data,
  };
}

// ---- filing

const requestInclude = {
  portal: { select: { id: true, slug: true, name: true } },
  role: { select: { id: true, slug: true, name: true, stepUpApprovers: true } },
  grant: { select: { id: true, status: true, endsAt: true } },
} as const satisfies Prisma.StepUpRequestInclude;
type RequestRow = Prisma.StepUpRequestGetPayload<{ include: typeof requestInclude }>;

/**
 * Files a request. Refused, with nothing written: a portal or risk class the requester's roles do
 * not list under step-up, a duration outside the role's range, a second pending request for the
 * same portal and risk class (409, naming the first), a flood (429).
 */
export async function fileStepUpRequest(db: Db, requester: Requester, raw: unknown, now = new Date()): Promise<StepUpRequestView> {
  const input = parse(createStepUpRequestInput, raw);
  const portal = await db.portal.findUnique({ where: { slug: input.portal }, select: { id: true, slug: true } });
  if (!portal) throw new AppError("validation_failed", "No such portal", [{ field: "portal", message: "No such portal" }]);
  const role = await findStepUpRole(db, requester, portal.id, input.riskClass);
  if (!role) throw forbidden(`None of your roles on portal "${portal.slug}" lets you ask for elevated ${input.riskClass} access`);

  const isPerCall = role.perCallRiskClasses.includes(input.riskClass);
  if (isPerCall && (!input.server || !input.tool || !input.arguments)) {
    throw new AppError("validation_failed", `${input.riskClass} calls are approved one by one: name the server, the tool and its exact arguments`, [
      { field: "arguments", message: "Required for a per-call approval" },
    ]);
  }
  const durationMinutes = isPerCall ? PER_CALL_GRANT_MINUTES : input.durationMinutes;
  if (!isPerCall && input.durationMinutes > role.stepUpMaxMinutes) {
    throw new AppError("validation_failed", `Role "${role.name}" allows at most ${role.stepUpMaxMinutes} minutes`, [
      { field: "durationMinutes", message: `Pick ${allowedDurations(role.stepUpMaxMinutes).join(", ") || "a shorter window"} minutes` },
    ]);
  }

  const id = requesterId(requester);
  const filed = await db.$transaction(async (tx) => {
    const lockKey = createHash("sha256").update(`${FILE_LOCK_PREFIX}\u0000${requester.kind}\u0000${id}`).digest().readBigInt64BE(0);
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${lockKey})`;
    await expireDue(tx, now, { requesterKind: requester.kind, requesterId: id });
    const recent = await tx.stepUpRequest.count({
      where: { requesterKind: requester.kind, requesterId: id, createdAt: { gt: new Date(now.getTime() - RATE_LIMIT.windowMs) } },
    });
    if (recent >= RATE_LIMIT.count) throw new AppError("rate_limited", `Too many step-up requests: at most ${RATE_LIMIT.count} in ${RATE_LIMIT.windowMs / 60_000} minutes`);
    const pending = await tx.stepUpRequest.findFirst({
      where: { requesterKind: requester.kind, requesterId: id, portalId: portal.id, riskClass: input.riskClass, status: "pending" },
      select: { id: true },
    });
    if (pending) throw new AppError("conflict", `You already have a pending ${input.riskClass} request on this portal (${pending.id})`);

    const row = await tx.stepUpRequest.create({
      data: {
        requesterKind: requester.kind,
        requesterId: id,
        requesterLabel: requesterLabel(requester),
        portalId: portal.id,
        roleId: role.id,
        riskClass: input.riskClass,
        serverSlug: input.server ?? null,
        toolName: input.tool ?? null,
        isPerCall,
        argumentsHash: isPerCall ? argumentsHash(input.arguments) : null,
        arguments: isPerCall ? (input.arguments as Prisma.InputJsonValue) : undefined,
        reason: input.reason,
        durationMinutes,
        expiresAt: new Date(now.getTime() + pendingMinutes() * 60_000),
        createdAt: now,
      },
      include: requestInclude,
    });
    await appendAuditEvents(tx, [
      stepUpEvent("requested", { requester }, now, { type: "step_up_request", id: row.id, portal: portal.slug, server: row.serverSlug, tool: row.toolName }, {
        reasons: [input.reason],
        data: { requestId: row.id, riskClass: row.riskClass, durationMinutes, isPerCall, roleSlug: role.slug },
      }),
    ]);
    return toRequestView(row, null, now);
  });
  // Approvers hear of it once it is committed; the requester never waits on their receiver.
  void announceStepUpRequest(db, filed);
  return filed;
}

// ---- deciding

type Decider = { actorId: string; label: string; email: string; groups: string[] };

async function deciderOf(db: Tx | Db, actor: Actor): Promise<Decider> {
  if (actor.type === "system") throw forbidden("Step-up requests are decided by people");
  const user = await db.user.findUnique({ where: { id: actor.userId }, select: { idpGroups: true } });
  return { actorId: actor.userId, label: actor.email, email: actor.email, groups: user?.idpGroups ?? [] };
}

/** Why this person may not decide this request, or null when they may. */
function cannotDecide(row: Pick<RequestRow, "requesterKind" | "requesterId" | "role">, decider: Decider | null): string | null {
  if (!decider) return "Only approvers and admins decide step-up requests";
  // Separation of duties: no one approves their own elevated access, admins included.
  if (row.requesterKind === "user" && row.requesterId === decider.actorId) return "You filed this request: someone else must decide it (separation of duties)";
  const approvers = row.role.stepUpApprovers;
  if (approvers.length > 0) {
    const isNamed = approvers.some((a) => a.toLowerCase() === decider.email.toLowerCase() || decider.groups.includes(a));
    if (!isNamed) return `Role "${row.role.name}" names its own approvers, and you are not one of them`;
  }
  return null;
}

/** Writes down (and audits) this request's expiry if its time ran out, in a transaction of its own that a refusal cannot roll back. */
const expireIfDue = (db: Db, id: string, now: Date) => db.$transaction((tx) => expireDue(tx, now, { id }));

async function lockedPending(tx: Tx, id: string, now: Date): Promise<RequestRow> {
  // Row lock: a second approver waits here and then finds the request no longer pending.
  await tx.$queryRaw`SELECT id FROM "StepUpRequest" WHERE id = ${id} FOR UPDATE`;
  const row = await tx.stepUpRequest.findUnique({ where: { id }, include: requestInclude });
  if (!row) throw notFound("Step-up request");
  if (row.status === "expired" || (row.status === "pending" && row.expiresAt <= now)) throw new AppError("conflict", "This request expired before it was decided");
  if (row.status !== "pending") throw new AppError("conflict", `This request was already ${row.status}`);
  return row;
}

export async function approveStepUpRequest(db: Db, actor: Actor, id: string, raw: unknown, now = new Date()): Promise<StepUpRequestView> {
  authorize(actor, "approvals:decide");
  const input = parse(approveStepUpRequestInput, raw ?? {});
  const decider = await deciderOf(db, actor);
  await expireIfDue(db, id, now);
  return db.$transaction(async (tx) => {
    const row = await lockedPending(tx, id, now);
    const refusal = cannotDecide(row, decider);
    if (refusal) throw forbidden(refusal);
    const minutes = input.durationMinutes ?? row.durationMinutes;
    if (minutes > row.durationMinutes) {
      throw new AppError("validation_failed", "An approval may shorten the window, never lengthen it", [
        { field: "durationMinutes", message: `At most ${row.durationMinutes} minutes, as asked` },
      ]);
    }
    const grant = await tx.elevatedGrant.create({
      data: {
        requestId: row.id,
        principalKind: row.requesterKind,
        principalId: row.requesterId,
        portalSlug: row.portal.slug,
        riskClass: row.riskClass,
        serverSlug: row.serverSlug,
        toolName: row.toolName,
        isPerCall: row.isPerCall,
        argumentsHash: row.argumentsHash,
        startsAt: now,
        endsAt: new Date(now.getTime() + minutes * 60_000),
      },
    });
    const updated = await tx.stepUpRequest.update({
      where: { id },
      data: { status: "approved", decidedById: decider.actorId, decidedByLabel: decider.label, decidedAt: now, decisionNote: input.note ?? null, durationMinutes: minutes },
      include: requestInclude,
    });
    await appendAuditEvents(tx, [
      stepUpEvent("approved", { actor }, now, { type: "step_up_request", id: row.id, portal: row.portal.slug, server: row.serverSlug, tool: row.toolName }, {
        reasons: input.note ? [input.note] : [],
        data: { requestId: row.id, grantId: grant.id, requester: row.requesterLabel, riskClass: row.riskClass, durationMinutes: minutes, endsAt: grant.endsAt.toISOString() },
      }),
    ]);
    return toRequestView(updated, decider, now);
  });
}

export async function denyStepUpRequest(db: Db, actor: Actor, id: string, raw: unknown, now = new Date()): Promise<StepUpRequestView> {
  authorize(actor, "approvals:decide");
  const input = parse(denyStepUpRequestInput, raw ?? {});
  const decider = await deciderOf(db, actor);
  await expireIfDue(db, id, now);
  return db.$transaction(async (tx) => {
    const row = await lockedPending(tx, id, now);
    const refusal = cannotDecide(row, decider);
    if (refusal) throw forbidden(refusal);
    const updated = await tx.stepUpRequest.update({
      where: { id },
      data: { status: "denied", decidedById: decider.actorId, decidedByLabel: decider.label, decidedAt: now, decisionNote: input.note },
      include: requestInclude,
    });
    await appendAuditEvents(tx, [
      stepUpEvent("denied", { actor }, now, { type: "step_up_request", id: row.id, portal: row.portal.slug, server: row.serverSlug, tool: row.toolName }, {
        reasons: [input.note],
        data: { requestId: row.id, requester: row.requesterLabel, riskClass: row.riskClass },
      }),
    ]);
    return toRequestView(updated, decider, now);
  });
}

/** The requester takes back a pending request (the authorization page's Cancel). */
export async function withdrawStepUpRequest(db: Db, requester: Requester, id: string, now = new Date()): Promise<StepUpRequestView> {
  return db.$transaction(async (tx) => {
    const row = await lockedPending(tx, id, now);
    if (row.requesterKind !== requester.kind || row.requesterId !== requesterId(requester)) throw notFound("Step-up request");
    const updated = await tx.stepUpRequest.update({ where: { id }, data: { status: "withdrawn", decidedAt: now }, include: requestInclude });
    await appendAuditEvents(tx, [
      stepUpEvent("withdrawn", { requester }, now, { type: "step_up_request", id: row.id, portal: row.portal.slug }, { data: { requestId: row.id } }),
    ]);
    return toRequestView(updated, null, now);
  });
}

// ---- reading

const requesterOf = (actor: Actor): { kind: string; id: string } | null => (actor.type === "system" ? null : { kind: "user", id: actor.userId });

function toRequestView(row: RequestRow, decider: Decider | null, now: Date): StepUpRequestView {
  const status: StepUpStatus = row.status === "pending" && row.expiresAt <= now ? "expired" : (row.status as StepUpStatus);
  const refusal = status === "pending" ? cannotDecide(row, decider) : "This request is no longer pending";
  return {
    id: row.id,
    requester: { kind: row.requesterKind as "user" | "service_account", id: row.requesterId, label: row.requesterLabel },
    portal: row.portal,
    role: { id: row.role.id, slug: row.role.slug, name: row.role.name },
    riskClass: row.riskClass,
    server: row.serverSlug,
    tool: row.toolName,
    isPerCall: row.isPerCall,
    arguments: (row.arguments as Record<string, unknown> | null) ?? null,
    reason: row.reason,
    durationMinutes: row.durationMinutes,
    status,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    decidedBy: row.decidedByLabel,
    decidedAt: iso(row.decidedAt),
    decisionNote: row.decisionNote,
    grantId: row.grant?.id ?? null,
    canDecide: refusal === null,
    cannotDecideReason: refusal,
  };
}

async function deciderOrNull(db: Db, actor: Actor): Promise<Decider | null> {
  return can(actor, "approvals:decide") && actor.type !== "system" ? deciderOf(db, actor) : null;
}

/** The queue (approvers, admins, auditors) or, for anyone else or with `mine`, their own requests. */
export async function listStepUpRequests(db: Db, actor: Actor, raw: unknown, now = new Date()): Promise<Page<StepUpRequestView>> {
  const params = parse(listStepUpRequestsParams, raw);
  const own = requesterOf(actor);
  if (!can(actor, "approvals:read") && !own) throw forbidden();
  if (params.mine && !own) throw forbidden("Only a person has requests of their own");
  const isQueue = can(actor, "approvals:read") && !params.mine;
  const where: Prisma.StepUpRequestWhereInput = {
    ...(isQueue ? {} : { requesterKind: own!.kind, requesterId: own!.id }),
    ...statusWhere(params.status, now),
    ...(params.q ? { OR: [{ requesterLabel: { contains: params.q, mode: "insensitive" } }, { reason: { contains: params.q, mode: "insensitive" } }] } : {}),
  };
  const [rows, decider] = await Promise.all([
    db.stepUpRequest.findMany({ where, include: requestInclude, orderBy: { id: "desc" }, ...pageArgs(params) }),
    deciderOrNull(db, actor),
  ]);
  const page = toPage(rows, params.limit, (row) => toRequestView(row, decider, now));
  // What an approver looks at before saying yes, beside each request still waiting.
  if (isQueue) {
    const withActivity = await Promise.all(page.items.map(async (item) => (item.status === "pending" ? { ...item, recentActivity: await recentActivityOf(db, { requesterId: item.requester.id, portal: item.portal }) } : item)));
    return { ...page, items: withActivity };
  }
  return page;
}

/** Pending means pending now: one whose time ran out reads as expired before the sweep writes it. */
function statusWhere(status: StepUpStatus | undefined, now: Date): Prisma.StepUpRequestWhereInput {
  if (status === "pending") return { status: "pending", expiresAt: { gt: now } };
  if (status === "expired") return { OR: [{ status: "expired" }, { status: "pending", expiresAt: { lte: now } }] };
  return status ? { status } : {};
}

export async function getStepUpRequest(db: Db, actor: Actor, id: string, now = new Date()): Promise<StepUpRequestView & { recentActivity: RecentActivity[] }> {
  const row = await db.stepUpRequest.findUnique({ where: { id }, include: requestInclude });
  const own = requesterOf(actor);
  const isOwn = !!row && !!own && row.requesterKind === own.kind && row.requesterId === own.id;
  // Someone else's request is as good as unknown to a person without the queue.
  if (!row || (!isOwn && !can(actor, "approvals:read"))) throw notFound("Step-up request");
  const [decider, recentActivity, inForce] = await Promise.all([deciderOrNull(db, actor), can(actor, "approvals:read") ? recentActivityOf(db, row) : [], inForceOf(db, row, now)]);
  return { ...toRequestView(row, decider, now), ...inForce, recentActivity };
}

/**
 * Approved is not yet usable: the grant works once the gateways run a config version that carries
 * it, which the approval's push brings about within milliseconds, or a gateway's next heartbeat
 * within seconds. A requester told "retry now" before then is refused again, so a single request's
 * read says which (`isInForce`), for an approved request whose grant is still active.
 */
async function inForceOf(db: Db, row: RequestRow, now: Date): Promise<{ isInForce?: boolean }> {
  const grant = row.grant;
  if (row.status !== "approved" || !grant || grant.status !== "active" || grant.endsAt <= now) return {};
  return { isInForce: await isGrantInForce(db, grant.id, now) };
}

/**
 * True when every live gateway (reported within OFFLINE_AFTER_MS) runs a version whose snapshot
 * lists the grant: the newest version each acknowledged (gateways only move forward). A gateway
 * that stopped reporting does not hold it up: it serves nobody, and pulls the latest version when
 * it comes back. With no live gateway, nothing stands in the way.
 */
export async function isGrantInForce(db: Db, grantId: string, now = new Date()): Promise<boolean> {
  const live = await db.gateway.findMany({ where: { lastSeenAt: { gt: new Date(now.getTime() - OFFLINE_AFTER_MS) } }, select: { name: true } });
  const names = live.map((g) => g.name);
  if (!names.length) return true;
  const newest = await db.gatewayVersionAck.groupBy({ by: ["gatewayName"], where: { gatewayName: { in: names } }, _max: { version: true } });
  if (newest.length < names.length) return false;
  const needle = JSON.stringify([{ id: grantId }]);
  for (const version of new Set(newest.map((n) => n._max.version!))) {
    const [carries] = await db.$queryRaw<Array<{ carries: boolean }>>`SELECT (snapshot -> 'elevatedGrants') @> ${needle}::jsonb AS carries FROM "ConfigVersion" WHERE version = ${version}`;
    if (!carries?.carries) return false;
  }
  return true;
}

/**
 * A requester's own requests, newest first: a service account checking on what it filed with its
 * token (for the token's portal only). No approver's view: no recent activity, nothing to decide.
 */
export async function listOwnStepUpRequests(db: Db, requester: Requester, raw: unknown, options: { portal?: string } = {}, now = new Date()): Promise<Page<StepUpRequestView>> {
  const params = parse(listStepUpRequestsParams, raw);
  const where: Prisma.StepUpRequestWhereInput = {
    requesterKind: requester.kind,
    requesterId: requesterId(requester),
    ...(options.portal ? { portal: { slug: options.portal } } : {}),
    ...statusWhere(params.status, now),
    ...(params.q ? { reason: { contains: params.q, mode: "insensitive" } } : {}),
  };
  const rows = await db.stepUpRequest.findMany({ where, include: requestInclude, orderBy: { id: "desc" }, ...pageArgs(params) });
  return toPage(rows, params.limit, (row) => toRequestView(row, null, now));
}

/** One of the requester's own requests (on the given portal), else not found: someone else's is as good as unknown. */
export async function getOwnStepUpRequest(db: Db, requester: Requester, id: string, options: { portal?: string } = {}, now = new Date()): Promise<StepUpRequestView> {
  const view = await findOwnStepUpRequest(db, requester, id, now);
  if (!view || (options.portal && view.portal.slug !== options.portal)) throw notFound("Step-up request");
  return view;
}

/** A request as its own requester polls it (the authorization page's wait). */
export async function findOwnStepUpRequest(db: Db, requester: Requester, id: string, now = new Date()): Promise<StepUpRequestView | null> {
  const row = await db.stepUpRequest.findFirst({ where: { id, requesterKind: requester.kind, requesterId: requesterId(requester) }, include: requestInclude });
  return row ? { ...toRequestView(row, null, now), ...(await inForceOf(db, row, now)) } : null;
}

/** The requester's last calls and denials on the portal: what an approver looks at before saying yes. */
async function recentActivityOf(db: Db, row: Pick<RequestRow, "requesterId" | "portal">): Promise<RecentActivity[]> {
  const events = await db.auditEvent.findMany({
    where: { kind: "mcp.request", actorId: row.requesterId, portal: row.portal.slug },
    orderBy: { seq: "desc" },
    take: RECENT_ACTIVITY,
    select: { time: true, tool: true, outcome: true, reasons: true },
  });
  return events.map((e) => ({ time: e.time.toISOString(), tool: e.tool, outcome: e.outcome, reasons: Array.isArray(e.reasons) ? (e.reasons as string[]) : [] }));
}

/** The sidebar badge: requests this person could decide now. */
export async function countDecidableRequests(db: Db, actor: Actor, now = new Date()): Promise<number | undefined> {
  if (!can(actor, "approvals:decide") || actor.type === "system") return undefined;
  const decider = await deciderOf(db, actor);
  const rows = await db.stepUpRequest.findMany({
    where: { status: "pending", expiresAt: { gt: now } },
    select: { requesterKind: true, requesterId: true, role: { select: { name: true, stepUpApprovers: true } } },
    take: 1000,
  });
  return rows.filter((r) => cannotDecide(r as Pick<RequestRow, "requesterKind" | "requesterId" | "role">, decider) === null).length;
}

// ---- grants

const grantInclude = { request: { select: { requesterLabel: true, decidedByLabel: true } } } as const satisfies Prisma.ElevatedGrantInclude;
type GrantRow = Prisma.ElevatedGrantGetPayload<{ include: typeof grantInclude }>;

function grantStatusAt(row: Pick<GrantRow, "status" | "endsAt">, now: Date): GrantStatus {
  return row.status === "active" && row.endsAt <= now ? "ended" : (row.status as GrantStatus);
}

function toGrantView(row: GrantRow, now: Date): ElevatedGrantView {
  return {
    id: row.id,
    requestId: row.requestId,
    principal: { kind: row.principalKind as "user" | "service_account", id: row.principalId, label: row.request.requesterLabel },
    portalSlug: row.portalSlug,
    riskClass: row.riskClass,
    server: row.serverSlug,
    tool: row.toolName,
    isPerCall: row.isPerCall,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    status: grantStatusAt(row, now),
    useCount: row.useCount,
    lastUsedAt: iso(row.lastUsedAt),
    approvedBy: row.request.decidedByLabel,
    revokedBy: row.revokedByLabel,
    revokedAt: iso(row.revokedAt),
  };
}

/** Everyone's grants (approvers, admins, auditors) or, with `mine`, the caller's own (anyone signed in). */
export async function listElevatedGrants(db: Db, actor: Actor, raw: unknown, now = new Date()): Promise<Page<ElevatedGrantView>> {
  const params = parse(listElevatedGrantsParams, raw);
  const own = requesterOf(actor);
  if (params.mine) {
    if (!own) throw forbidden("Only a person holds grants of their own");
  } else authorize(actor, "approvals:read");
  const status = params.status;
  const statusFilter: Prisma.ElevatedGrantWhereInput =
    status === "active"
      ? { status: "active", endsAt: { gt: now } }
      : status === "ended"
        ? { OR: [{ status: "ended" }, { status: "active", endsAt: { lte: now } }] }
        : status
          ? { status }
          : {};
  const where: Prisma.ElevatedGrantWhereInput = params.mine ? { ...statusFilter, principalKind: own!.kind, principalId: own!.id } : statusFilter;
  const rows = await db.elevatedGrant.findMany({ where, include: grantInclude, orderBy: { id: "desc" }, ...pageArgs(params) });
  return toPage(rows, params.limit, (row) => toGrantView(row, now));
}

export async function getElevatedGrant(db: Db, actor: Actor, id: string, now = new Date()): Promise<ElevatedGrantView> {
  authorize(actor, "approvals:read");
  const row = await db.elevatedGrant.findUnique({ where: { id }, include: grantInclude });
  if (!row) throw notFound("Elevated grant");
  return toGrantView(row, now);
}

/** Ends a grant now. Gateways refuse its token from the next snapshot on (the route publishes one). */
export async function revokeElevatedGrant(db: Db, actor: Actor, id: string, now = new Date()): Promise<ElevatedGrantView> {
  authorize(actor, "approvals:decide");
  if (actor.type === "system") throw forbidden("Grants are revoked by people");
  return db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM "ElevatedGrant" WHERE id = ${id} FOR UPDATE`;
    const row = await tx.elevatedGrant.findUnique({ where: { id }, include: grantInclude });
    if (!row) throw notFound("Elevated grant");
    const status = grantStatusAt(row, now);
    if (status !== "active") throw new AppError("conflict", `This grant has already ${status === "used" ? "been used" : status}`);
    const updated = await tx.elevatedGrant.update({
      where: { id },
      data: { status: "revoked", revokedAt: now, revokedById: actor.userId, revokedByLabel: actor.email },
      include: grantInclude,
    });
    await appendAuditEvents(tx, [
      stepUpEvent("revoked", { actor }, now, { type: "elevated_grant", id: row.id, portal: row.portalSlug }, {
        data: { requestId: row.requestId, grantId: row.id, holder: row.request.requesterLabel, riskClass: row.riskClass },
      }),
    ]);
    return toGrantView(updated, now);
  });
}

// ---- time passing

async function expireDue(tx: Tx, now: Date, where: Prisma.StepUpRequestWhereInput = {}): Promise<number> {
  const due = await tx.stepUpRequest.findMany({
    where: { ...where, status: "pending", expiresAt: { lte: now } },
    select: { id: true, requesterKind: true, requesterId: true, requesterLabel: true, expiresAt: true, portal: { select: { slug: true } } },
  });
  if (due.length === 0) return 0;
  const { count } = await tx.stepUpRequest.updateMany({ where: { id: { in: due.map((r) => r.id) }, status: "pending" }, data: { status: "expired" } });
  await appendAuditEvents(
    tx,
    due.map((r) =>
      // Dated when it expired, not when a sweep noticed (after downtime, hours later); seq stays arrival order.
      stepUpEvent("expired", "expiry", r.expiresAt, { type: "step_up_request", id: r.id, portal: r.portal.slug }, {
        reasons: ["no decision before the request expired"],
        data: { requestId: r.id, requester: r.requesterLabel, expiredAt: r.expiresAt.toISOString() },
      }),
    ),
  );
  return count;
}

/**
 * Writes down what time has done: pending requests past their expiry become `expired`, active
 * grants past their end `ended`, each with its audit event dated when that happened (a sweep after
 * the control plane was down writes events hours old, in seq order of writing). Gateways do not wait for this (a
 * grant's end travels with it), so running it late changes the record, never access.
 */
export async function sweepStepUps(db: Db, now = new Date()): Promise<{ expiredRequests: number; endedGrants: number }> {
  return db.$transaction(async (tx) => {
    const expiredRequests = await expireDue(tx, now);
    const ending = await tx.elevatedGrant.findMany({ where: { status: "active", endsAt: { lte: now } }, select: { id: true, requestId: true, portalSlug: true, endsAt: true } });
    if (ending.length > 0) {
      await tx.elevatedGrant.updateMany({ where: { id: { in: ending.map((g) => g.id) }, status: "active" }, data: { status: "ended" } });
      await appendAuditEvents(
        tx,
        ending.map((g) =>
          // Dated when the grant ended, not when this sweep ran (after downtime, hours later).
          stepUpEvent("expired", "expiry", g.endsAt, { type: "elevated_grant", id: g.id, portal: g.portalSlug }, {
            reasons: ["the grant reached its end time"],
            data: { requestId: g.requestId, grantId: g.id, endedAt: g.endsAt.toISOString() },
          }),
        ),
      );
    }
    return { expiredRequests, endedGrants: ending.length };
  });
}

/** When the next grant or pending request runs out, so a timer can sweep and publish then. */
export async function nextStepUpDeadline(db: Db, now = new Date()): Promise<Date | null> {
  const [grant, request] = await Promise.all([
    db.elevatedGrant.findFirst({ where: { status: "active", endsAt: { gt: now } }, orderBy: { endsAt: "asc" }, select: { endsAt: true } }),
    db.stepUpRequest.findFirst({ where: { status: "pending", expiresAt: { gt: now } }, orderBy: { expiresAt: "asc" }, select: { expiresAt: true } }),
  ]);
  const times = [grant?.endsAt, request?.expiresAt].filter((d): d is Date => !!d).map((d) => d.getTime());
  return times.length ? new Date(Math.min(...times)) : null;
}

/** The active grants for the snapshot, in a stable order. */
export async function activeGrantsForSnapshot(db: Tx | Db, now = new Date()): Promise<SnapshotElevatedGrant[]> {
  const rows = await db.elevatedGrant.findMany({ where: { status: "active", endsAt: { gt: now } }, orderBy: { id: "asc" } });
  return rows.map((g) => ({
    id: g.id,
    principalKind: g.principalKind,
    subject: g.principalId,
    portalSlug: g.portalSlug,
    riskClass: g.riskClass,
    serverSlug: g.serverSlug,
    toolName: g.toolName,
    argumentsHash: g.argumentsHash,
    endsAt: g.endsAt.toISOString(),
  }));
}

/**
 * Counts calls made under grants, from the gateways' audit events (`data.grantId`); a per-call
 * grant is used up by its call. Returns whether a grant left the active set, so the caller
 * publishes a snapshot without it.
 */
export async function recordGrantUse(db: Tx | Db, uses: Array<{ grantId: string; time: Date }>): Promise<boolean> {
  let isChanged = false;
  for (const use of uses) {
    const grant = await db.elevatedGrant.findUnique({ where: { id: use.grantId }, select: { isPerCall: true, status: true } });
    if (!grant) continue;
    await db.elevatedGrant.update({
      where: { id: use.grantId },
      data: { useCount: { increment: 1 }, lastUsedAt: use.time, ...(grant.isPerCall && grant.status === "active" ? { status: "used" } : {}) },
    });
    if (grant.isPerCall && grant.status === "active") isChanged = true;
  }
  return isChanged;
}

/** The elevated scopes a service account's client-credentials token carries now: one per active window grant. */
export async function activeElevationsOf(db: Db, kind: "user" | "service_account", subject: string, portalSlug: string, now = new Date()) {
  return db.elevatedGrant.findMany({
    where: { principalKind: kind, principalId: subject, portalSlug, status: "active", isPerCall: false, endsAt: { gt: now } },
    select: { id: true, riskClass: true, endsAt: true },
    orderBy: { endsAt: "desc" },
  });
}
