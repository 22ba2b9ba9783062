import "server-only";
import type { AdapterPayload, KoaContextWithOIDC } from "oidc-provider";
import type { Db } from "../db/client";
import { secretIdOf } from "../revocations";
import { findUsableServiceAccount, hashClientSecret, isServiceAccountClientId, presentedSecretHash } from "../service-accounts";

/**
 * Client secrets, and why the authorization server only ever sees their HMAC.
 *
 * oidc-provider authenticates `client_secret_basic` by comparing the presented secret, in constant
 * time, with the client's `client_secret` metadata: it has no hook for a hashed secret. Portico
 * stores only `HMAC(key from PORTICO_SECRET_KEY, secret)`, so:
 *
 * 1. the `Client` adapter (see adapter.ts) hands oidc-provider the HMAC as `client_secret`;
 * 2. the middleware below replaces the secret in every `Authorization: Basic` header by its HMAC
 *    before oidc-provider reads it (during a rotation grace period, the previous secret's HMAC is
 *    mapped onto the current one, the value the provider compares against).
 *
 * The HMAC is thus what the provider compares, but never something a caller can present: a
 * secret presented for a service-account client id is always hashed first, so a leaked database
 * row is not a credential. For the same reason the provider only offers `client_secret_basic`
 * among the secret-based methods: `client_secret_post` (secret in the body, which this middleware
 * does not rewrite) and `client_secret_jwt` (the stored value would be the HMAC key) would accept
 * the stored value itself. The alternative, overriding oidc-provider's `compareClientSecret`,
 * patches library internals.
 *
 * Only service-account client ids (`sa_…`) are rewritten: other clients (registered later for
 * people's MCP clients) keep oidc-provider's own handling of their credentials. The client id is
 * decoded exactly as oidc-provider decodes it, so the provider cannot resolve a service account
 * from a header this middleware let through unhashed.
 */

const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

/** The OAuth client a usable service account is; undefined (so `invalid_client`) when disabled, expired or unknown. */
export async function serviceAccountClientMetadata(db: Db, clientId: string): Promise<AdapterPayload | undefined> {
  const account = await findUsableServiceAccount(db, clientId);
  if (!account) return undefined;
  return {
    client_id: account.clientId,
    client_secret: account.secretHash,
    client_secret_expires_at: epoch(account.expiresAt),
    client_name: account.name,
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
  };
}

// RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding; oidc-provider
// decodes them this way, and so must we, or the two would disagree on what was presented.
const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, "%20"));

export function parseBasic(header: string): { clientId: string; secret: string } | null {
  const parts = header.split(" ");
  if (parts.length !== 2 || parts[0]!.toLowerCase() !== "basic") return null;
  const decoded = Buffer.from(parts[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return null;
  try {
    return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

/** Where the audit middleware finds the client id a request presented, even when it is unknown. */
export const PRESENTED_CLIENT_ID = "porticoPresentedClientId";

/**
 * Which of a service account's secrets the request presented (current, or previous in grace), for
 * the `portico_secret` claim: a revocation can then end one secret's tokens and spare the next's.
 * Read only once the provider has authenticated the client with that secret.
 */
export const PRESENTED_SECRET_ID = "porticoPresentedSecretId";

export function hashPresentedClientSecret(db: Db) {
  return async function hashClientSecretMiddleware(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    const header = ctx.req.headers.authorization;
    if (header && /^basic /i.test(header)) {
      const credentials = parseBasic(header);
      if (!credentials || !credentials.secret) {
        // Never let an unparsed header through: oidc-provider might read it and compare it as is.
        ctx.req.headers.authorization = "Basic !";
      } else {
        ctx.state[PRESENTED_CLIENT_ID] = credentials.clientId;
        if (isServiceAccountClientId(credentials.clientId)) {
          const hash = await presentedSecretHash(db, credentials.clientId, credentials.secret);
          // The presented secret's own HMAC is the stored hash of whichever secret it is.
          ctx.state[PRESENTED_SECRET_ID] = secretIdOf(hashClientSecret(credentials.secret));
          const value = `${encodeURIComponent(credentials.clientId)}:${hash}`;
          ctx.req.headers.authorization = `Basic ${Buffer.from(value, "utf8").toString("base64")}`;
        }
      }
    }
    await next();
  };
}
