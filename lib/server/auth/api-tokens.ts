import "server-only";
import type { Db } from "../db/client";
import { randomToken, sha256 } from "../crypto";
import type { Actor } from "./actor";
import { tokenScopes, type TokenScope } from "@/lib/auth/permissions";

const PREFIX = "ptk_";
// Writing lastUsedAt on every request would turn each API read into a write.
const LAST_USED_GRANULARITY_MS = 60_000;

export function generateApiToken(): { token: string; prefix: string; hash: string } {
  const token = `${PREFIX}${randomToken(32)}`;
  return { token, prefix: token.slice(0, 12), hash: sha256(token) };
}

/** Resolves a bearer API token to an actor, or null when it is unknown, expired, revoked or its owner is disabled. */
export async function resolveApiToken(db: Db, token: string, ctx: { requestId?: string; ip?: string }): Promise<Actor | null> {
  if (!token.startsWith(PREFIX) || token.length > 100) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: sha256(token) }, include: { user: true } });
  const now = new Date();
  if (!row || row.revokedAt || row.expiresAt <= now || row.user.disabled) return null;
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  }
  return {
    type: "api_token",
    tokenId: row.id,
    tokenPrefix: row.prefix,
    userId: row.userId,
    email: row.user.email,
    name: row.user.name,
    role: row.user.role,
    scopes: row.scopes.filter((s): s is TokenScope => (tokenScopes as readonly string[]).includes(s)),
    ...ctx,
  };
}
