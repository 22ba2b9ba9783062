import "server-only";
import type { NextRequest } from "next/server";
import { createLocalJWKSet, jwtVerify } from "jose";
import { AppError, forbidden } from "@/lib/errors";
import { createRevocationIndex } from "@/lib/config/revocations";
import type { Actor } from "./auth/actor";
import type { Db } from "./db/client";
import { getDb } from "./db/instance";
import { clientIp, requestIdFrom } from "./auth/request-context";
import { respond } from "./http";
import { getOAuthPublicJwks } from "./oauth/keys";
import { oauthIssuer } from "./oauth/mount";
import { portalSlugFromResource } from "./oauth/resource";
import { liveRevocations } from "./revocations";
import { isServiceAccountClientId } from "./service-accounts";
import { userRequester, type Requester } from "./step-up";

/** A dashboard user or their API token files requests as themselves; system actors have no one to elevate. */
export async function requesterOfActor(db: Db, actor: Actor): Promise<Requester> {
  if (actor.type === "system") throw forbidden("Only people and service accounts ask for elevated access");
  return userRequester(db, actor.userId, { requestId: actor.requestId, ip: actor.ip });
}

/** Whether an Authorization header carries a JWT (an OAuth access token), not a Portico API token. */
export function isAccessToken(authorization: string | null): boolean {
  return !!authorization && /^Bearer\s+[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/i.test(authorization.trim());
}

/**
 * An automation files a step-up request with the access token it already holds: a client-credentials
 * token of a service account, verified like the gateway does (signature, issuer, a portal's
 * audience, not revoked) and good for requests on that portal only. The account must still exist
 * and be enabled.
 */
export async function serviceAccountRequester(db: Db, authorization: string, context: { requestId?: string; ip?: string }): Promise<{ requester: Requester; portal: string }> {
  const token = authorization.trim().replace(/^Bearer\s+/i, "");
  let payload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(await getOAuthPublicJwks(db)), { issuer: oauthIssuer(), requiredClaims: ["exp", "sub", "aud"] }));
  } catch {
    throw new AppError("unauthorized", "The access token is not valid");
  }
  const clientId = typeof payload.client_id === "string" ? payload.client_id : null;
  const audience = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
  const portal = audience ? portalSlugFromResource(audience) : null;
  if (payload.portico_kind !== "service_account" || !clientId || clientId !== payload.sub || !isServiceAccountClientId(clientId) || !portal) {
    throw new AppError("unauthorized", "Only a service account's client-credentials token files step-up requests");
  }
  const revoked = createRevocationIndex(await liveRevocations(db)).check(
    { subject: clientId, clientId, grantId: null, tokenId: typeof payload.jti === "string" ? payload.jti : null, secretId: typeof payload.portico_secret === "string" ? payload.portico_secret : null, issuedAt: payload.iat ?? null },
    Date.now(),
  );
  const account = await db.serviceAccount.findUnique({ where: { clientId }, select: { name: true, disabledAt: true, expiresAt: true } });
  if (revoked !== null || !account || account.disabledAt || account.expiresAt <= new Date()) throw new AppError("unauthorized", "The access token is not valid");
  return { requester: { kind: "service_account", clientId, name: account.name, ...context }, portal };
}

type RouteHandler<P> = (req: NextRequest, context: { params: Promise<P> }) => Promise<Response>;

/**
 * The step-up routes a service account calls with the client-credentials token it files with:
 * the handler gets the account as a requester and the one portal the token is for, and may only
 * act on that account's own requests there (it holds no dashboard role, so nothing else).
 */
export function serviceAccountRoute<P>(handler: (ctx: { req: NextRequest; params: P; db: Db; requester: Requester; portal: string }) => Promise<unknown>): RouteHandler<P> {
  return (req, context) => {
    const requestId = requestIdFrom(req.headers);
    return respond(req, requestId, async () => {
      const db = await getDb();
      const { requester, portal } = await serviceAccountRequester(db, req.headers.get("authorization")!, { requestId, ip: clientIp(req.headers) ?? undefined });
      return handler({ req, params: await context.params, db, requester, portal });
    });
  };
}

/** An OAuth access token goes to the service account's handler, anything else (session, API token) to the dashboard's. */
export function byAccessToken<P>(asServiceAccount: RouteHandler<P>, asActor: RouteHandler<P>): RouteHandler<P> {
  return (req, context) => (isAccessToken(req.headers.get("authorization")) ? asServiceAccount(req, context) : asActor(req, context));
}
