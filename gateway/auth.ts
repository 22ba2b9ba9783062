import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

import { createRemoteJWKSet, customFetch, errors as joseErrors, jwksCache, jwtVerify, type JSONWebKeySet, type JWKSCacheInput, type JWTPayload } from "jose";

import { describeError, log } from "./log";

/**
 * The gateway as an OAuth 2.1 resource server: access tokens are JWTs issued by the control
 * plane's authorization server, verified offline against its JWKS. The audience must be the exact
 * portal URL, so a token minted for one portal is worthless at another.
 */

// Asymmetric only: "none" and HS* would let anyone who knows (or guesses) a shared secret mint tokens.
export const ACCEPTED_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

export const MCP_SCOPE = "mcp";

const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 10_000;

export type TokenIdentity = {
  kind: "user" | "service_account";
  /** `sub`: the user id, or the service account's client id. */
  subject: string;
  clientId: string | null;
  email: string | null;
  groups: string[];
  amr: string[];
  scopes: string[];
  expiresAt: number | null;
  /** `iat`, in seconds: a revocation refuses tokens issued before it. */
  issuedAt: number | null;
  tokenId: string | null;
  /** `portico_grant`: the OAuth grant (a person's connected client) the token was issued under. */
  grantId: string | null;
  /** `portico_secret`: the service-account secret that minted the token. */
  secretId: string | null;
  /** `portico_elevation`: the step-up grant an elevated token was issued under; its scope counts only while that grant is active. */
  elevationId?: string | null;
};

export type AuthResult =
  | { ok: true; identity: TokenIdentity }
  | {
      ok: false;
      status: 401 | 403 | 503;
      error: "invalid_request" | "invalid_token" | "insufficient_scope" | "temporarily_unavailable";
      /** Short and fixed, for logs and audit: never the token, never a claim value. */
      reason: string;
      /** What is wrong, in plain words for whoever reads the answer (a script author): may name the token's own portal or expiry, never the token. */
      description: string;
      hadToken: boolean;
    };

export type TokenVerifier = {
  verify(authorization: string | undefined, portalUrl: string): Promise<AuthResult>;
  close(): void;
};

const stringArray = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : typeof value === "string" ? [value] : [];

export function identityFromClaims(payload: JWTPayload): TokenIdentity | null {
  if (typeof payload.sub !== "string" || payload.sub.length === 0) return null;
  const kind = payload.portico_kind === "service_account" ? "service_account" : "user";
  const scope = typeof payload.scope === "string" ? payload.scope.split(" ").filter(Boolean) : stringArray(payload.scp);
  return {
    kind,
    subject: payload.sub,
    clientId: typeof payload.client_id === "string" ? payload.client_id : null,
    email: typeof payload.email === "string" ? payload.email : null,
    groups: stringArray(payload.groups),
    amr: stringArray(payload.amr),
    scopes: scope,
    expiresAt: typeof payload.exp === "number" ? payload.exp : null,
    issuedAt: typeof payload.iat === "number" ? payload.iat : null,
    tokenId: typeof payload.jti === "string" ? payload.jti : null,
    grantId: typeof payload.portico_grant === "string" ? payload.portico_grant : null,
    secretId: typeof payload.portico_secret === "string" ? payload.portico_secret : null,
    elevationId: typeof payload.portico_elevation === "string" ? payload.portico_elevation : null,
  };
}

/** A short, fixed reason for logs and audit: never the token, never a claim value. */
function failureReason(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `token claim "${error.claim}" rejected`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "token algorithm not allowed";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature invalid";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "token signing key unknown";
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) return "token malformed";
  if (error instanceof joseErrors.JOSENotSupported) return "token algorithm not supported";
  return "token rejected";
}

