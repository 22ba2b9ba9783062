import "server-only";
import { createHmac } from "node:crypto";
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import type { Db } from "../db/client";
import { describeError, log } from "../log";
import { isServiceAccountClientId } from "../service-accounts";
import { prismaAdapter } from "./adapter";
import { hashPresentedClientSecret } from "./clients";
import { oauthIssuer } from "./mount";
import { ACCESS_TOKEN_SIGNING_ALG, loadOrCreateProviderJwks } from "./keys";
import { ACCESS_TOKEN_TTL_SECONDS, MCP_SCOPE, portalSlugFromResource } from "./resource";
import { auditTokenRequests } from "./token-audit";

function cookieKeys(): string[] {
  const secret = process.env.AUTH_SECRET;
  if (!secret) throw new Error("AUTH_SECRET is not set: the authorization server cannot sign its cookies");
  // A key of its own, so these cookies' signatures never share a key with next-auth's session.
  return [createHmac("sha256", secret).update("portico/oauth-cookies/v1").digest("base64url")];
}

/**
 * The client-credentials grant takes `scope` as optional. A portal has one base scope, so a
 * service account that names none gets it, in the token and in the token response alike.
 */
function defaultClientCredentialsScope(ctx: KoaContextWithOIDC) {
  const params = ctx.oidc.params as { grant_type?: unknown; scope?: unknown } | undefined;
  if (ctx.oidc.route === "token" && params?.grant_type === "client_credentials" && !params.scope) params.scope = MCP_SCOPE;
}

/** Whether a role the service account holds (its own, or as a named principal) grants anything on the portal. */
async function holdsRoleOnPortal(db: Db, clientId: string, portalId: string): Promise<boolean> {
  const grants = await db.roleGrant.count({
    where: {
      portalId,
      role: { OR: [{ serviceAccounts: { some: { clientId } } }, { principals: { some: { kind: "service_account", value: clientId } } }] },
    },
  });
  return grants > 0;
}

export async function createOAuthProvider(db: Db, options: { issuer?: string } = {}): Promise<Provider> {
  const issuer = options.issuer ?? oauthIssuer();
  const jwks = await loadOrCreateProviderJwks(db);
  const ttl = (_ctx: KoaContextWithOIDC, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL_SECONDS;

  const configuration: Configuration = {
    adapter: prismaAdapter(db),
    jwks: jwks as Configuration["jwks"],
    cookies: { keys: cookieKeys() },
    // Secret-based client authentication is `client_secret_basic` only: see clients.ts for why.
    clientAuthMethods: ["client_secret_basic", "private_key_jwt", "none"],
    clientDefaults: {
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "ES256",
    },
    // oidc-provider only implements S256; this makes PKCE mandatory for every client, not only public ones.
    pkce: { required: () => true },
    // No person signs in through this server yet (there are no interactions): no subject is an
    // account. The default would accept any `sub` as one.
    findAccount: () => undefined,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // RFC 8707 is not optional here: a token is always for one portal, named by the client.
        defaultResource: (_ctx, _client, oneOf) => {
          if (oneOf?.length === 1) return oneOf[0];
          if (oneOf?.length) return oneOf;
          throw new errors.InvalidTarget("the resource parameter is required: the URL of the portal the token is for");
        },
        useGrantedResource: () => false,
        getResourceServerInfo: async (ctx, resource) => {
          const slug = portalSlugFromResource(resource);
          const portal = slug ? await db.portal.findUnique({ where: { slug }, select: { id: true } }) : null;
          if (!portal) throw new errors.InvalidTarget("the resource is not a portal of this Portico");
          const clientId = ctx.oidc.client?.clientId;
          if (clientId && isServiceAccountClientId(clientId) && !(await holdsRoleOnPortal(db, clientId, portal.id))) {
            // The gateway would refuse every call anyway; a token it cannot use is not issued.
            throw new errors.InvalidTarget("this service account holds no role on that portal");
          }
          defaultClientCredentialsScope(ctx);
          return {
            scope: MCP_SCOPE,
            // Exactly the portal URL: the gateway checks `aud` against it, so a token is good at one portal only.
            audience: resource,
            accessTokenFormat: "jwt",
            accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
            jwt: { sign: { alg: ACCESS_TOKEN_SIGNING_ALG } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      if (token.kind === "ClientCredentials" && token.clientId && isServiceAccountClientId(token.clientId)) return { portico_kind: "service_account" };
      return undefined;
    },
    ttl: { AccessToken: ttl, ClientCredentials: ttl },
  };

  const provider = new Provider(issuer, configuration);
  // Behind TLS the control plane sits after a terminating proxy; trust its X-Forwarded-* there only.
  provider.proxy = issuer.startsWith("https://");
  provider.use(hashPresentedClientSecret(db));
  provider.use(auditTokenRequests(db));
  provider.on("server_error", (ctx: KoaContextWithOIDC, error: unknown) => {
    log("error", "authorization server error", { route: ctx.oidc?.route, ...describeError(error) });
  });
  return provider;
}
