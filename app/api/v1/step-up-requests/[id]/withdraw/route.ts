import { apiRoute } from "@/lib/server/http";
import { requesterOfActor } from "@/lib/server/step-up-requester";
import { withdrawStepUpRequest } from "@/lib/server/step-up";

export const POST = apiRoute<{ id: string }>(async ({ db, actor, params }) => withdrawStepUpRequest(db, await requesterOfActor(db, actor), params.id));
