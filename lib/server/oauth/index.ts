import "server-only";

/**
 * The control plane's OAuth 2.1 authorization server (panva's oidc-provider), mounted under
 * `{PORTICO_CONTROL_PLANE_URL}/oauth` by server.ts. What other code needs of it:
 *
 * - `oauthIssuer()`: the `iss` of every access token, `{control plane}/oauth`;
 * - `oauthJwksUri()`: where the public keys are published, `{issuer}/jwks`;
 * - `getOAuthPublicJwks(db)`: the same public keys, read from the database (no HTTP);
 * - `createOAuthProvider(db)` and `createOAuthRequestHandler(provider)`: to serve it.
 */
export { getOAuthPublicJwks, ACCESS_TOKEN_SIGNING_ALG } from "./keys";
export { OAUTH_MOUNT_PATH, oauthIssuer, oauthJwksUri, createOAuthRequestHandler, providerUrlFor } from "./mount";
export { createOAuthProvider } from "./provider";
export { MCP_SCOPE, portalSlugFromResource } from "./resource";
