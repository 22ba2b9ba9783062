import { apiRoute, queryOf } from "@/lib/server/http";
import { listConnectedClients } from "@/lib/server/oauth/consents";

export const GET = apiRoute(({ db, actor, req }) => listConnectedClients(db, actor, queryOf(req)));
