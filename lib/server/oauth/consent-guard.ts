import "server-only";
import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Guards of the consent page's decision:
 *
 * - the browser must be the one that started the authorization request: oidc-provider sets its
 *   `_interaction` cookie (value: the request's uid, scoped to the page's path) on that browser
 *   only, so a link to someone else's pending request cannot be approved by a signed-in victim;
 * - the form carries a token bound to the request and the signed-in person (CSRF), on top of the
 *   SameSite cookies and the Origin check.
 */
export const INTERACTION_COOKIE = "_interaction";

export function startedInThisBrowser(cookieValue: string | undefined, uid: string): boolean {
  return typeof cookieValue === "string" && cookieValue === uid;
}

function key(): Buffer {
  const secret = process.env.AUTH_SECRET;
  if (!secret) throw new Error("AUTH_SECRET is not set");
  return createHmac("sha256", secret).update("portico/oauth-consent-csrf/v1").digest();
}

export function consentFormToken(uid: string, userId: string): string {
  return createHmac("sha256", key()).update(`${uid}\n${userId}`).digest("base64url");
}

export function isConsentFormToken(token: unknown, uid: string, userId: string): boolean {
  if (typeof token !== "string") return false;
  const expected = Buffer.from(consentFormToken(uid, userId));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
