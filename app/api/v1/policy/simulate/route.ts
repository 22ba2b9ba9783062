import { apiRoute, readJson } from "@/lib/server/http";
import { simulatePolicy } from "@/lib/server/policy-explainer";

export const POST = apiRoute(async ({ db, actor, req }) => simulatePolicy(db, actor, await readJson(req)));
