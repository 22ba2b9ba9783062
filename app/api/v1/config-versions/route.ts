import { apiRoute, queryOf } from "@/lib/server/http";
import { listVersionHistory } from "@/lib/server/config-changes";

export const GET = apiRoute(({ db, actor, req }) => listVersionHistory(db, actor, queryOf(req)));
