import "server-only";
import type { Actor } from "@/lib/server/auth/actor";
import type { getDb } from "@/lib/server/db/instance";
import { listPortals } from "@/lib/server/portals";
import { listToolNamesByServer } from "@/lib/server/tools";
import type { RolePortalOption } from "@/components/roles/role-form";

/** Portals, their servers and the servers' tools, for the grant pickers of the role editor. */
export async function portalOptions(db: Awaited<ReturnType<typeof getDb>>, actor: Actor): Promise<RolePortalOption[]> {
  const options: RolePortalOption[] = [];
  let cursor: string | undefined;
  // A handful of portals is the norm; the loop only guards against silently dropping the 101st.
  for (let page = 0; page < 10; page++) {
    const result = await listPortals(db, actor, { limit: 100, cursor });
    options.push(...result.items.map((p) => ({ id: p.id, slug: p.slug, name: p.name, servers: p.servers.map((s) => ({ slug: s.slug, name: s.name, tools: [] })) })));
    if (!result.nextCursor) break;
    cursor = result.nextCursor;
  }
  const tools = await listToolNamesByServer(db, actor, options.flatMap((p) => p.servers.map((s) => s.slug)));
  return options.map((p) => ({ ...p, servers: p.servers.map((s) => ({ ...s, tools: tools.get(s.slug) ?? [] })) }));
}
