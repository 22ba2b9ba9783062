import { apiRoute, noContent, readJson } from "@/lib/server/http";
import { deleteUser, getUser, updateUser } from "@/lib/server/users";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params }) => getUser(db, actor, params.id));
export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updateUser(db, actor, params.id, await readJson(req)));
export const DELETE = apiRoute<Params>(async ({ db, actor, params }) => {
  await deleteUser(db, actor, params.id);
  return noContent();
});
