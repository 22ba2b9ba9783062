import "server-only";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { Db } from "../db/client";
import { createFailureThrottle, type FailureThrottle, type FailureThrottleOptions } from "../failure-throttle";
import { log } from "../log";
import { parseBasic } from "./clients";
import { auditClientAuthLockout } from "./token-audit";

/**
 * Slows down guessing of client secrets at the endpoints that authenticate a client (token and
 * revocation): after 10 failed client authentications (`invalid_client`) within 5 minutes for one
 * client id, or 30 from one source address (many clients may share one: NAT, a CI fleet), that
 * client id or address gets 429 with `Retry-After` until its lockout ends (1 minute); each further
 * lockout lasts twice as long, up to an hour.
 *
 * A throttled request is answered here, before the secret is hashed or looked up or the provider
 * sees it: a correct secret is refused like a wrong one, so the endpoint is no oracle while locked.
 * A success for a client forgets its failures; an address is only forgotten by time, so one valid
 * client cannot launder another's guesses from the same address.
 *
 * The client id counted is the one in the `Authorization: Basic` header, the only way a secret can
 * be presented here (see clients.ts); other requests are counted by address.
 */

const BASE: Omit<FailureThrottleOptions, "maxFailures"> = { windowMs: 5 * 60_000, lockMs: 60_000, maxLockMs: 60 * 60_000, maxKeys: 10_000 };
export const TOKEN_THROTTLE_DEFAULTS = { clients: { ...BASE, maxFailures: 10 }, addresses: { ...BASE, maxFailures: 30 } };

export type TokenThrottle = { clients: FailureThrottle; addresses: FailureThrottle };

const THROTTLED_PATHS = new Set(["/token", "/token/revocation"]);

export function createTokenThrottle(options: { clients?: Partial<FailureThrottleOptions>; addresses?: Partial<FailureThrottleOptions> } = {}): TokenThrottle {
  return {
    clients: createFailureThrottle({ ...TOKEN_THROTTLE_DEFAULTS.clients, ...options.clients }),
    addresses: createFailureThrottle({ ...TOKEN_THROTTLE_DEFAULTS.addresses, ...options.addresses }),
  };
}

function presentedClientId(ctx: KoaContextWithOIDC): string | null {
  const header = ctx.req.headers.authorization;
  return header ? (parseBasic(header)?.clientId ?? null) : null;
}

export function throttleClientAuthentication(db: Db, throttle: TokenThrottle) {
  return async function throttleMiddleware(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    if (ctx.method !== "POST" || !THROTTLED_PATHS.has(ctx.path)) return next();
    const clientId = presentedClientId(ctx);
    const clientKeys = clientId ? [clientId] : [];
    const addressKeys = [ctx.ip];
    const waitMs = Math.max(throttle.clients.retryAfterMs(clientKeys), throttle.addresses.retryAfterMs(addressKeys));
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      ctx.status = 429;
      ctx.set("retry-after", String(seconds));
      ctx.set("cache-control", "no-store");
      ctx.body = { error: "too_many_requests", error_description: `Too many failed client authentications; try again in ${seconds} s.` };
      return;
    }

    await next();

    const error = (ctx.body as { error?: unknown } | undefined)?.error;
    if (ctx.status === 401 && error === "invalid_client") {
      const lockouts = [
        ...throttle.clients.recordFailure(clientKeys).map((l) => ({ ...l, scope: "client" as const })),
        ...throttle.addresses.recordFailure(addressKeys).map((l) => ({ ...l, scope: "address" as const })),
      ];
      for (const { scope, ...lockout } of lockouts) {
        log("warn", "token endpoint: client authentication locked out", { scope, lockSeconds: lockout.lockMs / 1000, lockouts: lockout.lockouts });
        await auditClientAuthLockout(db, ctx, { clientId, scope, lockMs: lockout.lockMs, lockouts: lockout.lockouts });
      }
    } else if (ctx.status === 200 && clientId && ctx.oidc?.client?.clientId === clientId) {
      throttle.clients.recordSuccess(clientId);
    }
  };
}
