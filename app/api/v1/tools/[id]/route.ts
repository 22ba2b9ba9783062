import { apiRoute, readJson } from "@/lib/server/http";
import { getTool, updateTool } from "@/lib/server/tools";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params }) => getTool(db, actor, params.id));
export const PATCH = apiRoute<Params>(async ({ db, actor, params, req }) => updateTool(db, actor, params.id, await readJson(req)));