/** A claim value fit for a response body and a quoted header parameter: printable ASCII, bounded. */
const printable = (value: unknown) => String(value).replace(/[^\x20-\x7e]/g, "").replace(/["\\]/g, "").slice(0, 200);

/** `https://gw/mcp/<slug>` → `portal "<slug>" (https://gw/mcp/<slug>)`; anything else as it is. */
function portalOf(url: string): string {
  const slug = /\/mcp\/([^/?#]+)\/?$/.exec(url)?.[1];
  return slug ? `portal "${slug}" (${url})` : url;
}

const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");

/**
 * What is wrong with a refused token, in plain words, for the answer's body and error_description.
 * It may name what the signed token itself says (its portal, its expiry): its bearer can read those
 * anyway. It never repeats the token.
 */
function failureDescription(error: unknown, portalUrl: string): string {
  if (error instanceof joseErrors.JWTExpired) {
    const exp = error.payload.exp;
    const when = typeof exp === "number" && Number.isFinite(exp) ? ` at ${isoSeconds(exp)}` : "";
    return `the token expired${when}; get a new one`;
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const { claim, payload } = error;
    if (claim === "aud") {
      const audiences = (Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud]).map(printable).filter(Boolean);
      const issuedFor = audiences.length > 0 ? `for ${audiences.slice(0, 3).map(portalOf).join(", ")}` : "for no portal";
      return `the token was issued ${issuedFor}, not for this ${portalOf(portalUrl)}; get a token with resource=${portalUrl}`;
    }
    if (claim === "iss") return "the token was issued by another authorization server, not this portal's";
    if (claim === "nbf") return "the token is not valid yet (its nbf is in the future); check the clock";
    if (error.reason === "missing") return `the token lacks the "${printable(claim)}" claim`;
    return `the token's "${printable(claim)}" claim is not acceptable`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return "the token is signed with an algorithm this gateway does not accept";
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return "the token's signature is not valid: it was altered, or not signed by this portal's authorization server";
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return "the token was signed with a key this portal's authorization server does not publish (retired, or another server's); get a new token";
  }
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid) return "the bearer token is not a well-formed access token (a signed JWT)";
  return "the token was not accepted";
}

function isKeySetUnavailable(error: unknown): boolean {
  return error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || (error instanceof TypeError && /fetch/i.test(error.message));
}

/** The last key set seen, so a gateway restarted while the control plane is down still verifies tokens. */
function loadKeyCache(file: string | undefined): JWKSCacheInput {
  if (!file) return {};
  try {
    const saved = JSON.parse(readFileSync(file, "utf8")) as { uat?: unknown; jwks?: JSONWebKeySet };
    if (typeof saved.uat === "number" && Array.isArray(saved.jwks?.keys)) return { uat: saved.uat, jwks: saved.jwks };
  } catch {
    // None saved yet.
  }
  return {};
}

function saveKeyCache(file: string, jwks: JSONWebKeySet) {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ uat: Date.now(), jwks }), { mode: 0o600 });
    renameSync(temp, file);
  } catch (error) {
    log("warn", "could not save the token signing keys", describeError(error));
  }
}

/**
 * Whether a verified token has been revoked since it was issued: the short, fixed reason, or null.
 * The gateway answers it from the running config's revocation index (one Map get per identifier).
 */
export type RevocationCheck = (identity: TokenIdentity, now: number) => string | null;

