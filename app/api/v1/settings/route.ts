import { apiRoute, readJson } from "@/lib/server/http";
import { getSettings, updateSettings } from "@/lib/server/settings";

export const GET = apiRoute(({ db, actor }) => getSettings(db, actor));
export const PATCH = apiRoute(async ({ db, actor, req }) => updateSettings(db, actor, await readJson(req)));
