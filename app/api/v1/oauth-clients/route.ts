import { apiRoute, created, readJson } from "@/lib/server/http";
import { createOAuthClient, listOAuthClients } from "@/lib/server/oauth/registered-clients";

export const GET = apiRoute(({ db, actor }) => listOAuthClients(db, actor));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createOAuthClient(db, actor, await readJson(req))));
