import { apiRoute, readJson } from "@/lib/server/http";
import { setPortalServers } from "@/lib/server/portals";

export const PUT = apiRoute<{ id: string }>(async ({ db, actor, params, req }) => setPortalServers(db, actor, params.id, await readJson(req)));
