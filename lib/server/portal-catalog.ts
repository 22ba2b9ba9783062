import "server-only";
import { updatePortalCatalogInput, type PortalCatalogItemView } from "@/lib/schemas/portal";
import { AppError, notFound } from "@/lib/errors";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";

/**
 * A portal's prompts and resources with the settings tools have: toggle, alias, description
 * override (PortalCatalogSetting; no row means as the server offers it). The items are what the
 * registry last synced of each server; names as the gateway will show them (catalog.ts).
 */

type Entry = { name?: unknown; uri?: unknown; description?: unknown };

function entries(list: unknown): Entry[] {
  return Array.isArray(list) ? (list.filter((e) => e && typeof e === "object") as Entry[]) : [];
}

export async function listPortalCatalog(db: Db, actor: Actor, portalId: string): Promise<PortalCatalogItemView[]> {
  authorize(actor, "registry:read");
  const portal = await db.portal.findUnique({
    where: { id: portalId },
    include: { servers: { include: { server: { select: { id: true, slug: true, prompts: true, resources: true } } } }, catalogSettings: true },
  });
  if (!portal) throw notFound("Portal");
  const settings = new Map(portal.catalogSettings.map((c) => [`${c.serverId}\n${c.kind}\n${c.key}`, c]));
  const promptCounts = new Map<string, number>();
  for (const { server } of portal.servers) for (const p of entries(server.prompts)) if (typeof p.name === "string") promptCounts.set(p.name, (promptCounts.get(p.name) ?? 0) + 1);
  const items: PortalCatalogItemView[] = [];
  for (const { server } of [...portal.servers].sort((a, b) => a.server.slug.localeCompare(b.server.slug))) {
    for (const [kind, list, field] of [
      ["prompt", server.prompts, "name"],
      ["resource", server.resources, "uri"],
    ] as const) {
      for (const entry of entries(list)) {
        const key = entry[field];
        if (typeof key !== "string") continue;
        const setting = settings.get(`${server.id}\n${kind}\n${key}`);
        const defaultName =
          kind === "prompt" ? (portal.dropServerPrefix && promptCounts.get(key) === 1 ? key : `${server.slug}_${key}`) : typeof entry.name === "string" ? entry.name : key;
        items.push({
          serverId: server.id,
          serverSlug: server.slug,
          kind,
          key,
          shownName: setting?.alias ?? defaultName,
          description: setting?.descriptionOverride ?? (typeof entry.description === "string" ? entry.description : ""),
          enabled: setting?.enabled ?? true,
          alias: setting?.alias ?? null,
          descriptionOverride: setting?.descriptionOverride ?? null,
        });
      }
    }
  }
  return items;
}

export async function updatePortalCatalogItem(db: Db, actor: Actor, portalId: string, raw: unknown): Promise<PortalCatalogItemView> {
  authorize(actor, "registry:write");
  const input = updatePortalCatalogInput.parse(raw);
  const items = await listPortalCatalog(db, actor, portalId);
  const before = items.find((i) => i.serverId === input.serverId && i.kind === input.kind && i.key === input.key);
  if (!before) throw notFound(input.kind === "prompt" ? "Prompt in this portal" : "Resource in this portal");
  if (input.kind === "prompt" && input.alias) {
    const clash = items.find((i) => i.kind === "prompt" && i.enabled && i.shownName === input.alias && !(i.serverId === input.serverId && i.key === input.key));
    if (clash) throw new AppError("conflict", `Another prompt in this portal is already called ${input.alias}`, [{ field: "alias", message: "Already used in this portal" }]);
  }
  const data = {
    enabled: input.enabled ?? before.enabled,
    alias: input.alias === undefined ? before.alias : input.alias,
    descriptionOverride: input.descriptionOverride === undefined ? before.descriptionOverride : input.descriptionOverride || null,
  };
  return db.$transaction(async (tx) => {
    await tx.portalCatalogSetting.upsert({
      where: { portalId_serverId_kind_key: { portalId, serverId: input.serverId, kind: input.kind, key: input.key } },
      create: { portalId, serverId: input.serverId, kind: input.kind, key: input.key, ...data },
      update: data,
    });
    const after = (await listPortalCatalog(tx as unknown as Db, actor, portalId)).find((i) => i.serverId === input.serverId && i.kind === input.kind && i.key === input.key)!;
    await recordConfigChange(tx, actor, {
      action: `portal.${input.kind}`,
      targetType: "portal",
      targetId: portalId,
      before: { [input.kind]: before.key, server: before.serverSlug, enabled: before.enabled, alias: before.alias, descriptionOverride: before.descriptionOverride },
      after: { [input.kind]: after.key, server: after.serverSlug, enabled: after.enabled, alias: after.alias, descriptionOverride: after.descriptionOverride },
    });
    return after;
  });
}
