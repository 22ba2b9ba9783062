import "server-only";
import { createTokenInput, listTokensParams, type TokenView } from "@/lib/schemas/token";
import type { Page } from "@/lib/schemas/common";
import { AppError, notFound } from "@/lib/errors";
import type { ApiToken, Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { can, ownerId, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { generateApiToken } from "./auth/api-tokens";
import { iso, pageArgs, toPage } from "./pagination";

type Row = ApiToken & { user: { id: string; email: string } };

function toView(row: Row): TokenView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    owner: { id: row.user.id, email: row.user.email },
    expiresAt: row.expiresAt.toISOString(),
    revokedAt: iso(row.revokedAt),
    lastUsedAt: iso(row.lastUsedAt),
    createdAt: row.createdAt.toISOString(),
  };
}

const include = { user: { select: { id: true, email: true } } } as const;

// Tokens are personal: everyone manages their own; admins can see and revoke everyone's. A
// read-only token cannot mint or revoke tokens.
function assertCanManageTokens(actor: Actor) {
  if (actor.type === "api_token" && !actor.scopes.includes("write")) throw new AppError("forbidden", "This API token lacks the `write` scope");
}

export async function listTokens(db: Db, actor: Actor, raw: unknown): Promise<Page<TokenView>> {
  const params = listTokensParams.parse(raw);
  const all = params.all === "true";
  if (all && !can(actor, "tokens:all")) throw new AppError("forbidden", "Only admins can list everyone's tokens");
  const where: Prisma.ApiTokenWhereInput = all ? {} : { userId: ownerId(actor) };
  const rows = await db.apiToken.findMany({ where, include, orderBy: [{ createdAt: "desc" }, { id: "desc" }], ...pageArgs(params) });
  return toPage(rows, params.limit, toView);
}

export async function createToken(db: Db, actor: Actor, raw: unknown): Promise<TokenView & { token: string }> {
  assertCanManageTokens(actor);
  const input = createTokenInput.parse(raw);
  const userId = ownerId(actor);
  const { token, prefix, hash } = generateApiToken();
  return db.$transaction(async (tx) => {
    const row = await tx.apiToken.create({
      data: { name: input.name, userId, prefix, tokenHash: hash, scopes: input.scopes, expiresAt: new Date(Date.now() + input.expiresInDays * 86_400_000) },
      include,
    });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "token.create", targetType: "api_token", targetId: row.id, after: view });
    return { ...view, token };
  });
}

export async function revokeToken(db: Db, actor: Actor, id: string): Promise<TokenView> {
  assertCanManageTokens(actor);
  return db.$transaction(async (tx) => {
    const before = await tx.apiToken.findUnique({ where: { id }, include });
    // Someone else's token is "not found" to a non-admin: its existence is not theirs to know.
    if (!before || (before.userId !== ownerId(actor) && !can(actor, "tokens:all"))) throw notFound("Token");
    if (before.revokedAt) return toView(before);
    const row = await tx.apiToken.update({ where: { id }, data: { revokedAt: new Date() }, include });
    await recordConfigChange(tx, actor, { action: "token.revoke", targetType: "api_token", targetId: id, before: toView(before), after: toView(row) });
    return toView(row);
  });
}
