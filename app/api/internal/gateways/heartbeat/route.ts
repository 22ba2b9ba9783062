import { internalRoute, readJson } from "@/lib/server/http";
import { recordHeartbeat } from "@/lib/server/gateways";

export const POST = internalRoute(async ({ db, req }) => recordHeartbeat(db, await readJson(req)));
