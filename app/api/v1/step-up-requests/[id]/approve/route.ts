import { apiRoute, readJson } from "@/lib/server/http";
import { approveStepUpRequest } from "@/lib/server/step-up";

export const POST = apiRoute<{ id: string }>(async ({ db, actor, params, req }) => approveStepUpRequest(db, actor, params.id, req.headers.get("content-length") === "0" ? {} : await readJson(req)));
