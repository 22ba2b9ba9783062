import "server-only";
import { createHmac, randomBytes } from "node:crypto";
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import type { Db } from "../db/client";
import { CLIENT_IP_HEADER } from "../auth/request-context";
import { describeError, log } from "../log";
import { isServiceAccountClientId } from "../service-accounts";
import { prismaAdapter } from "./adapter";
import { logRefusedFetch, mayFetchClientMetadata } from "./cimd";
import { hashPresentedClientSecret, PRESENTED_SECRET_ID } from "./clients";
import { renderErrorPage } from "./error-page";
import { forgetRevokedGrant } from "./consents";
import { DYNAMIC_CLIENT_PREFIX } from "./interactions";
import { interactionPath, oauthIssuer } from "./mount";
import { settingsCache, type SettingsCache } from "./settings-cache";
import { ACCESS_TOKEN_SIGNING_ALG, loadOrCreateProviderJwks } from "./keys";
import { MCP_SCOPE, portalSlugFromResource } from "./resource";
import { auditTokenRequests, ERROR_DETAIL } from "./token-audit";
import { createTokenThrottle, throttleClientAuthentication, type TokenThrottle } from "./token-throttle";
import { ELEVATION_CLAIM } from "@/lib/config/elevated-grants";
import { elevatedScope } from "@/lib/policy/evaluate";
import { riskClasses } from "@/lib/schemas/common";
import { activeElevationsOf } from "../step-up";
import { interactionSeconds } from "./step-up";

const ALL_ELEVATED_SCOPES = riskClasses.map(elevatedScope);

/**
 * Who a token request is for and which scopes it asks, where the provider has read them: the
 * service account of a client-credentials request, the person behind a code or refresh token. Null
 * at the authorization endpoint, where nothing is issued yet.
 */
function tokenSubject(ctx: KoaContextWithOIDC): { kind: "user" | "service_account"; subject: string; requested: string[] } | null {
  if (ctx.oidc.route !== "token") return null;
  const clientId = ctx.oidc.client?.clientId;
  const params = ctx.oidc.params as { grant_type?: unknown; scope?: unknown } | undefined;
  if (params?.grant_type === "client_credentials" && clientId && isServiceAccountClientId(clientId)) {
    return { kind: "service_account", subject: clientId, requested: typeof params.scope === "string" ? params.scope.split(" ") : [] };
  }
  const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
  if (source?.accountId) return { kind: "user", subject: source.accountId, requested: String(source.scope ?? "").split(" ") };
  return null;
}

/**
 * Elevated scopes are issued only while a manager-approved grant is active: the resource's scopes
 * are the base scope plus the elevations the subject holds now, and a token carrying one lives no
 * longer than the earliest-ending grant it carries. A service account's client-credentials token
 * carries its elevations without asking (it cannot re-run an authorization).
 */
async function elevationsFor(db: Db, ctx: KoaContextWithOIDC, portalSlug: string, defaultTtl: number): Promise<{ scope: string; ttl: number; elevationId: string | null }> {
  const who = tokenSubject(ctx);
  if (!who) return { scope: [MCP_SCOPE, ...ALL_ELEVATED_SCOPES].join(" "), ttl: defaultTtl, elevationId: null };
  const now = Date.now();
  const held = await activeElevationsOf(db, who.kind, who.subject, portalSlug, new Date(now));
  if (who.kind === "service_account") {
    const params = ctx.oidc.params as { scope?: unknown };
    const asked = new Set(typeof params.scope === "string" ? params.scope.split(" ") : [MCP_SCOPE]);
    for (const e of held) asked.add(elevatedScope(e.riskClass));
    params.scope = [...asked].join(" ");
    who.requested = [...asked];
  }
  const carried = held.filter((e) => who.requested.includes(elevatedScope(e.riskClass)));
  const ttl = carried.reduce((min, e) => Math.min(min, Math.floor((e.endsAt.getTime() - now) / 1000)), defaultTtl);
  return { scope: [MCP_SCOPE, ...held.map((e) => elevatedScope(e.riskClass))].join(" "), ttl: Math.max(ttl, 1), elevationId: carried[0]?.id ?? null };
}

const ELEVATION_STATE = "porticoElevation";

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

/**
 * Every authorization request goes through Portico's own sign-in and consent page, never through a
 * session the provider remembers: the person approving is always the one signed in to the dashboard
 * right now (SSO or local account with MFA), and a change of role or a disabled account counts at once.
 */
