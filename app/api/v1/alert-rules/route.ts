import { apiRoute } from "@/lib/server/http";
import { listAlertRules } from "@/lib/server/alerts/alerts";

export const GET = apiRoute(({ db, actor }) => listAlertRules(db, actor));
