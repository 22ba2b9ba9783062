import "server-only";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { AppError } from "@/lib/errors";
import { getDb } from "../db/instance";
import { auth } from "./next-auth";
import { resolveApiToken } from "./api-tokens";
import { clientIp, requestIdFrom } from "./request-context";
import type { Actor } from "./actor";

/**
 * Resolves who is calling: a bearer API token, or the session cookie. The user row is read on every
 * request so that a disabled user or a changed role takes effect at once, not at session expiry.
 */
export async function getActor(requestHeaders?: Headers): Promise<Actor | null> {
  const h = requestHeaders ?? (await headers());
  const ctx = { requestId: requestIdFrom(h), ip: clientIp(h) };
  const authorization = h.get("authorization");
  const db = await getDb();
  if (authorization) {
    const [scheme, token] = authorization.split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !token) return null;
    return resolveApiToken(db, token, ctx);
  }
  const session = await auth();
  const userId = session?.user?.id;
  if (!userId) return null;
  const user = await db.user.findUnique({ where: { id: userId } });
  if (!user || user.disabled) return null;
  return { type: "user", userId: user.id, email: user.email, name: user.name, role: user.role, mfa: session.mfa, ...ctx };
}

export async function requireActor(requestHeaders?: Headers): Promise<Actor> {
  const actor = await getActor(requestHeaders);
  if (!actor) throw new AppError("unauthorized", "Sign in or send a valid API token");
  return actor;
}

/** For pages: the signed-in user, or a redirect to the sign-in page. */
export async function requireUser(): Promise<Extract<Actor, { type: "user" }>> {
  const actor = await getActor();
  if (!actor || actor.type !== "user") redirect("/sign-in");
  return actor;
}