export function createTokenVerifier(options: { controlPlaneUrl: string; refreshMs?: number; cacheFile?: string; isRevoked?: RevocationCheck }): TokenVerifier {
  const isRevoked = options.isRevoked ?? (() => null);
  const issuer = `${options.controlPlaneUrl}/oauth`;
  const cacheFile = options.cacheFile;
  // Cached without expiry: once keys are known, tokens verify with the control plane down. They are
  // still refreshed in the background, and jose refetches at once on an unknown kid (30 s cooldown).
  const jwks = createRemoteJWKSet(new URL(`${options.controlPlaneUrl}/oauth/jwks`), {
    cacheMaxAge: Number.POSITIVE_INFINITY,
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
    [jwksCache]: loadKeyCache(cacheFile),
    [customFetch]: async (url, init) => {
      const res = await fetch(url, init);
      if (cacheFile && res.status === 200) {
        const copy = res.clone();
        void copy
          .json()
          .then((body: JSONWebKeySet) => Array.isArray(body?.keys) && saveKeyCache(cacheFile, body))
          .catch(() => undefined);
      }
      return res;
    },
  });
  const refresh = setInterval(() => {
    jwks.reload().catch(() => {
      // Keep the keys we have; the next unknown kid or tick tries again.
    });
  }, options.refreshMs ?? 10 * 60_000);
  refresh.unref();

  // Tokens already verified for a portal, so a client's every request does not pay for a signature
  // check again. Bounded in size and time: an entry lives at most VERIFIED_TTL_MS and never past the
  // token's own expiry, so a key withdrawn from the JWKS stops working within that minute. A hit is
  // checked against revocations like a fresh token, so the cache never outlives a revocation.
  const verified = new Map<string, { identity: TokenIdentity; until: number }>();
  const revoked = (reason: string): AuthResult => ({
    ok: false,
    status: 401,
    error: "invalid_token",
    reason: `token revoked: ${reason}`,
    description: `the token was revoked (${reason}); get a new one`,
    hadToken: true,
  });

  return {
    async verify(authorization, portalUrl) {
      if (!authorization) return { ok: false, status: 401, error: "invalid_request", reason: "no bearer token", description: "a valid bearer token for this portal is required", hadToken: false };
      const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization);
      if (!match?.[1]) return { ok: false, status: 401, error: "invalid_token", reason: "authorization is not a bearer token", description: 'the Authorization header is not a bearer token; send "Authorization: Bearer <access token>"', hadToken: true };
      const cacheKey = `${portalUrl} ${match[1]}`;
      const hit = verified.get(cacheKey);
      if (hit) {
        const now = Date.now();
        if (now < hit.until) {
          const reason = isRevoked(hit.identity, now);
          if (reason === null) return { ok: true, identity: hit.identity };
          verified.delete(cacheKey);
          return revoked(reason);
        }
        verified.delete(cacheKey);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(match[1], jwks, {
          issuer,
          audience: portalUrl,
          algorithms: ACCEPTED_TOKEN_ALGORITHMS,
          requiredClaims: ["exp", "sub"],
          clockTolerance: 5,
        }));
      } catch (error) {
        if (isKeySetUnavailable(error)) {
          return { ok: false, status: 503, error: "temporarily_unavailable", reason: "authorization server keys unavailable", description: "the authorization server's keys are unavailable; try again shortly", hadToken: true };
        }
        return { ok: false, status: 401, error: "invalid_token", reason: failureReason(error), description: failureDescription(error, portalUrl), hadToken: true };
      }
      const identity = identityFromClaims(payload);
      if (!identity) return { ok: false, status: 401, error: "invalid_token", reason: "token has no subject", description: "the token names no subject (sub)", hadToken: true };
      const reason = isRevoked(identity, Date.now());
      if (reason !== null) return revoked(reason);
      if (!identity.scopes.includes(MCP_SCOPE)) {
        return { ok: false, status: 403, error: "insufficient_scope", reason: `token lacks the "${MCP_SCOPE}" scope`, description: `the token lacks the "${MCP_SCOPE}" scope; ask for it when getting the token`, hadToken: true };
      }
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      verified.set(cacheKey, { identity, until: Math.min(Date.now() + VERIFIED_TTL_MS, (identity.expiresAt ?? 0) * 1000) });
      return { ok: true, identity };
    },
    close() {
      clearInterval(refresh);
      verified.clear();
    },
  };
}

export const protectedResourceMetadataPath = (slug: string) => `/.well-known/oauth-protected-resource/mcp/${slug}`;

/** RFC 9728 metadata for one portal: the control plane is its authorization server. */
export function protectedResourceMetadata(options: { gatewayUrl: string; controlPlaneUrl: string; slug: string }) {
  return {
    resource: `${options.gatewayUrl}/mcp/${options.slug}`,
    authorization_servers: [`${options.controlPlaneUrl}/oauth`],
    scopes_supported: [MCP_SCOPE],
    bearer_methods_supported: ["header"],
    resource_name: `Portico portal ${options.slug}`,
  };
}

const quote = (value: string) => `"${value.replace(/["\\]/g, "")}"`;

/** The RFC 6750 / RFC 9728 challenge an MCP client follows to find where to get a token. */
export function bearerChallenge(options: {
  gatewayUrl: string;
  slug: string;
  error?: string;
  description?: string;
  scope?: string;
}): string {
  const parts = [`resource_metadata=${quote(`${options.gatewayUrl}${protectedResourceMetadataPath(options.slug)}`)}`, `scope=${quote(options.scope ?? MCP_SCOPE)}`];
  if (options.error) parts.push(`error=${quote(options.error)}`);
  if (options.description) parts.push(`error_description=${quote(options.description)}`);
  return `Bearer ${parts.join(", ")}`;
}
