import { apiRoute } from "@/lib/server/http";
import { acceptToolChange } from "@/lib/server/tools";

export const POST = apiRoute<{ id: string }>(({ db, actor, params }) => acceptToolChange(db, actor, params.id));
