import { apiRoute, readJson } from "@/lib/server/http";
import { updateAlertRule } from "@/lib/server/alerts/alerts";

export const PATCH = apiRoute<{ id: string }>(async ({ db, actor, params, req }) => updateAlertRule(db, actor, params.id, await readJson(req)));
