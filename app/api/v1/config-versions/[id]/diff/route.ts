import { apiRoute } from "@/lib/server/http";
import { diffConfigVersions } from "@/lib/server/config-changes";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params, req }) => diffConfigVersions(db, actor, params.id, req.nextUrl.searchParams.get("against") ?? undefined));
