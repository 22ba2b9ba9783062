import { apiRoute } from "@/lib/server/http";
import { revokeConnectedClient } from "@/lib/server/oauth/consents";

export const DELETE = apiRoute<{ id: string }>(({ db, actor, params }) => revokeConnectedClient(db, actor, params.id));
