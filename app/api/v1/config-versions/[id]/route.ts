import { apiRoute } from "@/lib/server/http";
import { getVersionDetail } from "@/lib/server/config-changes";

type Params = { id: string };

export const GET = apiRoute<Params>(({ db, actor, params }) => getVersionDetail(db, actor, params.id));
