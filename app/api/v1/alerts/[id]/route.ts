import { apiRoute } from "@/lib/server/http";
import { getAlert } from "@/lib/server/alerts/alerts";

export const GET = apiRoute<{ id: string }>(({ db, actor, params }) => getAlert(db, actor, params.id));
