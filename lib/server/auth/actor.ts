import "server-only";
import { AppError, forbidden } from "@/lib/errors";
import { roleCan, scopeFor, type DashboardRole, type Permission, type TokenScope } from "@/lib/auth/permissions";

type Context = { requestId?: string; ip?: string };

/** Who is acting. Every data-access function takes one and authorizes itself against it. */
export type Actor = Context &
  (
    | { type: "user"; userId: string; email: string; name: string; role: DashboardRole; mfa: boolean }
    | {
        type: "api_token";
        tokenId: string;
        tokenPrefix: string;
        userId: string;
        email: string;
        name: string;
        role: DashboardRole;
        scopes: TokenScope[];
      }
    | { type: "system"; label: string }
  );

export function can(actor: Actor, permission: Permission): boolean {
  if (actor.type === "system") return true;
  if (!roleCan(actor.role, permission)) return false;
  return actor.type === "user" || actor.scopes.includes(scopeFor(permission));
}

export function authorize(actor: Actor | null, permission: Permission): asserts actor is Actor {
  if (!actor) throw new AppError("unauthorized", "Sign in or send an API token");
  const missing = missingScope(actor, permission);
  if (missing) throw forbidden(`This API token lacks the \`${missing}\` scope`);
  if (!can(actor, permission)) throw forbidden();
}

/**
 * The scope an API token would need for a permission its owner's role has: the one thing its
 * caller can fix (a new token), so the refusal names it. Null when the scope is not what is missing.
 */
export function missingScope(actor: Actor, permission: Permission): TokenScope | null {
  if (actor.type !== "api_token" || !roleCan(actor.role, permission)) return null;
  const scope = scopeFor(permission);
  return actor.scopes.includes(scope) ? null : scope;
}

/** The user behind an actor, for things people own (API tokens, MFA). */
export function ownerId(actor: Actor): string {
  if (actor.type === "system") throw forbidden("System actions have no user");
  return actor.userId;
}

export const systemActor = (label: string): Actor => ({ type: "system", label });
