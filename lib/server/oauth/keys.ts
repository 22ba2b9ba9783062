import "server-only";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, type JSONWebKeySet, type JWK } from "jose";
import { z } from "zod";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "../db/client";
import { decryptSecret, encryptSecret } from "../crypto";

type Tx = Prisma.TransactionClient;

/**
 * The authorization server's token-signing keys, kept in the `Setting` table under `oauth.jwks`
 * as a list, private halves encrypted with PORTICO_SECRET_KEY. Generated once, on first start,
 * never oidc-provider's published development keys. A list so that rotation can add a key while
 * the older ones stay in the JWKS until no token they signed can still be alive.
 */
export const OAUTH_JWKS_SETTING = "oauth.jwks";

/** Access tokens are signed with EdDSA (Ed25519); ES256 is there for clients that need a NIST curve. */
export const ACCESS_TOKEN_SIGNING_ALG = "EdDSA";
const ALGS = ["EdDSA", "ES256"] as const;
type Alg = (typeof ALGS)[number];

// Any fixed number, distinct from the other advisory locks (audit chain, config signing, publish).
const OAUTH_KEYS_LOCK = 7_031_990;

const storedKey = z.object({
  kid: z.string().min(1),
  alg: z.enum(ALGS),
  /** `encryptSecret` of the private JWK's JSON. */
  privateJwkEnc: z.string().min(1),
  createdAt: z.iso.datetime(),
});
type StoredKey = z.infer<typeof storedKey>;
const storedKeys = z.array(storedKey);

async function readKeys(db: Tx | Db): Promise<StoredKey[]> {
  const row = await db.setting.findUnique({ where: { key: OAUTH_JWKS_SETTING } });
  if (!row) return [];
  const parsed = storedKeys.safeParse(row.value);
  // Refuse rather than mint new keys: that would invalidate every token in flight without a word.
  if (!parsed.success) throw new Error(`The ${OAUTH_JWKS_SETTING} setting is corrupt`);
  return parsed.data;
}

function generate(alg: Alg): KeyObject {
  return alg === "EdDSA" ? generateKeyPairSync("ed25519").privateKey : generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
}

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y"] as const;

async function newKey(alg: Alg): Promise<StoredKey> {
  const jwk = generate(alg).export({ format: "jwk" }) as JWK;
  const publicJwk = Object.fromEntries(PUBLIC_MEMBERS.filter((k) => jwk[k] !== undefined).map((k) => [k, jwk[k]])) as JWK;
  // RFC 7638 thumbprint: the kid names the key itself.
  const kid = await calculateJwkThumbprint(publicJwk, "sha256");
  return { kid, alg, privateJwkEnc: encryptSecret(JSON.stringify({ ...jwk, kid, alg, use: "sig" })), createdAt: new Date().toISOString() };
}

/** The private JWKs oidc-provider signs with, newest first; created (once, under a lock) on first use. */
export async function loadOrCreateProviderJwks(db: Db): Promise<{ keys: JWK[] }> {
  let keys = await readKeys(db);
  const missing = (list: StoredKey[]) => ALGS.filter((alg) => !list.some((k) => k.alg === alg));
  if (missing(keys).length) {
    keys = await db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${OAUTH_KEYS_LOCK})`;
      const current = await readKeys(tx);
      const absent = missing(current);
      if (!absent.length) return current;
      const next = [...current, ...(await Promise.all(absent.map(newKey)))];
      const value = next as unknown as Prisma.InputJsonValue;
      await tx.setting.upsert({ where: { key: OAUTH_JWKS_SETTING }, create: { key: OAUTH_JWKS_SETTING, value }, update: { value } });
      return next;
    });
  }
  // Newest first: oidc-provider signs with the first key of an algorithm and publishes them all.
  return { keys: [...keys].reverse().map((k) => JSON.parse(decryptSecret(k.privateJwkEnc)) as JWK) };
}

/**
 * The public JWKS the authorization server publishes at `{issuer}/jwks`: what a gateway (or a test)
 * verifies access tokens against. Same keys and kids as the provider's, private members dropped.
 */
export async function getOAuthPublicJwks(db: Db): Promise<JSONWebKeySet> {
  const { keys } = await loadOrCreateProviderJwks(db);
  return {
    keys: keys.map((jwk) => {
      const publicJwk = Object.fromEntries(PUBLIC_MEMBERS.filter((k) => jwk[k] !== undefined).map((k) => [k, jwk[k]])) as JWK;
      return { ...publicJwk, kid: jwk.kid, alg: jwk.alg, use: "sig" };
    }),
  };
}

/**
 * Keys stay published this long after a newer key of their algorithm appeared: longer than the
 * longest access-token lifetime (60 min) plus the time every control plane takes to start signing
 * with the new key, so no token still in flight loses the key it verifies with.
 */
export const RETIRE_AFTER_MS = 2 * 60 * 60_000;

/** What the provider is built from: a change means another process rotated, and this one must reload. */
export async function oauthKeyFingerprint(db: Db): Promise<string> {
  return (await readKeys(db)).map((k) => k.kid).join(",");
}

/**
 * Adds a fresh key per algorithm, which signs from the provider's next load on (newest first); keys
 * superseded more than RETIRE_AFTER_MS ago are dropped. Older keys stay in the JWKS meanwhile, so
 * tokens they signed keep verifying until they expire.
 */
export async function rotateOAuthSigningKeys(db: Db, now = new Date()): Promise<{ added: string[]; retired: string[] }> {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${OAUTH_KEYS_LOCK})`;
    const current = await readKeys(tx);
    const fresh = await Promise.all(ALGS.map((alg) => newKey(alg)));
    const kept = current.filter((key) => {
      const successor = current.find((other) => other.alg === key.alg && other.createdAt > key.createdAt);
      return !successor || now.getTime() - Date.parse(successor.createdAt) < RETIRE_AFTER_MS;
    });
    const next = [...kept, ...fresh.map((k) => ({ ...k, createdAt: now.toISOString() }))];
    const value = next as unknown as Prisma.InputJsonValue;
    await tx.setting.upsert({ where: { key: OAUTH_JWKS_SETTING }, create: { key: OAUTH_JWKS_SETTING, value }, update: { value } });
    return { added: fresh.map((k) => k.kid), retired: current.filter((k) => !kept.includes(k)).map((k) => k.kid) };
  });
}
