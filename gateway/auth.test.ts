import { describe, expect, it } from "vitest";

import { bearerChallenge, identityFromClaims, protectedResourceMetadata } from "./auth";

describe("identityFromClaims", () => {
  it("maps a service account", () => {
    expect(identityFromClaims({ sub: "sa-1", client_id: "sa-1", scope: "mcp extra", portico_kind: "service_account", exp: 10 })).toMatchObject({
      kind: "service_account",
      subject: "sa-1",
      clientId: "sa-1",
      scopes: ["mcp", "extra"],
      expiresAt: 10,
    });
  });

  it("maps a person with email, groups and amr", () => {
    expect(identityFromClaims({ sub: "u1", email: "a@example.com", groups: ["finops", 3], amr: ["pwd", "otp"], portico_kind: "user" })).toMatchObject({
      kind: "user",
      email: "a@example.com",
      groups: ["finops"],
      amr: ["pwd", "otp"],
    });
  });

  it("reads what a revocation can name: iat, jti, grant and secret", () => {
    expect(identityFromClaims({ sub: "u1", iat: 100, jti: "j1", portico_grant: "g1", portico_secret: "s1", client_id: "pc_1" })).toMatchObject({
      issuedAt: 100,
      tokenId: "j1",
      grantId: "g1",
      secretId: "s1",
      clientId: "pc_1",
    });
    expect(identityFromClaims({ sub: "u1", iat: "100" as unknown as number, portico_grant: 3 })).toMatchObject({ issuedAt: null, grantId: null, secretId: null });
  });

  it("refuses a token without a subject", () => {
    expect(identityFromClaims({ scope: "mcp" })).toBeNull();
  });

  it("never treats an unknown kind as a service account", () => {
    expect(identityFromClaims({ sub: "x", portico_kind: "admin" })?.kind).toBe("user");
  });
});

describe("bearerChallenge", () => {
  it("points at the portal's protected resource metadata", () => {
    expect(bearerChallenge({ gatewayUrl: "http://gw", slug: "finops" })).toBe(
      'Bearer resource_metadata="http://gw/.well-known/oauth-protected-resource/mcp/finops", scope="mcp"',
    );
  });

  it("adds the error, and strips quotes from values", () => {
    expect(bearerChallenge({ gatewayUrl: "http://gw", slug: "p", error: "invalid_token", description: 'bad "x"' })).toContain(
      'error="invalid_token", error_description="bad x"',
    );
  });

  it("names the control plane as authorization server in the metadata", () => {
    expect(protectedResourceMetadata({ gatewayUrl: "http://gw", controlPlaneUrl: "http://cp", slug: "p" })).toMatchObject({
      resource: "http://gw/mcp/p",
      authorization_servers: ["http://cp/oauth"],
      scopes_supported: ["mcp"],
      bearer_methods_supported: ["header"],
    });
  });
});
