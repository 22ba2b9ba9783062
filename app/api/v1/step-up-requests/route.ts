import { apiRoute, created, queryOf, readJson } from "@/lib/server/http";
import { requesterOfActor } from "@/lib/server/step-up-requester";
import { fileStepUpRequest, listStepUpRequests } from "@/lib/server/step-up";

export const GET = apiRoute(({ db, actor, req }) => listStepUpRequests(db, actor, queryOf(req)));
export const POST = apiRoute(async ({ db, actor, req }) => created(await fileStepUpRequest(db, await requesterOfActor(db, actor), await readJson(req))));
