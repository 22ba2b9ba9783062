import "server-only";
import {
  createPortalInput,
  listPortalsParams,
  setPortalServersInput,
  updatePortalInput,
  updatePortalToolInput,
  type PortalToolView,
  type PortalView,
} from "@/lib/schemas/portal";
import type { Page } from "@/lib/schemas/common";
import { AppError, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { exposedToolName } from "@/lib/config/tool-definition";
import { isToolSwitchedOn } from "@/lib/config/portal-tools";
import { prefixClashes } from "@/lib/config/prefix-clashes";
import type { Db } from "./db/client";
import { env } from "./env";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { pageArgs, toPage } from "./pagination";

type Tx = Prisma.TransactionClient;

const include = {
  servers: { include: { server: { select: { slug: true, name: true, status: true, prompts: true, resources: true } } }, orderBy: { createdAt: "asc" } },
  // Who can use the portal: the roles with a grant on it, and how many members each has.
  grants: { select: { role: { select: { id: true, name: true, _count: { select: { principals: true } } } } } },
} as const satisfies Prisma.PortalInclude;

type PortalRow = Prisma.PortalGetPayload<{ include: typeof include }>;

/** The roles that grant something on the portal (one entry per role, however many grants), by name. */
function rolesOf(row: PortalRow): PortalView["roles"] {
  const roles = new Map<string, PortalView["roles"][number]>();
  for (const { role } of row.grants) roles.set(role.id, { id: role.id, name: role.name, members: role._count.principals });
  return [...roles.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function portalUrl(slug: string): string {
  return `${env().PORTICO_GATEWAY_URL.replace(/\/$/, "")}/mcp/${slug}`;
}

function toView(row: PortalRow): PortalView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    allowlistMode: row.allowlistMode,
    dropServerPrefix: row.dropServerPrefix,
    url: portalUrl(row.slug),
    servers: row.servers.map((s) => ({ serverId: s.serverId, slug: s.server.slug, name: s.server.name, status: s.server.status, enabled: s.enabled })),
    prefixClashes: prefixClashes(row.servers.filter((s) => s.enabled).map((s) => s.server)),
    roles: rolesOf(row),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function loadPortal(tx: Tx | Db, id: string): Promise<PortalRow> {
  const row = await tx.portal.findUnique({ where: { id }, include });
  if (!row) throw notFound("Portal");
  return row;
}

export async function listPortals(db: Db, actor: Actor, raw: unknown): Promise<Page<PortalView>> {
  authorize(actor, "registry:read");
  const params = listPortalsParams.parse(raw);
  const where: Prisma.PortalWhereInput = params.q
    ? { OR: [{ name: { contains: params.q, mode: "insensitive" } }, { slug: { contains: params.q, mode: "insensitive" } }] }
    : {};
  const rows = await db.portal.findMany({ where, include, orderBy: [{ name: "asc" }, { id: "asc" }], ...pageArgs(params) });
  return toPage(rows, params.limit, toView);
}

export async function getPortal(db: Db, actor: Actor, id: string): Promise<PortalView> {
  authorize(actor, "registry:read");
  return toView(await loadPortal(db, id));
}

export async function findPortalBySlug(db: Db, actor: Actor, slug: string): Promise<PortalView | null> {
  authorize(actor, "registry:read");
  const row = await db.portal.findUnique({ where: { slug }, include });
  return row ? toView(row) : null;
}

async function assertServersExist(tx: Tx, serverIds: string[]) {
  const found = await tx.server.count({ where: { id: { in: serverIds } } });
  if (found !== new Set(serverIds).size) {
    throw new AppError("validation_failed", "Some servers do not exist", [{ field: "servers", message: "Unknown server" }]);
  }
}

export async function createPortal(db: Db, actor: Actor, raw: unknown): Promise<PortalView> {
  authorize(actor, "registry:write");
  const input = createPortalInput.parse(raw);
  return db.$transaction(async (tx) => {
    await assertServersExist(tx, input.serverIds);
    const row = await tx.portal.create({
      data: {
        slug: input.slug,
        name: input.name,
        description: input.description,
        allowlistMode: input.allowlistMode,
        dropServerPrefix: input.dropServerPrefix,
        servers: { create: [...new Set(input.serverIds)].map((serverId) => ({ serverId, enabled: true })) },
      },
      include,
    });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "portal.create", targetType: "portal", targetId: row.id, after: view });
    return view;
  });
}

export async function updatePortal(db: Db, actor: Actor, id: string, raw: unknown): Promise<PortalView> {
  authorize(actor, "registry:write");
  const input = updatePortalInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await loadPortal(tx, id);
    // Turning allowlist mode on must not switch off what people use today: pin the tools that
    // are on now, so only tools that appear later start off.
    if (input.allowlistMode === true && !before.allowlistMode) {
      const tools = await tx.tool.findMany({
        where: { serverId: { in: before.servers.map((s) => s.serverId) }, state: { not: "removed" }, portalTools: { none: { portalId: id } } },
        select: { id: true },
      });
      if (tools.length) await tx.portalTool.createMany({ data: tools.map((t) => ({ portalId: id, toolId: t.id, enabled: true })) });
    }
    const row = await tx.portal.update({ where: { id }, data: input, include });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "portal.update", targetType: "portal", targetId: id, before: toView(before), after: view });
    return view;
  });
}

