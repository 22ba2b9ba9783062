import "server-only";
import { listToolsParams, updateToolInput, type ToolDefinition, type ToolView } from "@/lib/schemas/tool";
import type { Page } from "@/lib/schemas/common";
import { AppError, notFound } from "@/lib/errors";
import { Prisma, type Tool } from "@/lib/generated/prisma/client";
import { toolDefinitionHash } from "@/lib/config/tool-definition";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { pageArgs, toPage } from "./pagination";

type ToolRow = Tool & { server: { slug: string; name: string } };

function toView(row: ToolRow): ToolView {
  return {
    id: row.id,
    serverId: row.serverId,
    serverSlug: row.server.slug,
    serverName: row.server.name,
    name: row.name,
    title: row.title,
    description: row.description,
    inputSchema: row.inputSchema,
    outputSchema: row.outputSchema,
    annotations: row.annotations,
    riskClass: row.riskClass,
    riskClassManual: row.riskClassManual,
    state: row.state,
    definitionHash: row.definitionHash,
    pendingDefinition: (row.pendingDefinition as ToolDefinition | null) ?? null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

const include = { server: { select: { slug: true, name: true } } } as const;

export async function listTools(db: Db, actor: Actor, raw: unknown): Promise<Page<ToolView>> {
  authorize(actor, "registry:read");
  const params = listToolsParams.parse(raw);
  const where: Prisma.ToolWhereInput = {
    ...(params.serverId ? { serverId: params.serverId } : {}),
    ...(params.state ? { state: params.state } : { state: { not: "removed" } }),
    ...(params.riskClass ? { riskClass: params.riskClass } : {}),
    ...(params.q ? { OR: [{ name: { contains: params.q, mode: "insensitive" } }, { description: { contains: params.q, mode: "insensitive" } }] } : {}),
  };
  const rows = await db.tool.findMany({ where, include, orderBy: [{ name: "asc" }, { id: "asc" }], ...pageArgs(params) });
  return toPage(rows, params.limit, toView);
}

export async function getTool(db: Db, actor: Actor, id: string): Promise<ToolView> {
  authorize(actor, "registry:read");
  const row = await db.tool.findUnique({ where: { id }, include });
  if (!row) throw notFound("Tool");
  return toView(row);
}

export async function updateTool(db: Db, actor: Actor, id: string, raw: unknown): Promise<ToolView> {
  authorize(actor, "registry:write");
  const input = updateToolInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await tx.tool.findUnique({ where: { id }, include });
    if (!before) throw notFound("Tool");
    const row = await tx.tool.update({ where: { id }, data: { riskClass: input.riskClass, riskClassManual: true }, include });
    await recordConfigChange(tx, actor, { action: "tool.update", targetType: "tool", targetId: id, before: { riskClass: before.riskClass }, after: { riskClass: row.riskClass } });
    return toView(row);
  });
}

/** Accepts a drifted definition: it becomes the pinned one and the tool can be used again. */
export async function acceptToolChange(db: Db, actor: Actor, id: string): Promise<ToolView> {
  authorize(actor, "registry:write");
  return db.$transaction(async (tx) => {
    const before = await tx.tool.findUnique({ where: { id }, include });
    if (!before) throw notFound("Tool");
    const pending = before.pendingDefinition as ToolDefinition | null;
    if (before.state !== "changed" || !pending) throw new AppError("conflict", "This tool has no change waiting for review");
    const row = await tx.tool.update({
      where: { id },
      data: {
        title: pending.title ?? null,
        description: pending.description,
        inputSchema: (pending.inputSchema ?? {}) as Prisma.InputJsonValue,
        // A definition that dropped a field must drop it here too, or the row and its hash disagree.
        outputSchema: (pending.outputSchema ?? Prisma.DbNull) as Prisma.InputJsonValue,
        annotations: (pending.annotations ?? Prisma.DbNull) as Prisma.InputJsonValue,
        definitionHash: toolDefinitionHash(pending),
        pendingDefinition: Prisma.DbNull,
        pendingHash: null,
        state: "active",
      },
      include,
    });
    await recordConfigChange(tx, actor, {
      action: "tool.accept_change",
      targetType: "tool",
      targetId: id,
      before: { description: before.description, inputSchema: before.inputSchema, annotations: before.annotations, hash: before.definitionHash },
      after: { description: row.description, inputSchema: row.inputSchema, annotations: row.annotations, hash: row.definitionHash },
    });
    return toView({ ...row, pendingDefinition: null });
  });
}

/**
 * The tool names each server offers (not removed upstream), by server slug: the role editor's
 * tool pick-list, so a grant can only name a tool the registry knows.
 */
export async function listToolNamesByServer(db: Db, actor: Actor, serverSlugs: string[]): Promise<Map<string, { name: string; riskClass: ToolView["riskClass"] }[]>> {
  authorize(actor, "registry:read");
  const rows = serverSlugs.length
    ? await db.tool.findMany({
        where: { server: { slug: { in: [...new Set(serverSlugs)] } }, state: { not: "removed" } },
        select: { name: true, riskClass: true, server: { select: { slug: true } } },
        orderBy: [{ name: "asc" }, { id: "asc" }],
      })
    : [];
  const bySlug = new Map<string, { name: string; riskClass: ToolView["riskClass"] }[]>();
  for (const row of rows) bySlug.set(row.server.slug, [...(bySlug.get(row.server.slug) ?? []), { name: row.name, riskClass: row.riskClass }]);
  return bySlug;
}
