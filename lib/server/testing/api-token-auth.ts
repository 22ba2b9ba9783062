import { AppError } from "@/lib/errors";
import { resolveApiToken } from "@/lib/server/auth/api-tokens";
import { getDb } from "@/lib/server/db/instance";

/**
 * `@/lib/server/auth/current` for integration tests that run route handlers without Next.js,
 * whose session auth (next-auth) does not load there: API tokens, the way scripts call the admin
 * API, resolved by the real function against the database. In a test file:
 *
 *   vi.mock("@/lib/server/auth/current", () => import("./testing/api-token-auth"));
 */
export async function requireActor(headers: Headers) {
  const [scheme, token] = (headers.get("authorization") ?? "").split(" ");
  const actor = scheme?.toLowerCase() === "bearer" && token ? await resolveApiToken(await getDb(), token, {}) : null;
  if (!actor) throw new AppError("unauthorized", "Sign in or send a valid API token");
  return actor;
}
