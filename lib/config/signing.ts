import {
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  type KeyObject,
} from "jose";
import { canonicalJson } from "@/lib/audit/event";
import { configSnapshot, type ConfigSnapshot } from "./snapshot";

/**
 * Signing and verifying config snapshots: a compact JWS, EdDSA (Ed25519), whose payload is the
 * snapshot's JSON. The `typ` header keeps a snapshot from being confused with any other JWS the
 * same key might ever sign, and the other way round.
 */

export const SNAPSHOT_JWS_ALG = "EdDSA";
export const SNAPSHOT_JWS_TYP = "portico-config+jws";

export type SnapshotSigningKey = CryptoKey | KeyObject | JWK;
export type SnapshotVerifyKey = CryptoKey | KeyObject | JWK;

/**
 * Where verification finds the public key: a JWKS (matched by `kid`), or a resolver given the
 * protected header (read `header.kid`) that returns the key, or null/undefined when it has none.
 * A jose-style resolver (such as the one `createLocalJWKSet` returns) fits as is.
 */
export type SnapshotKeySource =
  | JSONWebKeySet
  | ((header: JWSHeaderParameters) => SnapshotVerifyKey | null | undefined | Promise<SnapshotVerifyKey | null | undefined>);

export type SnapshotVerificationCode = "malformed" | "unsupported_alg" | "wrong_typ" | "unknown_kid" | "bad_signature" | "schema_invalid";

/** Why a signed snapshot was refused. Messages never quote the payload, so they are safe to log. */
export class SnapshotVerificationError extends Error {
  readonly code: SnapshotVerificationCode;

  constructor(code: SnapshotVerificationCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SnapshotVerificationError";
    this.code = code;
  }
}

/** Signs a snapshot after validating it: an invalid snapshot is a bug, never something to ship. */
export async function signSnapshot(snapshot: ConfigSnapshot, privateKey: SnapshotSigningKey, kid: string): Promise<string> {
  const valid = configSnapshot.parse(snapshot);
  // Canonical JSON: the same snapshot always yields the same payload (and, Ed25519 being
  // deterministic, the same JWS).
  return new CompactSign(new TextEncoder().encode(canonicalJson(valid)))
    .setProtectedHeader({ alg: SNAPSHOT_JWS_ALG, kid, typ: SNAPSHOT_JWS_TYP })
    .sign(privateKey);
}

function isJwks(source: SnapshotKeySource): source is JSONWebKeySet {
  return typeof source === "object" && source !== null && Array.isArray((source as JSONWebKeySet).keys);
}

async function resolveKey(source: SnapshotKeySource, header: JWSHeaderParameters & { kid: string }, jws: string): Promise<SnapshotVerifyKey> {
  const unknown = (cause?: unknown) =>
    new SnapshotVerificationError("unknown_kid", `No key known for kid "${header.kid.slice(0, 100)}"`, cause ? { cause } : undefined);
  try {
    if (isJwks(source)) {
      const [protectedPart, payload, signature] = jws.split(".");
      return await createLocalJWKSet(source)(header, { payload: payload!, signature: signature!, protected: protectedPart });
    }
    const key = await source(header);
    if (!key) throw unknown();
    return key;
  } catch (error) {
    if (error instanceof SnapshotVerificationError) throw error;
    if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) throw unknown(error);
    const reason = error instanceof Error ? error.message.slice(0, 200) : "key lookup failed";
    throw new SnapshotVerificationError("unknown_kid", `No usable key for kid "${header.kid.slice(0, 100)}": ${reason}`, { cause: error });
  }
}

/**
 * Verifies a signed snapshot: header (alg EdDSA only, typ, kid), signature, then schema. Each
 * failure is a `SnapshotVerificationError` with its own code.
 */
export async function verifySnapshot(jws: string, keys: SnapshotKeySource): Promise<ConfigSnapshot> {
  if (typeof jws !== "string" || jws.split(".").length !== 3) throw new SnapshotVerificationError("malformed", "Not a compact JWS");
  let header: JWSHeaderParameters;
  try {
    header = decodeProtectedHeader(jws) as JWSHeaderParameters;
  } catch (error) {
    throw new SnapshotVerificationError("malformed", "The JWS header is not readable", { cause: error });
  }
  // Checked before any key is looked up: `none`, HMAC with a public key as secret, and other
  // algorithm confusions never get near a verifier.
  if (header.alg !== SNAPSHOT_JWS_ALG) {
    throw new SnapshotVerificationError("unsupported_alg", `Algorithm ${JSON.stringify(header.alg ?? null).slice(0, 40)} is not accepted; snapshots are signed with EdDSA`);
  }
  if (header.typ !== SNAPSHOT_JWS_TYP) {
    throw new SnapshotVerificationError("wrong_typ", `Expected typ "${SNAPSHOT_JWS_TYP}", got ${JSON.stringify(header.typ ?? null).slice(0, 60)}`);
  }
  if (typeof header.kid !== "string" || header.kid.length === 0) throw new SnapshotVerificationError("malformed", "The JWS names no key (kid)");
  const key = await resolveKey(keys, { ...header, kid: header.kid }, jws);

  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key, { algorithms: [SNAPSHOT_JWS_ALG] }));
  } catch (error) {
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new SnapshotVerificationError("bad_signature", "The snapshot signature does not verify", { cause: error });
    }
    const reason = error instanceof Error ? error.message.slice(0, 200) : "verification failed";
    throw new SnapshotVerificationError("bad_signature", `The snapshot cannot be verified: ${reason}`, { cause: error });
  }

  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch (error) {
    throw new SnapshotVerificationError("schema_invalid", "The signed payload is not JSON", { cause: error });
  }
  const parsed = configSnapshot.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new SnapshotVerificationError("schema_invalid", `The signed snapshot does not match the schema: ${problems}`, { cause: parsed.error });
  }
  return parsed.data;
}
