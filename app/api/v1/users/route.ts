import { apiRoute, queryOf, created, readJson } from "@/lib/server/http";
import { createUser, listUsers } from "@/lib/server/users";

export const GET = apiRoute(({ db, actor, req }) => listUsers(db, actor, queryOf(req)));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createUser(db, actor, await readJson(req))));
