import { apiRoute, queryOf, created, readJson } from "@/lib/server/http";
import { createServiceAccount, listServiceAccounts } from "@/lib/server/service-accounts";

export const GET = apiRoute(({ db, actor, req }) => listServiceAccounts(db, actor, queryOf(req)));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createServiceAccount(db, actor, await readJson(req))));
