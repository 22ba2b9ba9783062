import "server-only";
import { createUserInput, listUsersParams, updateUserInput, type UserView } from "@/lib/schemas/user";
import type { Page } from "@/lib/schemas/common";
import { AppError, notFound } from "@/lib/errors";
import type { Prisma, User } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { hashPassword } from "./auth/passwords";
import { iso, pageArgs, toPage } from "./pagination";
import { recordRevocations } from "./revocations";
import { destroyGrant } from "./oauth/consents";

function toView(row: User): UserView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    source: row.source,
    mfaEnabled: row.totpEnabled,
    disabled: row.disabled,
    locked: Boolean(row.lockedUntil && row.lockedUntil > new Date()),
    idpGroups: row.idpGroups,
    lastLoginAt: iso(row.lastLoginAt),
    createdAt: row.createdAt.toISOString(),
  };
}

export async function listUsers(db: Db, actor: Actor, raw: unknown): Promise<Page<UserView>> {
  authorize(actor, "users:read");
  const params = listUsersParams.parse(raw);
  const where: Prisma.UserWhereInput = {
    ...(params.role ? { role: params.role } : {}),
    ...(params.q ? { OR: [{ email: { contains: params.q, mode: "insensitive" } }, { name: { contains: params.q, mode: "insensitive" } }] } : {}),
  };
  const rows = await db.user.findMany({ where, orderBy: [{ email: "asc" }, { id: "asc" }], ...pageArgs(params) });
  return toPage(rows, params.limit, toView);
}

export async function getUser(db: Db, actor: Actor, id: string): Promise<UserView> {
  authorize(actor, "users:read");
  const row = await db.user.findUnique({ where: { id } });
  if (!row) throw notFound("User");
  return toView(row);
}

export async function createUser(db: Db, actor: Actor, raw: unknown): Promise<UserView> {
  authorize(actor, "users:write");
  const input = createUserInput.parse(raw);
  const passwordHash = await hashPassword(input.password);
  return db.$transaction(async (tx) => {
    const row = await tx.user.create({ data: { email: input.email, name: input.name, role: input.role, passwordHash, source: "local" } });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "user.create", targetType: "user", targetId: row.id, after: view });
    return view;
  });
}

export async function updateUser(db: Db, actor: Actor, id: string, raw: unknown): Promise<UserView> {
  authorize(actor, "users:write");
  const input = updateUserInput.parse(raw);
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  return db.$transaction(async (tx) => {
    const before = await tx.user.findUnique({ where: { id } });
    if (!before) throw notFound("User");
    const demotes = (input.role && input.role !== "admin") || input.disabled === true;
    if (before.role === "admin" && demotes) {
      // Nobody could manage Portico any more if the last active admin lost the role.
      const admins = await tx.user.count({ where: { role: "admin", disabled: false, id: { not: id } } });
      if (admins === 0) throw new AppError("conflict", "This is the last active admin: make someone else admin first");
    }
    if (before.source === "sso" && input.role && input.role !== before.role) {
      throw new AppError("conflict", "This user's role comes from company SSO groups; change their groups instead", [{ field: "role", message: "Managed by SSO" }]);
    }
    const row = await tx.user.update({
      where: { id },
      data: {
        name: input.name,
        role: input.role,
        disabled: input.disabled,
        ...(passwordHash ? { passwordHash, failedLogins: 0, lockedUntil: null } : {}),
        ...(input.unlock ? { failedLogins: 0, lockedUntil: null } : {}),
        ...(input.resetMfa ? { totpEnabled: false, totpSecretEnc: null, totpLastStep: null, recoveryCodes: [] } : {}),
      },
    });
    // Disabling ends the MCP tokens the user holds too: the gateways verify them offline.
    if (input.disabled === true && !before.disabled) await recordRevocations(tx, [{ kind: "subject", id, reason: "user disabled" }]);
    const view = toView(row);
    await recordConfigChange(tx, actor, {
      action: "user.update",
      targetType: "user",
      targetId: id,
      before: toView(before),
      after: { ...view, ...(input.password ? { password: "changed" } : {}) },
    });
    return view;
  });
}

/**
 * Removes a person from Portico: their API tokens and remembered client approvals go with the row,
 * the authorization server forgets their grants (so refresh tokens stop), and a revocation entry
 * stops the MCP access tokens they hold at every gateway within a second. Their audit trail stays:
 * events name the user by id and e-mail, not by a foreign key. An SSO user whom the company IdP
 * still lets in is created afresh at their next sign-in, with no approvals and no API tokens;
 * disable them instead to keep them out.
 */
export async function deleteUser(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "users:write");
  if (actor.type !== "system" && actor.userId === id) throw new AppError("conflict", "You cannot remove your own account");
  await db.$transaction(async (tx) => {
    const before = await tx.user.findUnique({ where: { id }, include: { oauthConsents: { select: { grantId: true } } } });
    if (!before) throw notFound("User");
    if (before.role === "admin" && !before.disabled) {
      const admins = await tx.user.count({ where: { role: "admin", disabled: false, id: { not: id } } });
      if (admins === 0) throw new AppError("conflict", "This is the last active admin: make someone else admin first");
    }
    for (const { grantId } of before.oauthConsents) await destroyGrant(tx, grantId);
    await tx.user.delete({ where: { id } });
    await recordRevocations(tx, [{ kind: "subject", id, reason: "user removed" }]);
    await recordConfigChange(tx, actor, { action: "user.delete", targetType: "user", targetId: id, before: toView(before) });
  });
}
