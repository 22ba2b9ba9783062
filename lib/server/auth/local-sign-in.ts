import "server-only";
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Db } from "../db/client";
import { env } from "../env";
import { appendAuditEvents } from "../audit";
import { publishConfig } from "../config-publisher";
import { recordRevocations } from "../revocations";
import { burnPasswordCheck, verifyPassword } from "./passwords";
import { consumeRecoveryCode, verifyTotp } from "./mfa";

export const localSignInInput = z.object({
  email: z.string().trim().toLowerCase().email().max(320),
  password: z.string().min(1).max(1024),
  code: z.string().trim().max(32).optional().transform((c) => c || undefined),
});

export type SignInFailure = "invalid_credentials" | "locked" | "mfa_required" | "mfa_invalid" | "disabled";

export type SignInResult =
  | {
      ok: true;
      user: { id: string; email: string; name: string; role: string };
      mfa: boolean;
      /** When this sign-in proved the second factor (epoch seconds, like an IdP's `auth_time`); null without one. */
      authTime: number | null;
    }
  | { ok: false; reason: SignInFailure };

type Context = { ip?: string; requestId?: string };

/**
 * Checks a local password (and TOTP when enrolled). Failures count towards a lock-out; the answer
 * never says whether the email exists.
 */
export async function verifyLocalSignIn(db: Db, raw: unknown, ctx: Context = {}): Promise<SignInResult> {
  const parsed = localSignInInput.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: "invalid_credentials" };
  const { email, password, code } = parsed.data;
  const { LOCKOUT_THRESHOLD, LOCKOUT_MINUTES } = env();
  const now = new Date();

  const audit = (outcome: "success" | "failure", action: string, userId: string | null, reason?: string) =>
    db.$transaction((tx) =>
      appendAuditEvents(tx, [
        {
          id: randomUUID(),
          time: new Date(),
          kind: "auth.sign_in",
          actorType: userId ? "user" : "anonymous",
          actorId: userId,
          actorLabel: email,
          action,
          outcome,
          reasons: reason ? [reason] : null,
          data: { method: "password" },
          sourceIp: ctx.ip ?? null,
          requestId: ctx.requestId ?? null,
        },
      ]),
    );

  const user = await db.user.findUnique({ where: { email } });
  if (!user?.passwordHash) {
    await burnPasswordCheck(password);
    await audit("failure", "sign_in.password", null, "unknown email or no local password");
    return { ok: false, reason: "invalid_credentials" };
  }
  if (user.lockedUntil && user.lockedUntil > now) {
    await audit("failure", "sign_in.password", user.id, "account locked");
    return { ok: false, reason: "locked" };
  }

  const fail = async (reason: SignInFailure, why: string): Promise<SignInResult> => {
    const failures = user.failedLogins + 1;
    const locks = failures >= LOCKOUT_THRESHOLD;
    await db.$transaction(async (tx) => {
      await tx.user.update({
        where: { id: user.id },
        data: locks
          ? { failedLogins: 0, lockedUntil: new Date(now.getTime() + LOCKOUT_MINUTES * 60_000) }
          : { failedLogins: failures },
      });
      // A lock-out says someone is guessing this password: the account's MCP tokens in hand stop
      // too, and its owner gets new ones by signing in once the lock has passed.
      if (locks) await recordRevocations(tx, [{ kind: "subject", id: user.id, reason: "user locked" }], now);
    });
    if (locks) await publishConfig(db, `user ${user.id} locked after failed sign-ins`);
    await audit("failure", reason === "mfa_invalid" ? "sign_in.mfa" : "sign_in.password", user.id, locks ? `${why}; account locked` : why);
    return { ok: false, reason: locks ? "locked" : reason };
  };

  if (!(await verifyPassword(user.passwordHash, password))) return fail("invalid_credentials", "wrong password");
  if (user.disabled) {
    await audit("failure", "sign_in.password", user.id, "account disabled");
    return { ok: false, reason: "disabled" };
  }
  let acceptedStep: number | null = null;
  if (user.totpEnabled && user.totpSecretEnc) {
    // The password was right: say a code is needed, but do not count it as a failure.
    if (!code) return { ok: false, reason: "mfa_required" };
    if (/^\d{6}$/.test(code)) {
      const step = await verifyTotp(user.totpSecretEnc, code, user.totpLastStep);
      if (step === null) return fail("mfa_invalid", "wrong or already used two-factor code");
      acceptedStep = step;
    } else if (!(await consumeRecoveryCode(db, user.id, code))) {
      return fail("mfa_invalid", "wrong two-factor code");
    }
  }

  await db.user.update({
    where: { id: user.id },
    data: { failedLogins: 0, lockedUntil: null, lastLoginAt: now, ...(acceptedStep !== null ? { totpLastStep: acceptedStep } : {}) },
  });
  await audit("success", "sign_in.password", user.id);
  const mfa = user.totpEnabled;
  return { ok: true, user: { id: user.id, email: user.email, name: user.name, role: user.role }, mfa, authTime: mfa ? Math.floor(now.getTime() / 1000) : null };
}

/**
 * The session's user for a successful local sign-in. `authTime` is when the code was entered, so
 * the step-up page counts the second factor as fresh right after a sign-in with TOTP instead of
 * asking for a second code (which the one-time rule then refuses as a replay for up to 30 s).
 */
export function localSessionUser(result: Extract<SignInResult, { ok: true }>) {
  return { id: result.user.id, email: result.user.email, name: result.user.name, mfa: result.mfa, authTime: result.authTime };
}
