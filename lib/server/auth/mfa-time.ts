/**
 * When a sign-in proved the second factor (`auth_time`: the IdP's, or when a local sign-in checked
 * the TOTP code), never later than now. An IdP that sent none gives no proof of when the person
 * last signed in there (it may have answered from an hour-old session), so the factor counts as
 * old (0) and step-up asks for a fresh IdP sign-in, whose `max_age=0` obliges the IdP to send `auth_time` (OpenID Connect Core 3.1.2.1).
 */
export function mfaProvenAt(authTime: number | null | undefined, now: number): number {
  return typeof authTime === "number" && Number.isFinite(authTime) ? Math.min(authTime * 1000, now) : 0;
}

/** The session's `mfaAt` for a signed-in user: when the second factor was proven, null without one. */
export function sessionMfaAt(user: { mfa?: boolean | null; authTime?: number | null }, now: number): number | null {
  return user.mfa ? mfaProvenAt(user.authTime, now) : null;
}
