import { apiRoute, created, readJson } from "@/lib/server/http";
import { createAlertRule, listAlertRules } from "@/lib/server/alerts/alerts";

export const GET = apiRoute(({ db, actor }) => listAlertRules(db, actor));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createAlertRule(db, actor, await readJson(req))));