function alwaysThroughPortico() {
  const policy = interactionPolicy.base();
  policy.get("login")!.checks.add(
    new interactionPolicy.Check("portico_sign_in", "sign in to Portico", (ctx) =>
      ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT,
    ),
  );
  return policy;
}

/** RFC 8707 on both legs: `resource` is required at the token endpoint too, not only at authorize. */
function requireResourceAtToken(ctx: KoaContextWithOIDC) {
  const params = ctx.oidc.params as { grant_type?: unknown; resource?: unknown } | undefined;
  if (ctx.oidc.route !== "token" || !params) return;
  if ((params.grant_type === "authorization_code" || params.grant_type === "refresh_token") && !params.resource) {
    throw new errors.InvalidTarget("the resource parameter is required: the URL of the portal the token is for");
  }
}

/**
 * Claims a user's access token carries for the gateway's policy: who, which IdP groups, how they
 * signed in. The account is the one `findAccount` just read for this token request.
 */
function userTokenClaims(ctx: KoaContextWithOIDC) {
  const account = ctx.oidc.entities.Account;
  if (!account) return undefined;
  const source = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AuthorizationCode;
  return { email: account.email, groups: account.groups, amr: source?.amr ?? [] };
}

/** `portico_elevation`: the step-up grant behind a token's elevated scope (the gateway honours the scope only while it is active). */
function elevationClaim(ctx: KoaContextWithOIDC, scope: string | undefined) {
  const id = ctx.state[ELEVATION_STATE] as unknown;
  return typeof id === "string" && scope?.includes("mcp:elevated:") ? { [ELEVATION_CLAIM]: id } : {};
}

// One per process: the provider is rebuilt on a signing-key rotation, lockouts must outlive that.
let processThrottle: TokenThrottle | undefined;

