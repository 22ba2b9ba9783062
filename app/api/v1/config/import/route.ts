import { apiRoute, queryOf } from "@/lib/server/http";
import { importConfig, readConfigBody } from "@/lib/server/config-changes";

export const POST = apiRoute(async ({ db, actor, req }) => importConfig(db, actor, await readConfigBody(req), queryOf(req)));
