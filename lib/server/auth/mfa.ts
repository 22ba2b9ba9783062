import "server-only";
import { generateSecret, generateURI, verify } from "otplib";
import QRCode from "qrcode";
import { AppError } from "@/lib/errors";
import type { Db } from "../db/client";
import { decryptSecret, encryptSecret, randomToken, sha256 } from "../crypto";
import { appendAuditEvents, actorFields } from "../audit";
import { ownerId, type Actor } from "./actor";
import { randomUUID } from "node:crypto";

const ISSUER = "Portico";
const RECOVERY_CODE_COUNT = 10;
const TOTP_PERIOD_S = 30;

/**
 * Checks a TOTP code and returns the time step it belongs to, or null. Codes at or before
 * `afterStep` are refused, so a code seen once (shoulder-surfed, phished, logged) cannot be
 * replayed within its validity window.
 */
export async function verifyTotp(secretEnc: string, code: string, afterStep: number | null = null): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  // One 30 s step either side absorbs clock drift between phone and server.
  const result = await verify({
    secret: decryptSecret(secretEnc),
    token: code,
    epochTolerance: 30,
    ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
  });
  // `epoch` is the start (in seconds) of the 30 s period the code belongs to.
  return result.valid && "epoch" in result ? Math.floor(result.epoch / TOTP_PERIOD_S) : null;
}

/** Consumes a recovery code if it matches one the user has not used yet. */
export async function consumeRecoveryCode(db: Db, userId: string, code: string): Promise<boolean> {
  const normalized = code.trim().toLowerCase().replace(/[^a-z0-9]/g, "");
  if (normalized.length < 10) return false;
  const user = await db.user.findUnique({ where: { id: userId }, select: { recoveryCodes: true } });
  const hash = sha256(normalized);
  if (!user?.recoveryCodes.includes(hash)) return false;
  await db.user.update({ where: { id: userId }, data: { recoveryCodes: user.recoveryCodes.filter((h: string) => h !== hash) } });
  return true;
}

export async function startMfaEnrolment(db: Db, actor: Actor) {
  const userId = ownerId(actor);
  const user = await db.user.findUniqueOrThrow({ where: { id: userId } });
  if (user.totpEnabled) throw new AppError("conflict", "Two-factor authentication is already on");
  if (user.source !== "local") throw new AppError("bad_request", "Your company sign-in handles two-factor authentication");
  const secret = generateSecret();
  await db.user.update({ where: { id: userId }, data: { totpSecretEnc: encryptSecret(secret) } });
  const uri = generateURI({ issuer: ISSUER, label: user.email, secret });
  return { secret, uri, qrDataUrl: await QRCode.toDataURL(uri, { margin: 1, width: 220 }) };
}

function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const raw = randomToken(8).toLowerCase().replace(/[^a-z0-9]/g, "").padEnd(10, "x").slice(0, 10);
    return `${raw.slice(0, 5)}-${raw.slice(5)}`;
  });
}

/** Turns TOTP on once the user proves their authenticator works; returns recovery codes, shown once. */
export async function confirmMfaEnrolment(db: Db, actor: Actor, code: string): Promise<string[]> {
  const userId = ownerId(actor);
  const user = await db.user.findUniqueOrThrow({ where: { id: userId } });
  if (user.totpEnabled) throw new AppError("conflict", "Two-factor authentication is already on");
  if (!user.totpSecretEnc) throw new AppError("bad_request", "Start the set-up first");
  const step = await verifyTotp(user.totpSecretEnc, code);
  if (step === null) {
    throw new AppError("validation_failed", "That code is not valid", [{ field: "code", message: "That code is not valid; check your device's clock" }]);
  }
  const codes = newRecoveryCodes();
  await db.$transaction(async (tx) => {
    await tx.user.update({
      where: { id: userId },
      data: { totpEnabled: true, totpLastStep: step, recoveryCodes: codes.map((c) => sha256(c.replace("-", ""))) },
    });
    await appendAuditEvents(tx, [
      { id: randomUUID(), time: new Date(), kind: "auth.mfa", ...actorFields(actor), action: "mfa.enrol", outcome: "success", targetType: "user", targetId: userId },
    ]);
  });
  return codes;
}

export async function disableMfa(db: Db, actor: Actor, code: string): Promise<void> {
  const userId = ownerId(actor);
  const user = await db.user.findUniqueOrThrow({ where: { id: userId } });
  if (!user.totpEnabled || !user.totpSecretEnc) throw new AppError("bad_request", "Two-factor authentication is not on");
  if ((await verifyTotp(user.totpSecretEnc, code, user.totpLastStep)) === null) {
    throw new AppError("validation_failed", "That code is not valid", [{ field: "code", message: "That code is not valid" }]);
  }
  await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: userId }, data: { totpEnabled: false, totpSecretEnc: null, totpLastStep: null, recoveryCodes: [] } });
    await appendAuditEvents(tx, [
      { id: randomUUID(), time: new Date(), kind: "auth.mfa", ...actorFields(actor), action: "mfa.disable", outcome: "success", targetType: "user", targetId: userId },
    ]);
  });
}

/** The caller's own two-factor status: counts only, never the seed or the code hashes. */
export async function getMfaStatus(db: Db, actor: Actor) {
  const user = await db.user.findUniqueOrThrow({
    where: { id: ownerId(actor) },
    select: { email: true, source: true, totpEnabled: true, recoveryCodes: true },
  });
  return { email: user.email, isSso: user.source !== "local", isEnabled: user.totpEnabled, recoveryCodesLeft: user.recoveryCodes.length };
}
