import { apiRoute, readJson } from "@/lib/server/http";
import { snoozeAlert } from "@/lib/server/alerts/alerts";

export const POST = apiRoute<{ id: string }>(async ({ db, actor, params, req }) => snoozeAlert(db, actor, params.id, await readJson(req)));
