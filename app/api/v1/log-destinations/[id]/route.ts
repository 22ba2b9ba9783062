import { apiRoute, noContent, readJson } from "@/lib/server/http";
import { deleteLogDestination, updateLogDestination } from "@/lib/server/log-destinations";

type Params = { id: string };

export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updateLogDestination(db, actor, params.id, await readJson(req)));
export const DELETE = apiRoute<Params>(async ({ db, actor, params }) => {
  await deleteLogDestination(db, actor, params.id);
  return noContent();
});
