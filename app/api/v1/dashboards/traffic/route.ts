import { apiRoute, queryOf } from "@/lib/server/http";
import { getDashboards } from "@/lib/server/dashboards";

export const GET = apiRoute(({ db, actor, req }) => getDashboards(db, actor, queryOf(req)));
