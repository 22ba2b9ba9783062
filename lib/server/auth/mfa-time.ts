/**
 * When a sign-in proved the second factor: the IdP's `auth_time` when it sent one (an IdP that
 * answered a step-up's `prompt=login` from its own session, without asking again, does not make
 * an old factor look fresh), else now. Never later than now.
 */
export function mfaProvenAt(authTime: number | null | undefined, now: number): number {
  return typeof authTime === "number" && Number.isFinite(authTime) ? Math.min(authTime * 1000, now) : now;
}
