import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import { env } from "../env";

/** Path of the authorization server under the control plane's origin; the issuer is `{CP}/oauth`. */
export const OAUTH_MOUNT_PATH = "/oauth";

export const oauthIssuer = (controlPlaneUrl = env().PORTICO_CONTROL_PLANE_URL) => `${controlPlaneUrl.replace(/\/$/, "")}${OAUTH_MOUNT_PATH}`;

/**
 * Sign-in and consent for an authorization request are dashboard pages under the issuer's path, so
 * oidc-provider's interaction cookie (scoped to this path) reaches them; they are Next.js's, not the provider's.
 */
const INTERACTION_PREFIX = `${OAUTH_MOUNT_PATH}/interaction/`;
export const interactionPath = (uid: string) => `${INTERACTION_PREFIX}${encodeURIComponent(uid)}`;

/** Where the authorization server publishes its public signing keys (oidc-provider's `jwks` route). */
export const oauthJwksUri = (controlPlaneUrl?: string) => `${oauthIssuer(controlPlaneUrl)}/jwks`;

/**
 * RFC 8414 §3.1 inserts the well-known segment before the issuer's path, so for `{CP}/oauth` the
 * metadata lives at the origin's `/.well-known/oauth-authorization-server/oauth`; MCP clients
 * (authorization spec 2025-11-25) also try OIDC discovery with insertion, then appended
 * (`/oauth/.well-known/openid-configuration`, served by the provider under its mount).
 */
const PATH_INSERTED_METADATA = new Map([
  [`/.well-known/oauth-authorization-server${OAUTH_MOUNT_PATH}`, "/.well-known/oauth-authorization-server"],
  [`/.well-known/openid-configuration${OAUTH_MOUNT_PATH}`, "/.well-known/openid-configuration"],
]);

/** The provider-relative URL (path and query) a request is for, or null when it is not the authorization server's. */
export function providerUrlFor(url: string): string | null {
  const queryAt = url.indexOf("?");
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? "" : url.slice(queryAt);
  const inserted = PATH_INSERTED_METADATA.get(path);
  if (inserted) return `${inserted}${query}`;
  if (path.startsWith(INTERACTION_PREFIX)) return null;
  if (path === OAUTH_MOUNT_PATH) return `/${query}`;
  if (path.startsWith(`${OAUTH_MOUNT_PATH}/`)) return `${path.slice(OAUTH_MOUNT_PATH.length)}${query}`;
  return null;
}

// The dashboard's own headers (next.config.ts) do not reach these answers: set the same here.
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/**
 * A Node request listener for the authorization server's paths. Returns false, touching nothing,
 * for any other request (the caller hands those to Next.js).
 */
export function createOAuthRequestHandler(provider: Provider): (req: IncomingMessage, res: ServerResponse) => boolean {
  const callback = provider.callback();
  return (req, res) => {
    const original = req.url ?? "/";
    const target = providerUrlFor(original);
    if (target === null) return false;
    // What Express's mounting does; oidc-provider builds its endpoint URLs from these.
    Object.assign(req, { url: target, originalUrl: original, baseUrl: OAUTH_MOUNT_PATH });
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    void callback(req, res);
    return true;
  };
}
