import { apiRoute, queryOf } from "@/lib/server/http";
import { listElevatedGrants } from "@/lib/server/step-up";

export const GET = apiRoute(({ db, actor, req }) => listElevatedGrants(db, actor, queryOf(req)));
