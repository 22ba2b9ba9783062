import "server-only";
import { createRoleInput, listRolesParams, updateRoleInput, type RoleView } from "@/lib/schemas/role";
import type { Page } from "@/lib/schemas/common";
import { roleConditions } from "@/lib/policy/conditions";
import { AppError, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { pageArgs, toPage } from "./pagination";

type Tx = Prisma.TransactionClient;

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

export async function createRole(db: Db, actor: Actor, raw: unknown): Promise<RoleView> {
  authorize(actor, "registry:write");
  const input = createRoleInput.parse(raw);
  return db.$transaction(async (tx) => {
    await assertPortalsExist(tx, input.grants.map((g) => g.portalId));
    const row = await tx.portalRole.create({
      data: {
        slug: input.slug,
        name: input.name,
        description: input.description,
        stepUpRiskClasses: input.stepUpRiskClasses,
        conditions: input.conditions,
        principals: { create: input.principals },
        grants: { create: input.grants },
      },
      include,
    });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "role.create", targetType: "role", targetId: row.id, after: view });
    return view;
  });
}

/** Updates a role; principals and grants, when given, replace the current lists. */
export async function updateRole(db: Db, actor: Actor, id: string, raw: unknown): Promise<RoleView> {
  authorize(actor, "registry:write");
  const input = updateRoleInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await tx.portalRole.findUnique({ where: { id }, include });
    if (!before) throw notFound("Role");
    if (input.grants) await assertPortalsExist(tx, input.grants.map((g) => g.portalId));
    const row = await tx.portalRole.update({
      where: { id },
      data: {
        slug: input.slug,
        name: input.name,
        description: input.description,
        stepUpRiskClasses: input.stepUpRiskClasses,
        conditions: input.conditions,
        ...(input.principals ? { principals: { deleteMany: {}, create: input.principals } } : {}),
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
