import { apiRoute } from "@/lib/server/http";
import { getStepUpRequest } from "@/lib/server/step-up";

export const GET = apiRoute<{ id: string }>(({ db, actor, params }) => getStepUpRequest(db, actor, params.id));
