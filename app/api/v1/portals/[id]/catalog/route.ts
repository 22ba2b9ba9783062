import { apiRoute, readJson } from "@/lib/server/http";
import { listPortalCatalog, updatePortalCatalogItem } from "@/lib/server/portal-catalog";

export const GET = apiRoute<{ id: string }>(async ({ db, actor, params }) => ({ items: await listPortalCatalog(db, actor, params.id) }));

export const PATCH = apiRoute<{ id: string }>(async ({ db, actor, params, req }) => updatePortalCatalogItem(db, actor, params.id, await readJson(req)));
