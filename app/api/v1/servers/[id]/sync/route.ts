import { apiRoute } from "@/lib/server/http";
import { syncServer } from "@/lib/server/sync";

export const POST = apiRoute<{ id: string }>(({ db, actor, params }) => syncServer(db, actor, params.id));
