import { apiRoute, created, readJson } from "@/lib/server/http";
import { createAlertChannel, listAlertChannels } from "@/lib/server/alerts/alerts";

export const GET = apiRoute(({ db, actor }) => listAlertChannels(db, actor));
export const POST = apiRoute(async ({ db, actor, req }) => created(await createAlertChannel(db, actor, await readJson(req))));
