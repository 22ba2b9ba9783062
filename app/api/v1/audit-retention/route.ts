import { apiRoute } from "@/lib/server/http";
import { getRetentionStatus } from "@/lib/server/audit-retention";

export const GET = apiRoute(({ db, actor }) => getRetentionStatus(db, actor));
