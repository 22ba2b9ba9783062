import { bearerChallenge, type TokenIdentity, type TokenVerifier } from "../auth";

/**
 * Stage 2, authenticate: the bearer token, verified offline (signature, issuer, audience = this
 * portal's URL, expiry, the base scope) by the verifier, which caches what it verified. A refusal
 * carries the RFC 6750 / RFC 9728 challenge a client follows to get a token.
 */

export type Authentication =
  | { ok: true; identity: TokenIdentity }
  | { ok: false; status: number; message: string; reason: string; headers: Record<string, string> };

const MESSAGES: Record<number, string> = {
  401: "Unauthorized: a valid bearer token for this portal is required.",
  403: "Forbidden: the token lacks the required scope.",
  503: "The authorization server's keys are unavailable; try again shortly.",
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
        description: auth.hadToken ? auth.reason : undefined,
      });
    } else {
      headers["retry-after"] = "5";
    }
    return { ok: false, status: auth.status, message: MESSAGES[auth.status]!, reason: auth.reason, headers };
  };
}
