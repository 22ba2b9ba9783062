import { apiRoute, readJson } from "@/lib/server/http";
import { updatePortalTool } from "@/lib/server/portals";

export const PATCH = apiRoute<{ id: string; toolId: string }>(async ({ db, actor, params, req }) =>
  updatePortalTool(db, actor, params.id, params.toolId, await readJson(req)),
);
