import { apiRoute, queryOf } from "@/lib/server/http";
import { listTools } from "@/lib/server/tools";

export const GET = apiRoute(({ db, actor, req }) => listTools(db, actor, queryOf(req)));
