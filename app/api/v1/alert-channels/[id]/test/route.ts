import { apiRoute } from "@/lib/server/http";
import { testAlertChannel } from "@/lib/server/alerts/alerts";

export const POST = apiRoute<{ id: string }>(({ db, actor, params }) => testAlertChannel(db, actor, params.id));
