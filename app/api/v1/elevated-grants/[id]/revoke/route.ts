import { apiRoute } from "@/lib/server/http";
import { revokeElevatedGrant } from "@/lib/server/step-up";

export const POST = apiRoute<{ id: string }>(({ db, actor, params }) => revokeElevatedGrant(db, actor, params.id));
