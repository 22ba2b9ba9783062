import { bearerChallenge, type TokenIdentity, type TokenVerifier } from "../auth";

/**
 * Stage 2, authenticate: the bearer token, verified offline (signature, issuer, audience = this
 * portal's URL, expiry, the base scope) by the verifier, which caches what it verified. A refusal
 * carries the RFC 6750 / RFC 9728 challenge a client follows to get a token.
 */

export type Authentication =
  | { ok: true; identity: TokenIdentity }
  | { ok: false; status: number; message: string; reason: string; headers: Record<string, string> };

const PREFIX: Record<number, string> = { 401: "Unauthorized", 403: "Forbidden" };

/** The body says what is wrong in plain words (script authors read bodies, not challenges): `Unauthorized: the token expired at …`. */
const messageOf = (status: number, description: string) => {
  const sentence = `${description.charAt(0).toUpperCase()}${description.slice(1)}.`;
  return PREFIX[status] ? `${PREFIX[status]}: ${description}.` : sentence;
};

export function createAuthenticate(options: { verifier: TokenVerifier; gatewayUrl: string }) {
  return async (authorization: string | undefined, portal: { slug: string; url: string }): Promise<Authentication> => {
    const auth = await options.verifier.verify(authorization, portal.url);
    if (auth.ok) return auth;
    const headers: Record<string, string> = {};
    if (auth.status === 401 || auth.status === 403) {
      headers["www-authenticate"] = bearerChallenge({
        gatewayUrl: options.gatewayUrl,
        slug: portal.slug,
        // No error code when no token was sent at all (RFC 6750 §3.1).
        error: auth.hadToken || auth.status === 403 ? auth.error : undefined,
        description: auth.hadToken ? auth.description : undefined,
      });
    } else {
      headers["retry-after"] = "5";
    }
    return { ok: false, status: auth.status, message: messageOf(auth.status, auth.description), reason: auth.reason, headers };
  };
}
