import { apiRoute, queryOf, created, readJson } from "@/lib/server/http";
import { createToken, listTokens } from "@/lib/server/tokens";

export const GET = apiRoute(({ db, actor, req }) => listTokens(db, actor, queryOf(req)));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createToken(db, actor, await readJson(req))));
