import { apiRoute, readJson } from "@/lib/server/http";
import { denyStepUpRequest } from "@/lib/server/step-up";

export const POST = apiRoute<{ id: string }>(async ({ db, actor, params, req }) => denyStepUpRequest(db, actor, params.id, await readJson(req)));
