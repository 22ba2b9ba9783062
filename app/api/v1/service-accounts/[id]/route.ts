import { apiRoute, noContent, readJson } from "@/lib/server/http";
import { deleteServiceAccount, getServiceAccount, updateServiceAccount } from "@/lib/server/service-accounts";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params }) => getServiceAccount(db, actor, params.id));
export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updateServiceAccount(db, actor, params.id, await readJson(req)));
export const DELETE = apiRoute<Params>(async ({ db, actor, params }) => {
  await deleteServiceAccount(db, actor, params.id);
  return noContent();
});
