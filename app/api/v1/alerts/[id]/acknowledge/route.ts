import { apiRoute, readJson } from "@/lib/server/http";
import { acknowledgeAlert } from "@/lib/server/alerts/alerts";

// The body is optional where every field is: a bare POST is accepted.
export const POST = apiRoute<{ id: string }>(async ({ db, actor, params, req }) =>
  acknowledgeAlert(db, actor, params.id, req.headers.get("content-type") ? await readJson(req) : {}),
);
