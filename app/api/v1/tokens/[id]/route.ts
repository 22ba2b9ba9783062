import { apiRoute, noContent } from "@/lib/server/http";
import { revokeToken } from "@/lib/server/tokens";

// Every DELETE of /api/v1 answers 204 with no body (lib/api/openapi.ts).
export const DELETE = apiRoute<{ id: string }>(async ({ db, actor, params }) => {
  await revokeToken(db, actor, params.id);
  return noContent();
});
