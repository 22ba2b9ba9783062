import { apiRoute } from "@/lib/server/http";
import { previewRollback, rollbackToVersion } from "@/lib/server/config-changes";

type Params = { id: string };

/** What a rollback would change and what it cannot restore: shown before confirming. */
export const GET = apiRoute<Params>(({ db, actor, params }) => previewRollback(db, actor, params.id));
export const POST = apiRoute<Params>(({ db, actor, params }) => rollbackToVersion(db, actor, params.id));