export async function createOAuthProvider(
  db: Db,
  options: { issuer?: string; settings?: SettingsCache; throttle?: TokenThrottle } = {},
): Promise<Provider> {
  const issuer = options.issuer ?? oauthIssuer();
  const jwks = await loadOrCreateProviderJwks(db);
  const settings = options.settings ?? settingsCache(db);
  const ttl = (_ctx: KoaContextWithOIDC, token: { resourceServer?: { accessTokenTTL?: number } }) => token.resourceServer?.accessTokenTTL ?? settings.current().oauthAccessTokenMinutes * 60;

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
    responseTypes: ["code"],
    // `mcp` too: MCP clients register with the scope the gateway's challenge names, and DCR refuses
    // a scope the server does not list.
    scopes: ["openid", "offline_access", "email", "profile", MCP_SCOPE],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    // An account is a dashboard user who is neither disabled nor locked out, read afresh at every
    // code and refresh: a lock-out revokes the tokens in hand, and refreshing must not mint new ones.
    findAccount: async (_ctx, id) => {
      const user = await db.user.findUnique({ where: { id }, select: { id: true, email: true, name: true, disabled: true, lockedUntil: true, idpGroups: true } });
      if (!user || user.disabled || (user.lockedUntil && user.lockedUntil > new Date())) return undefined;
      return {
        accountId: user.id,
        email: user.email,
        groups: user.idpGroups,
        claims: () => ({ sub: user.id, email: user.email, email_verified: true, name: user.name }),
      };
    },
    interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid), policy: alwaysThroughPortico() },
    // A refresh token for every client allowed to refresh, rotated on every use; a used one
    // presented again revokes the whole grant (oidc-provider's reuse detection).
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    rotateRefreshToken: true,
    renderError: renderErrorPage,
    // oidc-provider's own fetch options (2.5 s, no redirects, a dispatcher that destroys sockets to
    // special-use addresses) stay, except that dispatcher when an admin allows private CIMD hosts.
    fetch: async (input, init) => {
      if (!(await settings.get()).oauthCimdAllowPrivate || !init) return fetch(input, init);
      const rest: RequestInit & { dispatcher?: unknown } = { ...init };
      delete rest.dispatcher;
      return fetch(input, rest);
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      revocation: { enabled: true },
      registration: { enabled: true, idFactory: () => `${DYNAMIC_CLIENT_PREFIX}${randomBytes(18).toString("base64url")}` },
      clientIdMetadataDocument: {
        enabled: true,
        ack: "draft-02",
        allowFetch: async (_ctx, clientId) => {
          const decision = await mayFetchClientMetadata(clientId, await settings.get());
          if (decision.ok) return true;
          logRefusedFetch(clientId, decision.reason);
          throw new errors.InvalidClient(`client metadata document not fetched: ${decision.reason}`);
        },
      },
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
          requireResourceAtToken(ctx);
          const elevation = await elevationsFor(db, ctx, slug!, (await settings.get()).oauthAccessTokenMinutes * 60);
          ctx.state[ELEVATION_STATE] = elevation.elevationId;
          return {
            scope: elevation.scope,
            // Exactly the portal URL: the gateway checks `aud` against it, so a token is good at one portal only.
            audience: resource,
            accessTokenFormat: "jwt",
            accessTokenTTL: elevation.ttl,
            jwt: { sign: { alg: ACCESS_TOKEN_SIGNING_ALG } },
          };
        },
      },
    },
    // `portico_secret` and `portico_grant` name what a revocation can end (lib/config/revocations.ts):
    // the service-account secret that minted the token, the grant (connected client) it was issued under.
    extraTokenClaims: async (ctx, token) => {
      if (token.kind === "ClientCredentials" && token.clientId && isServiceAccountClientId(token.clientId)) {
        const secretId = ctx.state[PRESENTED_SECRET_ID] as unknown;
        return { portico_kind: "service_account", ...(typeof secretId === "string" ? { portico_secret: secretId } : {}), ...elevationClaim(ctx, token.scope) };
      }
      if (token.kind === "AccessToken" && token.accountId) return { ...userTokenClaims(ctx), ...(token.grantId ? { portico_grant: token.grantId } : {}), ...elevationClaim(ctx, token.scope) };
      return undefined;
    },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      RefreshToken: () => settings.current().oauthRefreshTokenDays * 24 * 3600,
      // Codes are exchanged within seconds by a real client.
      AuthorizationCode: 60,
      // Longer for a step-up request, which waits on a manager (oauth/step-up.ts).
      Interaction: (_ctx: KoaContextWithOIDC, interaction: { params?: Record<string, unknown> }) => interactionSeconds(interaction.params?.scope),
      Session: 15 * 60,
      Grant: 365 * 24 * 3600,
    },
  };

  const provider = new Provider(issuer, configuration);
  // Behind TLS the control plane sits after a terminating proxy; trust its X-Forwarded-* there only.
  provider.proxy = issuer.startsWith("https://");
  // The client's address is the X-Forwarded-For entry that proxy appended, the last one: the
  // first is whatever the client sent, and the token throttle counts and the audit records it.
  provider.maxIpsCount = 1;
  provider.use(async (ctx, next) => {
    // server.ts worked the address out from its list of trusted proxies: the dashboard's and this agree.
    const worked = ctx.get(CLIENT_IP_HEADER);
    if (worked) ctx.request.ip = worked;
    // Warm the settings cache so synchronous hooks (lifetimes) see an admin's change.
    const current = await settings.get();
    // A client may leave `scope` out (the MCP authorization spec lets it); it then asks for the
    // portal's base scope, rather than for nothing, which oidc-provider would refuse.
    if (ctx.path === "/auth" && ctx.method === "GET" && !ctx.query.scope) {
      ctx.querystring = `${ctx.querystring}${ctx.querystring ? "&" : ""}scope=${MCP_SCOPE}`;
    }
    if (ctx.path === "/reg" && !current.oauthDynamicRegistration) {
      ctx.status = 403;
      ctx.body = { error: "access_denied", error_description: "dynamic client registration is switched off on this Portico" };
      return;
    }
    await next();
    if (ctx.oidc?.route === "discovery" && !current.oauthDynamicRegistration && ctx.body && typeof ctx.body === "object") {
      delete (ctx.body as Record<string, unknown>).registration_endpoint;
    }
  });
  // First of the three: a throttled request never reaches the secret's hashing or the provider.
  provider.use(throttleClientAuthentication(db, options.throttle ?? (processThrottle ??= createTokenThrottle())));
  provider.use(hashPresentedClientSecret(db));
  provider.use(auditTokenRequests(db));
  provider.on("grant.error", (ctx: KoaContextWithOIDC, error: { error_detail?: unknown }) => {
    if (typeof error.error_detail === "string") ctx.state[ERROR_DETAIL] = error.error_detail;
  });
  provider.on("grant.revoked", (_ctx: KoaContextWithOIDC, grantId: string) => void forgetRevokedGrant(db, grantId));
  provider.on("server_error", (ctx: KoaContextWithOIDC, error: unknown) => {
    log("error", "authorization server error", { route: ctx.oidc?.route, ...describeError(error) });
  });
  return provider;
}
