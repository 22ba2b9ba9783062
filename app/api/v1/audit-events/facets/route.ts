import { apiRoute, queryOf } from "@/lib/server/http";
import { auditFacets } from "@/lib/server/audit-events";

export const GET = apiRoute(({ db, actor, req }) => auditFacets(db, actor, queryOf(req)));
