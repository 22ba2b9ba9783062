import { CompactSign, compactVerify, createLocalJWKSet, type JSONWebKeySet, type KeyObject } from "jose";
import { z } from "zod";

/**
 * A signed chain head: a compact JWS (EdDSA, the config signing key) over `{seq, hash, eventTime}`.
 * Its own `typ`, so a checkpoint can never pass for a config snapshot signed by the same key.
 * Pure: the control plane signs, the CLI verifies an export offline against the published JWKS.
 */

export const CHECKPOINT_JWS_TYP = "portico-audit-checkpoint+jws";

export const checkpointClaims = z.object({ seq: z.string().regex(/^\d{1,20}$/), hash: z.string().regex(/^[0-9a-f]{64}$/), eventTime: z.iso.datetime() });
export type CheckpointClaims = z.infer<typeof checkpointClaims>;

export async function signCheckpointClaims(claims: CheckpointClaims, privateKey: KeyObject, kid: string): Promise<string> {
  const payload = JSON.stringify({ seq: claims.seq, hash: claims.hash, eventTime: claims.eventTime });
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: "EdDSA", kid, typ: CHECKPOINT_JWS_TYP }).sign(privateKey);
}

/** The claims of a checkpoint whose signature verifies against `jwks`; throws otherwise. */
export async function verifyCheckpoint(signature: string, jwks: JSONWebKeySet): Promise<CheckpointClaims> {
  const { payload, protectedHeader } = await compactVerify(signature, createLocalJWKSet(jwks), { algorithms: ["EdDSA"] });
  if (protectedHeader.typ !== CHECKPOINT_JWS_TYP) throw new Error("not an audit checkpoint");
  return checkpointClaims.parse(JSON.parse(new TextDecoder().decode(payload)));
}

/**
 * A signed purge record: retention deleted the rows with seq in [fromSeq, toSeq], none kept between
 * them; `prevHash` is the hash the first of them linked to and `lastHash` the last one's hash. It
 * lets verification bridge the hole, and only that hole: its own `typ`, so neither a checkpoint nor
 * a config snapshot can stand for one.
 */
export const PURGE_JWS_TYP = "portico-audit-purge+jws";

const hash64 = z.string().regex(/^[0-9a-f]{64}$/);
export const purgeClaims = z.object({
  fromSeq: z.string().regex(/^\d{1,20}$/),
  toSeq: z.string().regex(/^\d{1,20}$/),
  prevHash: hash64,
  lastHash: hash64,
  count: z.number().int().min(1),
  purgedAt: z.iso.datetime(),
});
export type PurgeClaims = z.infer<typeof purgeClaims>;

export async function signPurgeClaims(claims: PurgeClaims, privateKey: KeyObject, kid: string): Promise<string> {
  const payload = JSON.stringify(purgeClaims.parse(claims));
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: "EdDSA", kid, typ: PURGE_JWS_TYP }).sign(privateKey);
}

/** The claims of a purge record whose signature verifies against `jwks`; throws otherwise. */
export async function verifyPurge(signature: string, jwks: JSONWebKeySet): Promise<PurgeClaims> {
  const { payload, protectedHeader } = await compactVerify(signature, createLocalJWKSet(jwks), { algorithms: ["EdDSA"] });
  if (protectedHeader.typ !== PURGE_JWS_TYP) throw new Error("not an audit purge record");
  return purgeClaims.parse(JSON.parse(new TextDecoder().decode(payload)));
}
