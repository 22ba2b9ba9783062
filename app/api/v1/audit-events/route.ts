import { apiRoute, queryOf } from "@/lib/server/http";
import { listAuditEvents } from "@/lib/server/audit-events";

export const GET = apiRoute(({ db, actor, req }) => listAuditEvents(db, actor, queryOf(req)));
