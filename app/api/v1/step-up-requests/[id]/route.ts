import { apiRoute } from "@/lib/server/http";
import { byAccessToken, serviceAccountRoute } from "@/lib/server/step-up-requester";
import { getOwnStepUpRequest, getStepUpRequest } from "@/lib/server/step-up";

/** People read with their session or API token; a service account reads its own with the token it filed with. */
export const GET = byAccessToken<{ id: string }>(
  serviceAccountRoute(({ db, requester, portal, params }) => getOwnStepUpRequest(db, requester, params.id, { portal })),
  apiRoute(({ db, actor, params }) => getStepUpRequest(db, actor, params.id)),
);
