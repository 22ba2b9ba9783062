import { apiRoute, noContent, readJson } from "@/lib/server/http";
import { deleteAlertRule, updateAlertRule } from "@/lib/server/alerts/alerts";

type Params = { id: string };

export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updateAlertRule(db, actor, params.id, await readJson(req)));
export const DELETE = apiRoute<Params>(async ({ db, actor, params }) => {
  await deleteAlertRule(db, actor, params.id);
  return noContent();
});
