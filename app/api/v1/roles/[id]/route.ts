import { apiRoute, noContent, readJson } from "@/lib/server/http";
import { deleteRole, getRole, updateRole } from "@/lib/server/roles";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params }) => getRole(db, actor, params.id));
export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updateRole(db, actor, params.id, await readJson(req)));
export const DELETE = apiRoute<Params>(async ({ db, actor, params }) => {
  await deleteRole(db, actor, params.id);
  return noContent();
});
