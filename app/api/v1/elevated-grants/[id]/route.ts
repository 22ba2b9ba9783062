import { apiRoute } from "@/lib/server/http";
import { getElevatedGrant } from "@/lib/server/step-up";

export const GET = apiRoute<{ id: string }>(({ db, actor, params }) => getElevatedGrant(db, actor, params.id));
