import "server-only";
import { randomUUID } from "node:crypto";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "../db/client";
import { actorFields, appendAuditEvents } from "../audit";
import { can, type Actor } from "../auth/actor";
import { describeError, log } from "../log";
import { portalSlugFromResource } from "./resource";

type Tx = Prisma.TransactionClient;

/**
 * Connected clients: a person's remembered approvals of MCP clients, one per client and portal.
 * Each is backed by an oidc-provider grant; its codes and refresh tokens carry the grant id, so
 * revoking deletes them all at once (access tokens are short-lived JWTs and run out by themselves).
 */

export type ConnectedClient = {
  id: string;
  userId: string;
  userEmail: string;
  clientId: string;
  clientName: string;
  portal: string | null;
  resource: string;
  scope: string;
  createdAt: string;
  lastUsedAt: string | null;
};

export async function listConnectedClients(db: Db, actor: Actor, options: { everyone?: boolean } = {}): Promise<ConnectedClient[]> {
  if (actor.type !== "user" && !can(actor, "clients:all")) throw new AppError("forbidden", "Only people have connected clients");
  const everyone = options.everyone === true;
  if (everyone && !can(actor, "clients:all")) throw new AppError("forbidden", "Only admins see everyone's connected clients");
  const rows = await db.oAuthConsent.findMany({
    where: everyone ? {} : { userId: actor.type === "user" ? actor.userId : "" },
    include: { user: { select: { email: true } } },
    orderBy: [{ lastUsedAt: { sort: "desc", nulls: "last" } }, { createdAt: "desc" }],
    take: 500,
  });
  return rows.map((r) => ({
    id: r.id,
    userId: r.userId,
    userEmail: r.user.email,
    clientId: r.clientId,
    clientName: r.clientName,
    portal: portalSlugFromResource(r.resource),
    resource: r.resource,
    scope: r.scope,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
  }));
}

/** Deletes a grant and everything issued under it (codes, refresh tokens, the grant itself). */
async function destroyGrant(tx: Tx | Db, grantId: string) {
  await tx.oAuthPayload.deleteMany({ where: { OR: [{ grantId }, { type: "Grant", id: grantId }] } });
}

export async function revokeConnectedClient(db: Db, actor: Actor, id: string): Promise<void> {
  const consent = await db.oAuthConsent.findUnique({ where: { id } });
  const mine = consent && actor.type === "user" && consent.userId === actor.userId;
  if (!consent || (!mine && !can(actor, "clients:all"))) throw new AppError("not_found", "No such connected client");
  await db.$transaction(async (tx) => {
    await tx.oAuthConsent.delete({ where: { id } });
    await destroyGrant(tx, consent.grantId);
    await appendAuditEvents(tx, [
      {
        id: randomUUID(),
        time: new Date(),
        kind: "auth.consent",
        ...actorFields(actor),
        action: "consent.revoke",
        outcome: "success",
        targetType: "oauth_client",
        targetId: consent.clientId.slice(0, 200),
        portal: portalSlugFromResource(consent.resource),
        data: { clientName: consent.clientName, userId: consent.userId },
        requestId: actor.requestId ?? null,
      },
    ]);
  });
}

/** The grant is gone (refresh-token reuse, revocation): so is the remembered approval. */
export async function forgetRevokedGrant(db: Db, grantId: string): Promise<void> {
  await db.oAuthConsent.deleteMany({ where: { grantId } }).catch((error: unknown) => log("warn", "could not forget a revoked grant", describeError(error)));
}

export async function touchConsent(tx: Tx | Db, grantId: string, when: Date): Promise<void> {
  await tx.oAuthConsent.updateMany({ where: { grantId }, data: { lastUsedAt: when } });
}
