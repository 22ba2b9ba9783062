import { apiRoute, noContent, readJson } from "@/lib/server/http";
import { deletePortal, getPortal, updatePortal } from "@/lib/server/portals";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params }) => getPortal(db, actor, params.id));
export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updatePortal(db, actor, params.id, await readJson(req)));
export const DELETE = apiRoute<Params>(async ({ db, actor, params }) => {
  await deletePortal(db, actor, params.id);
  return noContent();
});
