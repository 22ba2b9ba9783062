import { apiRoute, readJson } from "@/lib/server/http";
import { getDlpSettings, updateDlpSettings } from "@/lib/server/dlp";

export const GET = apiRoute(({ db, actor }) => getDlpSettings(db, actor));
export const PUT = apiRoute(async ({ db, actor, req }) => updateDlpSettings(db, actor, await readJson(req)));
