import { apiRoute, noContent, readJson } from "@/lib/server/http";
import { deleteServer, getServerDetail, updateServer } from "@/lib/server/servers";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params }) => getServerDetail(db, actor, params.id));
export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updateServer(db, actor, params.id, await readJson(req)));
export const DELETE = apiRoute<Params>(async ({ db, actor, params }) => {
  await deleteServer(db, actor, params.id);
  return noContent();
});
