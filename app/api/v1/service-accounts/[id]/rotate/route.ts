import { apiRoute, readJson } from "@/lib/server/http";
import { rotateServiceAccountSecret } from "@/lib/server/service-accounts";

// The body ({ graceHours }) is optional: without one, the replaced secret keeps working for 24 h.
export const POST = apiRoute<{ id: string }>(async ({ db, actor, params, req }) =>
  rotateServiceAccountSecret(db, actor, params.id, req.headers.get("content-type") ? await readJson(req) : {}),
);
