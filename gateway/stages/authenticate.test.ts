import { describe, expect, it } from "vitest";

import type { AuthResult, TokenVerifier } from "../auth";
import { identity } from "../testing/stage-fixtures";
import { createAuthenticate } from "./authenticate";

/** The verifier has its own tests against real JWTs (auth.test.ts, the integration suites); here, what the stage makes of its answers. */
const verifierAnswering = (result: AuthResult): TokenVerifier => ({ verify: async () => result, close: () => undefined });
const portal = { slug: "p1", url: "http://gw/mcp/p1" };

describe("authenticate", () => {
  it("hands on the verified identity", async () => {
    const authenticate = createAuthenticate({ verifier: verifierAnswering({ ok: true, identity }), gatewayUrl: "http://gw" });
    expect(await authenticate("Bearer x", portal)).toEqual({ ok: true, identity });
  });

  it.each([
    ["no token: a challenge without an error code", { status: 401, error: "invalid_request", reason: "no bearer token", description: "a valid bearer token for this portal is required", hadToken: false }, 401, "Unauthorized: a valid bearer token for this portal is required.", ["resource_metadata=", 'scope="mcp"'], ["error="]],
    ["an expired token: the plain words in the body and the challenge, the fixed reason for the audit", { status: 401, error: "invalid_token", reason: "token expired", description: "the token expired at 2026-12-08T00:00:00Z; get a new one", hadToken: true }, 401, "Unauthorized: the token expired at 2026-12-08T00:00:00Z; get a new one.", ['error="invalid_token"', 'error_description="the token expired at 2026-12-08T00:00:00Z; get a new one"'], []],
    ["a token without the base scope", { status: 403, error: "insufficient_scope", reason: 'token lacks the "mcp" scope', description: 'the token lacks the "mcp" scope; ask for it when getting the token', hadToken: true }, 403, 'Forbidden: the token lacks the "mcp" scope; ask for it when getting the token.', ['error="insufficient_scope"', 'error_description="the token lacks the mcp scope; ask for it when getting the token"'], []],
  ] as const)("%s", async (_name, failure, status, message, present, absent) => {
    const authenticate = createAuthenticate({ verifier: verifierAnswering({ ok: false, ...failure }), gatewayUrl: "http://gw" });
    const result = await authenticate(undefined, portal);
    expect(result).toMatchObject({ ok: false, status, reason: failure.reason, message });
    const challenge = result.ok ? "" : result.headers["www-authenticate"]!;
    expect(challenge).toContain('resource_metadata="http://gw/.well-known/oauth-protected-resource/mcp/p1"');
    for (const part of present) expect(challenge).toContain(part);
    for (const part of absent) expect(challenge).not.toContain(part);
  });

  it("asks to retry, without a challenge, when the signing keys cannot be had", async () => {
    const authenticate = createAuthenticate({ verifier: verifierAnswering({ ok: false, status: 503, error: "temporarily_unavailable", reason: "keys unavailable", description: "the authorization server's keys are unavailable; try again shortly", hadToken: true }), gatewayUrl: "http://gw" });
    expect(await authenticate("Bearer x", portal)).toMatchObject({ ok: false, status: 503, message: "The authorization server's keys are unavailable; try again shortly.", headers: { "retry-after": "5" } });
  });
});
