import { apiRoute, queryOf, created, readJson } from "@/lib/server/http";
import { createServer, listServers } from "@/lib/server/servers";

export const GET = apiRoute(({ db, actor, req }) => listServers(db, actor, queryOf(req)));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createServer(db, actor, await readJson(req))));
