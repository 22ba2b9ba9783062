import "server-only";
import { createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, type JSONWebKeySet, type JWK } from "jose";
import { z } from "zod";
import { SNAPSHOT_JWS_ALG } from "@/lib/config/signing";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { decryptSecret, encryptSecret } from "./crypto";

type Tx = Prisma.TransactionClient;

/**
 * The control plane's config-signing keys (Ed25519), kept in the `Setting` table under
 * `config.signingKeys` as a list, private halves encrypted with PORTICO_SECRET_KEY. The newest key
 * signs; every key stays in the JWKS, so snapshots signed before a rotation (held by gateways,
 * on their disks, or in flight) still verify.
 */

export const SIGNING_KEYS_SETTING = "config.signingKeys";

// Any fixed number, distinct from the audit chain's: first-time key creation and rotation take it,
// so two processes never both create "the" first key.
const SIGNING_KEYS_LOCK = 7_031_978;

const storedKey = z.object({
  kid: z.string().min(1),
  publicJwk: z.object({ kty: z.literal("OKP"), crv: z.literal("Ed25519"), x: z.string().min(1) }),
  /** `encryptSecret` of the private JWK's JSON. */
  privateJwkEnc: z.string().min(1),
  createdAt: z.iso.datetime(),
});
type StoredKey = z.infer<typeof storedKey>;
const storedKeys = z.array(storedKey);

export type ActiveSigningKey = { kid: string; privateKey: KeyObject; publicJwk: JWK; createdAt: string };

async function readKeys(db: Tx): Promise<StoredKey[]> {
  const row = await db.setting.findUnique({ where: { key: SIGNING_KEYS_SETTING } });
  if (!row) return [];
  const parsed = storedKeys.safeParse(row.value);
  // Refuse rather than silently mint a new key: that would orphan every signed snapshot.
  if (!parsed.success) throw new Error(`The ${SIGNING_KEYS_SETTING} setting is corrupt`);
  return parsed.data;
}

async function newKey(): Promise<StoredKey> {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = publicKey.export({ format: "jwk" }) as { kty: "OKP"; crv: "Ed25519"; x: string };
  const publicJwk = { kty: pub.kty, crv: pub.crv, x: pub.x };
  return {
    // RFC 7638 thumbprint: the kid names the key itself, so it can never point at another key.
    kid: await calculateJwkThumbprint(publicJwk, "sha256"),
    publicJwk,
    privateJwkEnc: encryptSecret(JSON.stringify(privateKey.export({ format: "jwk" }))),
    createdAt: new Date().toISOString(),
  };
}

async function appendKey(tx: Tx, keys: StoredKey[], key: StoredKey): Promise<StoredKey[]> {
  const value = [...keys, key] as unknown as Prisma.InputJsonValue;
  await tx.setting.upsert({ where: { key: SIGNING_KEYS_SETTING }, create: { key: SIGNING_KEYS_SETTING, value }, update: { value } });
  return [...keys, key];
}

function toActive(key: StoredKey): ActiveSigningKey {
  const jwk = JSON.parse(decryptSecret(key.privateJwkEnc)) as JsonWebKey;
  return { kid: key.kid, privateKey: createPrivateKey({ key: jwk, format: "jwk" }), publicJwk: key.publicJwk, createdAt: key.createdAt };
}

/** The key that signs new snapshots: the newest one, created on first use. */
export async function getActiveSigningKey(db: Db): Promise<ActiveSigningKey> {
  const keys = await readKeys(db);
  if (keys.length) return toActive(keys.at(-1)!);
  const created = await db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK})`;
    const current = await readKeys(tx);
    if (current.length) return current;
    return appendKey(tx, current, await newKey());
  });
  return toActive(created.at(-1)!);
}

/** Each signing key's id and creation time, oldest first (the last one signs): for the rotation alert. */
export async function listSigningKeyAges(db: Db): Promise<Array<{ kid: string; createdAt: Date }>> {
  return (await readKeys(db)).map((k) => ({ kid: k.kid, createdAt: new Date(k.createdAt) }));
}

/** Every signing key's public half, newest first, for gateways to verify snapshots offline. */
export async function publicJwks(db: Db): Promise<JSONWebKeySet> {
  const keys = await readKeys(db);
  return { keys: [...keys].reverse().map((k) => ({ ...k.publicJwk, kid: k.kid, alg: SNAPSHOT_JWS_ALG, use: "sig" })) };
}

/**
 * Adds a new signing key, which signs from now on. Older keys stay published: retire one only once
 * no gateway can still hold a snapshot it signed.
 */
export async function rotateSigningKey(db: Db, actor: Actor): Promise<{ kid: string; createdAt: string }> {
  authorize(actor, "settings:write");
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SIGNING_KEYS_LOCK})`;
    const keys = await readKeys(tx);
    const key = await newKey();
    await appendKey(tx, keys, key);
    await recordConfigChange(tx, actor, {
      action: "config.signing_key.rotate",
      targetType: "signing_key",
      targetId: key.kid,
      before: { activeKid: keys.at(-1)?.kid ?? null },
      after: { activeKid: key.kid, kids: [...keys.map((k) => k.kid), key.kid] },
    });
    return { kid: key.kid, createdAt: key.createdAt };
  });
}
