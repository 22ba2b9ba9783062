import { apiRoute, readJson } from "@/lib/server/http";
import { explainPolicy } from "@/lib/server/policy-explainer";

export const POST = apiRoute(async ({ db, actor, req }) => explainPolicy(db, actor, await readJson(req)));
