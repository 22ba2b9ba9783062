import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * The `requestState` a 2026-07-28 client carries between rounds of a multi round-trip request,
 * sealed so that any gateway of the fleet can open it and none needs memory shared with the one
 * that sealed it: AES-256-GCM under a key every gateway of the fleet already holds (derived with
 * HKDF from its credential key, the one that opens snapshot secrets, so it arrives the way those
 * do: PORTICO_GATEWAY_CREDENTIAL_KEY, or derived from PORTICO_SECRET_KEY). Encrypted, not only
 * signed: the state carries the upstream's own state and the principal it is bound to, which the
 * client has no need to read.
 *
 * Replay: each state is good until `exp` (a few minutes) for the principal, portal and target it
 * names (method, tool/prompt/resource and a digest of the arguments: stateless.ts `targetOf`), and
 * carries a nonce; a gateway refuses a nonce it has already seen (`NonceLog`). What this does not
 * stop without shared memory: the same state replayed to a *different* gateway within its
 * lifetime, by the same principal, for the same request with the same arguments: what the
 * protocol's own binding (principal, expiry, request) allows too. The replay runs the whole
 * request path again (authentication, policy, DLP, audit), and the upstream gets its own state
 * back, whose single use is its to enforce (the spec puts "at most once" on the server). A state
 * for a call held open on one gateway (`k: "x"`) is single-use everywhere: only that gateway can
 * resume it, and it counts rounds.
 */

const PREFIX = "ps1.";
const INFO = Buffer.from("portico/request-state/v1");

export type SealedState = {
  /** `m`: the upstream answered input_required itself (any gateway can resume); `x`: a call held open on gateway `g`. */
  k: "m" | "x";
  /** The principal (`kind:subject`), portal and target (method and name) the state is good for. */
  s: string;
  p: string;
  t: string;
  /** The server that answered, and its own requestState, for `m`. */
  v?: string;
  u?: string;
  /** For `x`: the gateway holding the call, the exchange, and the round. */
  g?: string;
  x?: string;
  r?: number;
  /** For `m`: what the upstream asked (inputRequests key, method) and when, to audit each answer (`mcp.server_request`). */
  q?: [string, string][];
  a?: number;
  /** Expiry (ms since the epoch) and a nonce, for replay refusal. */
  e: number;
  n: string;
};

export function deriveRequestStateKey(credentialKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", credentialKey, Buffer.alloc(0), INFO, 32));
}

export function createRequestStateSeal(key: Uint8Array) {
  if (key.length !== 32) throw new Error("A request-state key is 32 bytes");
  return {
    seal(state: Omit<SealedState, "n">): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(INFO);
      const body = Buffer.concat([cipher.update(JSON.stringify({ ...state, n: randomBytes(12).toString("base64url") }), "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    /** The state, or null for anything altered, foreign (another key) or malformed. Expiry is the caller's check. */
    open(token: unknown): SealedState | null {
      if (typeof token !== "string" || !token.startsWith(PREFIX) || token.length > 16_384) return null;
      const raw = Buffer.from(token.slice(PREFIX.length), "base64url");
      if (raw.length < 12 + 16 + 2) return null;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
        decipher.setAAD(INFO);
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString("utf8");
        const state = JSON.parse(text) as SealedState;
        return typeof state === "object" && state && typeof state.e === "number" && typeof state.n === "string" ? state : null;
      } catch {
        return null;
      }
    },
  };
}

export type RequestStateSeal = ReturnType<typeof createRequestStateSeal>;

/** Nonces this gateway has accepted, each kept until its state expires; bounded (oldest dropped first). */
export function createNonceLog(max = 50_000) {
  const seen = new Map<string, number>();
  return {
    /** True the first time a nonce is used (and records it); false for a replay. */
    use(nonce: string, expiresAt: number, now = Date.now()): boolean {
      if (seen.has(nonce)) return false;
      for (const [n, e] of seen) {
        if (e >= now && seen.size < max) break;
        seen.delete(n);
      }
      seen.set(nonce, expiresAt);
      return true;
    },
    size: () => seen.size,
  };
}

export type NonceLog = ReturnType<typeof createNonceLog>;
