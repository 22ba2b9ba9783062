import { apiRoute } from "@/lib/server/http";
import { listPortalTools } from "@/lib/server/portals";

export const GET = apiRoute<{ id: string }>(async ({ db, actor, params }) => ({ items: await listPortalTools(db, actor, params.id) }));
