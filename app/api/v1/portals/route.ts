import { apiRoute, queryOf, created, readJson } from "@/lib/server/http";
import { createPortal, listPortals } from "@/lib/server/portals";

export const GET = apiRoute(({ db, actor, req }) => listPortals(db, actor, queryOf(req)));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createPortal(db, actor, await readJson(req))));
