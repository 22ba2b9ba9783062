import { apiRoute, created, readJson } from "@/lib/server/http";
import { createLogDestination, listLogDestinations } from "@/lib/server/log-destinations";

export const GET = apiRoute(({ db, actor }) => listLogDestinations(db, actor));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createLogDestination(db, actor, await readJson(req))));