export async function deletePortal(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "registry:write");
  await db.$transaction(async (tx) => {
    const before = await loadPortal(tx, id);
    await tx.portal.delete({ where: { id } });
    await recordConfigChange(tx, actor, { action: "portal.delete", targetType: "portal", targetId: id, before: toView(before) });
  });
}

/** Replaces the portal's server list; servers not named are removed from the portal. */
export async function setPortalServers(db: Db, actor: Actor, id: string, raw: unknown): Promise<PortalView> {
  authorize(actor, "registry:write");
  const input = setPortalServersInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await loadPortal(tx, id);
    const wanted = new Map(input.servers.map((s) => [s.serverId, s.enabled]));
    await assertServersExist(tx, [...wanted.keys()]);
    await tx.portalServer.deleteMany({ where: { portalId: id, serverId: { notIn: [...wanted.keys()] } } });
    for (const [serverId, enabled] of wanted) {
      await tx.portalServer.upsert({
        where: { portalId_serverId: { portalId: id, serverId } },
        create: { portalId: id, serverId, enabled },
        update: { enabled },
      });
    }
    const view = toView(await loadPortal(tx, id));
    await recordConfigChange(tx, actor, { action: "portal.servers", targetType: "portal", targetId: id, before: toView(before).servers, after: view.servers });
    return view;
  });
}

async function portalToolViews(tx: Tx | Db, portal: PortalRow): Promise<PortalToolView[]> {
  const tools = await tx.tool.findMany({
    where: { serverId: { in: portal.servers.map((s) => s.serverId) }, state: { not: "removed" } },
    include: { server: { select: { slug: true } }, portalTools: { where: { portalId: portal.id } } },
    orderBy: [{ server: { slug: "asc" } }, { name: "asc" }],
  });
  return tools.map((tool) => {
    const setting = tool.portalTools[0];
    return {
      toolId: tool.id,
      serverId: tool.serverId,
      serverSlug: tool.server.slug,
      name: tool.name,
      exposedName: exposedToolName(tool.server.slug, tool.name, setting?.alias),
      description: setting?.descriptionOverride ?? tool.description,
      riskClass: tool.riskClass,
      toolState: tool.state,
      enabled: isToolSwitchedOn(setting?.enabled ?? null, portal.allowlistMode),
      explicit: Boolean(setting),
      alias: setting?.alias ?? null,
      descriptionOverride: setting?.descriptionOverride ?? null,
    };
  });
}

export async function listPortalTools(db: Db, actor: Actor, id: string): Promise<PortalToolView[]> {
  authorize(actor, "registry:read");
  return portalToolViews(db, await loadPortal(db, id));
}

export async function updatePortalTool(db: Db, actor: Actor, portalId: string, toolId: string, raw: unknown): Promise<PortalToolView> {
  authorize(actor, "registry:write");
  const input = updatePortalToolInput.parse(raw);
  return db.$transaction(async (tx) => {
    const portal = await loadPortal(tx, portalId);
    const views = await portalToolViews(tx, portal);
    const before = views.find((v) => v.toolId === toolId);
    if (!before) throw notFound("Tool in this portal");
    if (input.alias) {
      const clash = views.find((v) => v.toolId !== toolId && v.exposedName === input.alias);
      if (clash) throw new AppError("conflict", `Another tool in this portal is already called ${input.alias}`, [{ field: "alias", message: "Already used in this portal" }]);
    }
    const data = {
      enabled: input.enabled ?? before.enabled,
      alias: input.alias === undefined ? before.alias : input.alias,
      descriptionOverride: input.descriptionOverride === undefined ? before.descriptionOverride : input.descriptionOverride || null,
    };
    await tx.portalTool.upsert({ where: { portalId_toolId: { portalId, toolId } }, create: { portalId, toolId, ...data }, update: data });
    const after = (await portalToolViews(tx, portal)).find((v) => v.toolId === toolId)!;
    await recordConfigChange(tx, actor, {
      action: "portal.tool",
      targetType: "portal",
      targetId: portalId,
      before: { tool: before.exposedName, enabled: before.enabled, alias: before.alias, descriptionOverride: before.descriptionOverride },
      after: { tool: after.exposedName, enabled: after.enabled, alias: after.alias, descriptionOverride: after.descriptionOverride },
    });
    return after;
  });
}
