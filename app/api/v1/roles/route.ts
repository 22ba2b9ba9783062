import { apiRoute, queryOf, created, readJson } from "@/lib/server/http";
import { createRole, listRoles } from "@/lib/server/roles";

export const GET = apiRoute(({ db, actor, req }) => listRoles(db, actor, queryOf(req)));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createRole(db, actor, await readJson(req))));
