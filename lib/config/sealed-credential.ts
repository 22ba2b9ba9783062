import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Upstream header secrets travel inside config snapshots sealed, never in clear: the snapshot is
 * stored in the database, shown in the dashboard's version history, pushed over the network and
 * persisted on every gateway's disk.
 *
 * Sealing choice: AES-256-GCM under a key derived with HKDF-SHA256 from PORTICO_SECRET_KEY
 * (info "portico gateway credentials v1"), which the gateways of this deployment share with the
 * control plane.
 * - For: one snapshot, signed once, is valid for every gateway (no per-gateway key enrolment or
 *   per-recipient encryption); opening is synchronous and offline; a gateway restarted without
 *   the control plane can still open what it kept on disk.
 * - Against (vs. JWE ECDH-ES to a gateway's own public key): whoever holds PORTICO_SECRET_KEY can
 *   open every sealed credential, and a gateway holding that key could also read the control
 *   plane's secrets at rest. The derived key limits the second point: give a gateway only the
 *   derived key (see `deriveGatewayCredentialKey`) and it can open snapshot credentials but not
 *   the database's ciphertexts, and neither format can be mistaken for the other.
 * Moving to JWE later only changes this module and the `g1` prefix.
 */

const PREFIX = "g1";
export const GATEWAY_CREDENTIALS_INFO = "portico gateway credentials v1";

export class SealedCredentialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SealedCredentialError";
  }
}

/** The 32-byte gateway credential key, from PORTICO_SECRET_KEY (base64) or its raw 32 bytes. */
export function deriveGatewayCredentialKey(secretKey: string | Uint8Array): Buffer {
  const ikm = typeof secretKey === "string" ? Buffer.from(secretKey, "base64") : Buffer.from(secretKey);
  if (ikm.length !== 32) throw new SealedCredentialError("The secret key must be 32 bytes");
  return Buffer.from(hkdfSync("sha256", ikm, Buffer.alloc(0), GATEWAY_CREDENTIALS_INFO, 32));
}

function assertKey(key: Uint8Array): void {
  if (key.length !== 32) throw new SealedCredentialError("A gateway credential key is 32 bytes");
}

/** `g1.<iv>.<tag>.<ciphertext>`, base64url parts; a fresh IV every time. */
export function sealCredential(plaintext: string, key: Uint8Array): string {
  assertKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [PREFIX, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), data.toString("base64url")].join(".");
}

/** Opens a sealed credential; throws `SealedCredentialError` (never echoing the input) otherwise. */
export function openSealedCredential(sealed: string, key: Uint8Array): string {
  assertKey(key);
  const parts = sealed.split(".");
  const [prefix, iv, tag, data] = parts;
  if (parts.length !== 4 || prefix !== PREFIX || !iv || !tag || data === undefined) {
    throw new SealedCredentialError("Not a sealed gateway credential");
  }
  try {
    // A fixed tag length: Node would otherwise accept a truncated (forgeable) tag.
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"), { authTagLength: 16 });
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
  } catch (error) {
    throw new SealedCredentialError("The sealed credential cannot be opened with this key (wrong key or altered value)", { cause: error });
  }
}
