import { apiRoute } from "@/lib/server/http";
import { permissions, type Permission } from "@/lib/auth/permissions";
import { can } from "@/lib/server/auth/actor";

/** Who the caller is and what they may do: lets API clients and the UI hide what would be refused. */
export const GET = apiRoute(async ({ actor }) => ({
  type: actor.type,
  ...(actor.type === "system" ? {} : { userId: actor.userId, email: actor.email, name: actor.name, role: actor.role }),
  ...(actor.type === "api_token" ? { scopes: actor.scopes } : {}),
  permissions: (Object.keys(permissions) as Permission[]).filter((p) => can(actor, p)),
}));
