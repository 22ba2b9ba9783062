import { apiRoute, noContent } from "@/lib/server/http";
import { deleteOAuthClient } from "@/lib/server/oauth/registered-clients";

export const DELETE = apiRoute<{ id: string }>(async ({ db, actor, params }) => {
  await deleteOAuthClient(db, actor, params.id);
  return noContent();
});
