import { apiRoute } from "@/lib/server/http";
import { byAccessToken, requesterOfActor, serviceAccountRoute } from "@/lib/server/step-up-requester";
import { getOwnStepUpRequest, withdrawStepUpRequest } from "@/lib/server/step-up";

/** The requester takes back its own pending request: a person, or a service account with the token it filed with. */
export const POST = byAccessToken<{ id: string }>(
  serviceAccountRoute(async ({ db, requester, portal, params }) => {
    // The token is for one portal: a request on another is not this token's to touch.
    await getOwnStepUpRequest(db, requester, params.id, { portal });
    return withdrawStepUpRequest(db, requester, params.id);
  }),
  apiRoute(async ({ db, actor, params }) => withdrawStepUpRequest(db, await requesterOfActor(db, actor), params.id)),
);
