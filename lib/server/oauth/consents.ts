import "server-only";
import { randomUUID } from "node:crypto";
import { forbidden, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { listConnectedClientsParams, type ConnectedClientView } from "@/lib/schemas/oauth-client";
import type { Page } from "@/lib/schemas/common";
import type { Db } from "../db/client";
import { actorFields, appendAuditEvents } from "../audit";
import { can, type Actor } from "../auth/actor";
import { publishConfig } from "../config-publisher";
import { describeError, log } from "../log";
import { recordRevocations } from "../revocations";
import { pageArgs, toPage } from "../pagination";
import { portalSlugFromResource } from "./resource";

type Tx = Prisma.TransactionClient;

/**
 * Connected clients: a person's remembered approvals of MCP clients, one per client and portal.
 * Each is backed by an oidc-provider grant; its codes and refresh tokens carry the grant id, so
 * revoking deletes them all at once. Its access tokens are JWTs the gateways verify offline: they
 * carry the grant id too (`portico_grant`), and a revocation entry ends them at the gateways.
 */

function ownerId(actor: Actor): string | null {
  return actor.type === "user" || actor.type === "api_token" ? actor.userId : null;
}

const include = { user: { select: { id: true, email: true } } } as const;
type Row = Prisma.OAuthConsentGetPayload<{ include: typeof include }>;

const toView = (r: Row): ConnectedClientView => ({
  id: r.id,
  user: r.user,
  clientId: r.clientId,
  clientName: r.clientName,
  portal: portalSlugFromResource(r.resource),
  resource: r.resource,
  scope: r.scope,
  createdAt: r.createdAt.toISOString(),
  lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
});

/** Your connected clients; with `all=true`, everyone's (admins). */
export async function listConnectedClients(db: Db, actor: Actor, raw: unknown = {}): Promise<Page<ConnectedClientView>> {
  const params = listConnectedClientsParams.parse(raw);
  const everyone = params.all === "true";
  if (everyone && !can(actor, "clients:all")) throw forbidden("Only admins see everyone's connected clients");
  const owner = ownerId(actor);
  if (!everyone && !owner) throw forbidden("Only people have connected clients");
  const q = params.q;
  const where: Prisma.OAuthConsentWhereInput = {
    ...(everyone ? {} : { userId: owner! }),
    ...(q ? { OR: [{ clientName: { contains: q, mode: "insensitive" } }, { user: { email: { contains: q, mode: "insensitive" } } }] } : {}),
  };
  const rows = await db.oAuthConsent.findMany({ where, include, orderBy: [{ createdAt: "desc" }, { id: "desc" }], ...pageArgs(params) });
  return toPage(rows, params.limit, toView);
}

/** Deletes a grant and everything issued under it (codes, refresh tokens, the grant itself). */
export async function destroyGrant(tx: Tx | Db, grantId: string) {
  await tx.oAuthPayload.deleteMany({ where: { OR: [{ grantId }, { type: "Grant", id: grantId }] } });
}

export async function revokeConnectedClient(db: Db, actor: Actor, id: string): Promise<ConnectedClientView> {
  if (actor.type === "api_token" && !actor.scopes.includes("write")) throw forbidden("This API token lacks the `write` scope");
  const consent = await db.oAuthConsent.findUnique({ where: { id }, include });
  // Someone else's connection is "not found" to a non-admin: its existence is not theirs to know.
  if (!consent || (consent.userId !== ownerId(actor) && !can(actor, "clients:all"))) throw notFound("Connected client");
  await db.$transaction(async (tx) => {
    await tx.oAuthConsent.delete({ where: { id } });
    await destroyGrant(tx, consent.grantId);
    await recordRevocations(tx, [{ kind: "grant", id: consent.grantId, reason: "client disconnected" }]);
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
        data: { clientName: consent.clientName, user: consent.user.email },
        requestId: actor.requestId ?? null,
      },
    ]);
  });
  return toView(consent);
}

/**
 * The grant is gone (refresh-token reuse, revocation): so is the remembered approval, and the
 * access tokens issued under it stop at the gateways.
 */
export async function forgetRevokedGrant(db: Db, grantId: string): Promise<void> {
  try {
    await db.$transaction(async (tx) => {
      await tx.oAuthConsent.deleteMany({ where: { grantId } });
      await recordRevocations(tx, [{ kind: "grant", id: grantId, reason: "grant revoked" }]);
    });
    await publishConfig(db, "OAuth grant revoked");
  } catch (error) {
    log("warn", "could not forget a revoked grant", describeError(error));
  }
}

export async function touchConsent(tx: Tx | Db, grantId: string, when: Date): Promise<void> {
  await tx.oAuthConsent.updateMany({ where: { grantId }, data: { lastUsedAt: when } });
}
