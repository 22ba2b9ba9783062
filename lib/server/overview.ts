import "server-only";
import { serverStatuses } from "@/lib/schemas/server";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";

export type ServerStatusCounts = Record<(typeof serverStatuses)[number], number>;

/** Counts for the dashboard's overview page. */
export type Overview = {
  servers: { total: number; byStatus: ServerStatusCounts };
  /** Tools currently offered by their servers (removed ones excluded). */
  tools: number;
  /** Tools whose upstream definition drifted and waits for an admin to accept it, per server. */
  toolsAwaitingReview: { total: number; servers: { id: string; slug: string; name: string; count: number }[] };
  portals: number;
  roles: number;
};

export async function getOverview(db: Db, actor: Actor): Promise<Overview> {
  authorize(actor, "registry:read");
  const [statusGroups, tools, changedGroups, portals, roles] = await Promise.all([
    db.server.groupBy({ by: ["status"], _count: { _all: true } }),
    db.tool.count({ where: { state: { not: "removed" } } }),
    db.tool.groupBy({ by: ["serverId"], where: { state: "changed" }, _count: { _all: true } }),
    db.portal.count(),
    db.portalRole.count(),
  ]);

  const byStatus = Object.fromEntries(serverStatuses.map((s) => [s, 0])) as ServerStatusCounts;
  for (const group of statusGroups) byStatus[group.status] = group._count._all;

  const changedServers = changedGroups.length
    ? await db.server.findMany({
        where: { id: { in: changedGroups.map((g) => g.serverId) } },
        select: { id: true, slug: true, name: true },
      })
    : [];
  const changedCount = new Map(changedGroups.map((g) => [g.serverId, g._count._all]));
  const reviewServers = changedServers
    .map((s) => ({ ...s, count: changedCount.get(s.id) ?? 0 }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));

  return {
    servers: { total: Object.values(byStatus).reduce((sum, n) => sum + n, 0), byStatus },
    tools,
    toolsAwaitingReview: { total: reviewServers.reduce((sum, s) => sum + s.count, 0), servers: reviewServers },
    portals,
    roles,
  };
}
