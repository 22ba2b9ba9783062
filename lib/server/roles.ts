import "server-only";
import { z } from "zod";
import { createRoleInput, listRolesParams, updateRoleInput, type RoleView } from "@/lib/schemas/role";
import type { Page } from "@/lib/schemas/common";
import { roleConditions } from "@/lib/policy/conditions";
import { AppError, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { isOidcConfigured } from "./env";
import { recordConfigChange } from "./audit";
import { pageArgs, toPage } from "./pagination";

type Tx = Prisma.TransactionClient;

const emailFormat = z.email();

const include = {
  principals: { orderBy: [{ kind: "asc" }, { value: "asc" }] },
  grants: { include: { portal: { select: { slug: true } } }, orderBy: { id: "asc" } },
} as const satisfies Prisma.PortalRoleInclude;

type RoleRow = Prisma.PortalRoleGetPayload<{ include: typeof include }>;

function toView(row: RoleRow): RoleView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    principals: row.principals.map((p) => ({ kind: p.kind, value: p.value })),
    grants: row.grants.map((g) => ({
      id: g.id,
      portalId: g.portalId,
      portalSlug: g.portal.slug,
      serverSlug: g.serverSlug,
      toolName: g.toolName,
      riskClasses: g.riskClasses,
    })),
    stepUpRiskClasses: row.stepUpRiskClasses,
    conditions: roleConditions.parse(row.conditions ?? {}),
    perCallRiskClasses: row.perCallRiskClasses,
    stepUpMaxMinutes: row.stepUpMaxMinutes,
    stepUpApprovers: row.stepUpApprovers,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function assertPortalsExist(tx: Tx, portalIds: string[]) {
  const unique = [...new Set(portalIds)];
  if (!unique.length) return;
  const found = await tx.portal.count({ where: { id: { in: unique } } });
  if (found !== unique.length) throw new AppError("validation_failed", "A grant names a portal that does not exist", [{ field: "grants", message: "Unknown portal" }]);
}

type PrincipalInput = RoleView["principals"][number];
type GrantInput = Pick<RoleView["grants"][number], "portalId" | "serverSlug" | "toolName" | "riskClasses">;
type FieldError = { field: string; message: string };

const grantKey = (g: GrantInput) => `${g.portalId}\u0000${g.serverSlug ?? ""}\u0000${g.toolName ?? ""}`;

/**
 * A grant that names a server or tool nobody can reach grants nothing, silently: a typo in a tool
 * name looks saved but never matches a call. So a server must be on the grant's portal and a tool
 * must be one the registry holds for that server (not removed upstream). Grants the role already
 * has are not checked again: a tool that disappeared later must not block saving the rest of the
 * role (the registry and drift pages report it). Grants by portal only or by risk class are
 * untouched by this.
 */
async function grantTargetErrors(tx: Tx, grants: GrantInput[], existing: GrantInput[] = []): Promise<FieldError[]> {
  const known = new Set(existing.map(grantKey));
  const fresh = grants.map((g, index) => ({ g, index })).filter(({ g }) => g.serverSlug !== null && !known.has(grantKey(g)));
  if (!fresh.length) return [];
  const portalIds = [...new Set(fresh.map(({ g }) => g.portalId))];
  const links = await tx.portalServer.findMany({
    where: { portalId: { in: portalIds }, server: { slug: { in: [...new Set(fresh.map(({ g }) => g.serverSlug!))] } } },
    select: { portalId: true, server: { select: { id: true, slug: true } } },
  });
  const serverOf = new Map(links.map((l) => [`${l.portalId}\u0000${l.server.slug}`, l.server.id]));
  const named = fresh.filter(({ g }) => g.toolName !== null);
  const tools = named.length
    ? await tx.tool.findMany({
        where: { serverId: { in: [...new Set(links.map((l) => l.server.id))] }, name: { in: named.map(({ g }) => g.toolName!) }, state: { not: "removed" } },
        select: { serverId: true, name: true },
      })
    : [];
  const toolSet = new Set(tools.map((t) => `${t.serverId}\u0000${t.name}`));
  const errors: FieldError[] = [];
  for (const { g, index } of fresh) {
    const serverId = serverOf.get(`${g.portalId}\u0000${g.serverSlug}`);
    if (!serverId) errors.push({ field: `grants.${index}.serverSlug`, message: `No server “${g.serverSlug}” on this portal` });
    else if (g.toolName !== null && !toolSet.has(`${serverId}\u0000${g.toolName}`))
      errors.push({ field: `grants.${index}.toolName`, message: `${g.serverSlug} has no tool “${g.toolName}” (sync the server if it is new)` });
  }
  return errors;
}

/**
 * A user principal matches a signed-in user by email or user id (lib/policy/evaluate.ts); one that
 * names nobody grants nothing. Without company SSO every user is created here first, so an unknown
 * email is refused. With SSO, users appear on their first sign-in and an admin may name them before
 * that: any well-formed email is taken then.
 * Groups are the IdP's and cannot be listed, so they are taken as given. Principals the role
 * already has are not checked again (a user deleted later must not block the rest of the role).
 */
async function userPrincipalErrors(tx: Tx, principals: PrincipalInput[], existing: PrincipalInput[] = []): Promise<FieldError[]> {
  const known = new Set(existing.filter((p) => p.kind === "user").map((p) => p.value));
  const fresh = principals.map((p, index) => ({ p, index })).filter(({ p }) => p.kind === "user" && !known.has(p.value));
  if (!fresh.length) return [];
  const values = fresh.map(({ p }) => p.value);
  const users = await tx.user.findMany({
    where: { OR: [{ id: { in: values } }, ...values.map((v) => ({ email: { equals: v, mode: "insensitive" as const } }))] },
    select: { id: true, email: true },
  });
  const found = new Set(users.flatMap((u) => [u.id, u.email.toLowerCase()]));
  const isSso = isOidcConfigured();
  const errors: FieldError[] = [];
  for (const { p, index } of fresh) {
    if (found.has(p.value) || found.has(p.value.toLowerCase())) continue;
    if (!isEmail(p.value)) errors.push({ field: `principals.${index}`, message: "Enter the user's email" });
    else if (!isSso) errors.push({ field: `principals.${index}`, message: `No user “${p.value}”: add them under Users first, or name a group` });
  }
  return errors;
}

/** Both checks at once, so a form learns every field to fix from one answer. */
async function assertTargetsExist(
  tx: Tx,
  input: { grants?: GrantInput[]; principals?: PrincipalInput[] },
  before?: { grants: GrantInput[]; principals: PrincipalInput[] },
  options: CreateRoleOptions = {},
) {
  const errors = [
    ...(input.principals ? await userPrincipalErrors(tx, input.principals, before?.principals) : []),
    ...(input.grants && !options.isTemplateForServersToCome ? await grantTargetErrors(tx, input.grants, before?.grants) : []),
  ];
  if (errors.length) throw new AppError("validation_failed", "The role names a user, server or tool that does not exist", errors);
}

const isEmail = (value: string) => emailFormat.safeParse(value).success;

/**
 * Service accounts are members of their portal role by mirroring (RolePrincipal kind
 * service_account, value = client id, kept by lib/server/service-accounts.ts): the account's
 * `portalRoleId` is the source of truth. A role's principal list, as a form or an API client sends
 * it, therefore never removes a mirrored account (it would silently lose its access) and cannot
 * make an account a member of a role other than its own (the next change to the account would
 * undo it). Service-account principals that name no managed account are kept as given.
 */
async function withServiceAccountMembers(tx: Tx, roleId: string | null, principals: PrincipalInput[]): Promise<PrincipalInput[]> {
  const named = principals.filter((p) => p.kind === "service_account").map((p) => p.value);
  const managed = named.length ? await tx.serviceAccount.findMany({ where: { clientId: { in: named } }, select: { clientId: true, portalRoleId: true } }) : [];
  const members = roleId
    ? await tx.serviceAccount.findMany({ where: { portalRoleId: roleId, disabledAt: null }, select: { clientId: true }, orderBy: { clientId: "asc" } })
    : [];
  const managedIds = new Map(managed.map((a) => [a.clientId, a.portalRoleId]));
  const fieldErrors = principals.flatMap((p, index) =>
    p.kind === "service_account" && managedIds.has(p.value) && managedIds.get(p.value) !== roleId
      ? [{ field: `principals.${index}`, message: "Set a service account's role under Service accounts" }]
      : [],
  );
  if (fieldErrors.length) throw new AppError("validation_failed", "A service account holds the role set on it, not one given here", fieldErrors);
  // Managed accounts named in the list are replaced by the mirror (a disabled member is left out).
  const given = principals.filter((p) => !(p.kind === "service_account" && managedIds.has(p.value)));
  return [...given, ...members.map((a) => ({ kind: "service_account" as const, value: a.clientId }))];
}

export async function listRoles(db: Db, actor: Actor, raw: unknown): Promise<Page<RoleView>> {
  authorize(actor, "registry:read");
  const params = listRolesParams.parse(raw);
  const where: Prisma.PortalRoleWhereInput = params.q
    ? { OR: [{ name: { contains: params.q, mode: "insensitive" } }, { slug: { contains: params.q, mode: "insensitive" } }] }
    : {};
  const rows = await db.portalRole.findMany({ where, include, orderBy: [{ name: "asc" }, { id: "asc" }], ...pageArgs(params) });
  return toPage(rows, params.limit, toView);
}

export async function getRole(db: Db, actor: Actor, id: string): Promise<RoleView> {
  authorize(actor, "registry:read");
  const row = await db.portalRole.findUnique({ where: { id }, include });
  if (!row) throw notFound("Role");
  return toView(row);
}

export type CreateRoleOptions = {
  /**
   * For the demo seed only (never an API or form input): its role templates name every demo server,
   * and an install seeded with some of them (the e2e suite registers budgets as a journey) must find
   * the grants waiting when the server is added.
   */
  isTemplateForServersToCome?: boolean;
};

export async function createRole(db: Db, actor: Actor, raw: unknown, options: CreateRoleOptions = {}): Promise<RoleView> {
  authorize(actor, "registry:write");
  const input = createRoleInput.parse(raw);
  return db.$transaction(async (tx) => {
    await assertPortalsExist(tx, input.grants.map((g) => g.portalId));
    await assertTargetsExist(tx, input, undefined, options);
    const principals = await withServiceAccountMembers(tx, null, input.principals);
    const row = await tx.portalRole.create({
      data: {
        slug: input.slug,
        name: input.name,
        description: input.description,
        stepUpRiskClasses: input.stepUpRiskClasses,
        conditions: input.conditions,
        perCallRiskClasses: input.perCallRiskClasses,
        stepUpMaxMinutes: input.stepUpMaxMinutes,
        stepUpApprovers: input.stepUpApprovers,
        principals: { create: principals },
        grants: { create: input.grants },
      },
      include,
    });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "role.create", targetType: "role", targetId: row.id, after: view });
    return view;
  });
}

