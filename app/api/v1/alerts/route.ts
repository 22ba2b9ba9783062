import { apiRoute, queryOf } from "@/lib/server/http";
import { listAlerts } from "@/lib/server/alerts/alerts";

export const GET = apiRoute(({ db, actor, req }) => listAlerts(db, actor, queryOf(req)));
