import { apiRoute, readJson } from "@/lib/server/http";
import { testDlp } from "@/lib/server/dlp";

/** The patterns test box: matches on sample text. Changes nothing. */
export const POST = apiRoute(async ({ db, actor, req }) => testDlp(db, actor, await readJson(req)));
