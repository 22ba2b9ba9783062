import { apiRoute } from "@/lib/server/http";
import { revokeToken } from "@/lib/server/tokens";

export const DELETE = apiRoute<{ id: string }>(({ db, actor, params }) => revokeToken(db, actor, params.id));