/**
 * Updates a role; principals and grants, when given, replace the current lists (except the
 * service accounts that hold this role, which stay: see withServiceAccountMembers).
 */
export async function updateRole(db: Db, actor: Actor, id: string, raw: unknown): Promise<RoleView> {
  authorize(actor, "registry:write");
  const input = updateRoleInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await tx.portalRole.findUnique({ where: { id }, include });
    if (!before) throw notFound("Role");
    if (input.grants) await assertPortalsExist(tx, input.grants.map((g) => g.portalId));
    await assertTargetsExist(tx, input, before);
    const principals = input.principals ? await withServiceAccountMembers(tx, id, input.principals) : undefined;
    const row = await tx.portalRole.update({
      where: { id },
      data: {
        slug: input.slug,
        name: input.name,
        description: input.description,
        stepUpRiskClasses: input.stepUpRiskClasses,
        conditions: input.conditions,
        perCallRiskClasses: input.perCallRiskClasses,
        stepUpMaxMinutes: input.stepUpMaxMinutes,
        stepUpApprovers: input.stepUpApprovers,
        ...(principals ? { principals: { deleteMany: {}, create: principals } } : {}),
        ...(input.grants ? { grants: { deleteMany: {}, create: input.grants } } : {}),
      },
      include,
    });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "role.update", targetType: "role", targetId: id, before: toView(before), after: view });
    return view;
  });
}

export async function deleteRole(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "registry:write");
  await db.$transaction(async (tx) => {
    const before = await tx.portalRole.findUnique({ where: { id }, include });
    if (!before) throw notFound("Role");
    await tx.portalRole.delete({ where: { id } });
    await recordConfigChange(tx, actor, { action: "role.delete", targetType: "role", targetId: id, before: toView(before) });
  });
}
