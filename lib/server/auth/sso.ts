import "server-only";
import { randomUUID } from "node:crypto";
import type { Db } from "../db/client";
import { env } from "../env";
import { appendAuditEvents } from "../audit";
import { dashboardRoles, type DashboardRole } from "@/lib/auth/permissions";

export type SsoProfile = {
  issuer: string;
  subject: string;
  email?: string | null;
  emailVerified?: boolean | null;
  name?: string | null;
  groups: string[];
};

/** The most privileged role any of the user's groups maps to (dashboardRoles is ordered most first). */
export function roleFromGroups(groups: string[], map: Record<string, DashboardRole>, fallback: DashboardRole | "none"): DashboardRole | null {
  const mapped = groups.map((g) => map[g]).filter((r): r is DashboardRole => Boolean(r));
  for (const role of dashboardRoles) if (mapped.includes(role)) return role;
  return fallback === "none" ? null : fallback;
}

export function groupsFromClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === "string").slice(0, 500);
  if (typeof value === "string") return value.split(/[,\s]+/).filter(Boolean).slice(0, 500);
  return [];
}

/**
 * Creates or updates the user behind an SSO sign-in (just in time). Their role follows the IdP's
 * groups at every sign-in. Returns null when the user may not sign in.
 */
export async function provisionSsoUser(db: Db, profile: SsoProfile, ctx: { ip?: string } = {}) {
  const { OIDC_ROLE_MAP, OIDC_DEFAULT_ROLE } = env();
  const idpSubject = `${profile.issuer}|${profile.subject}`;
  const email = profile.email?.trim().toLowerCase();
  const role = roleFromGroups(profile.groups, OIDC_ROLE_MAP, OIDC_DEFAULT_ROLE);

  const audit = (outcome: "success" | "failure", userId: string | null, reason?: string) =>
    db.$transaction((tx) =>
      appendAuditEvents(tx, [
        {
          id: randomUUID(),
          time: new Date(),
          kind: "auth.sign_in",
          actorType: userId ? "user" : "anonymous",
          actorId: userId,
          actorLabel: email ?? idpSubject,
          action: "sign_in.sso",
          outcome,
          reasons: reason ? [reason] : null,
          data: { method: "oidc", issuer: profile.issuer, groups: profile.groups.slice(0, 50), role },
          sourceIp: ctx.ip ?? null,
        },
      ]),
    );

  if (!email) {
    await audit("failure", null, "the identity provider sent no email");
    return null;
  }
  if (!role) {
    await audit("failure", null, "none of the user's groups maps to a Portico role");
    return null;
  }

  let user = await db.user.findUnique({ where: { idpSubject } });
  // Linking an SSO identity to an existing account by email is safe only for verified emails.
  if (!user && profile.emailVerified !== false) user = await db.user.findUnique({ where: { email } });
  if (user?.disabled) {
    await audit("failure", user.id, "account disabled");
    return null;
  }
  const data = { email, name: profile.name?.trim() || email, role, idpSubject, idpGroups: profile.groups, lastLoginAt: new Date() };
  user = user
    ? await db.user.update({ where: { id: user.id }, data: { ...data, source: user.passwordHash ? user.source : "sso" } })
    : await db.user.create({ data: { ...data, source: "sso" } });
  await audit("success", user.id);
  return user;
}
