import { apiRoute } from "@/lib/server/http";
import { idParam } from "@/lib/schemas/common";
import { getAuditEvent } from "@/lib/server/audit-events";

export const GET = apiRoute<{ id: string }>(({ db, actor, params }) => getAuditEvent(db, actor, idParam.parse(params).id));
