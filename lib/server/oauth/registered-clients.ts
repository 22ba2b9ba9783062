import "server-only";
import { randomBytes } from "node:crypto";
import { forbidden, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { createOAuthClientInput, type OAuthClientView } from "@/lib/schemas/oauth-client";
import type { Db } from "../db/client";
import { recordConfigChange } from "../audit";
import { recordRevocations } from "../revocations";
import { can, type Actor } from "../auth/actor";
import { destroyGrant } from "./consents";
import { DYNAMIC_CLIENT_PREFIX } from "./interactions";

/**
 * Clients the authorization server knows by id: pre-registered by an admin (`pc_…`) or registered
 * by themselves through RFC 7591 (`dyn_…`). Both are stored as oidc-provider `Client` payloads.
 * (Clients identified by a metadata document URL are fetched, not stored; service accounts live in
 * their own table.)
 *
 * Pre-registered clients are public clients with PKCE, what MCP clients (CLIs, IDEs, desktop apps)
 * are: a confidential client's secret would have to be kept in clear for oidc-provider to compare.
 */
export const REGISTERED_CLIENT_PREFIX = "pc_";

type ClientPayload = { client_id?: unknown; client_name?: unknown; redirect_uris?: unknown; client_uri?: unknown };

function assertAdmin(actor: Actor) {
  if (!can(actor, "clients:all")) throw forbidden("Only admins manage OAuth clients");
}

const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function toView(row: { id: string; payload: Prisma.JsonValue; createdAt: Date }, connections: number): OAuthClientView {
  const p = (row.payload ?? {}) as ClientPayload;
  return {
    clientId: row.id,
    name: typeof p.client_name === "string" && p.client_name ? p.client_name : row.id,
    kind: row.id.startsWith(DYNAMIC_CLIENT_PREFIX) ? "dynamic" : "registered",
    redirectUris: strings(p.redirect_uris),
    clientUri: typeof p.client_uri === "string" ? p.client_uri : null,
    createdAt: row.createdAt.toISOString(),
    connections,
  };
}

export async function listOAuthClients(db: Db, actor: Actor): Promise<{ items: OAuthClientView[] }> {
  assertAdmin(actor);
  const rows = await db.oAuthPayload.findMany({ where: { type: "Client" }, orderBy: { createdAt: "desc" }, take: 500 });
  const counts = await db.oAuthConsent.groupBy({ by: ["clientId"], where: { clientId: { in: rows.map((r) => r.id) } }, _count: { _all: true } });
  const byClient = new Map(counts.map((c) => [c.clientId, c._count._all]));
  return { items: rows.map((r) => toView(r, byClient.get(r.id) ?? 0)) };
}

export async function createOAuthClient(db: Db, actor: Actor, raw: unknown): Promise<OAuthClientView> {
  assertAdmin(actor);
  const input = createOAuthClientInput.parse(raw);
  const clientId = `${REGISTERED_CLIENT_PREFIX}${randomBytes(12).toString("base64url")}`;
  const payload = {
    client_id: clientId,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    client_name: input.name,
    redirect_uris: input.redirectUris,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    ...(input.clientUri ? { client_uri: input.clientUri } : {}),
  };
  return db.$transaction(async (tx) => {
    const row = await tx.oAuthPayload.create({ data: { type: "Client", id: clientId, payload } });
    const view = toView(row, 0);
    await recordConfigChange(tx, actor, { action: "oauth_client.create", targetType: "oauth_client", targetId: clientId, after: view });
    return view;
  });
}

/** Deletes a client, and with it every person's connection to it, their refresh tokens and their access tokens. */
export async function deleteOAuthClient(db: Db, actor: Actor, clientId: string): Promise<void> {
  assertAdmin(actor);
  await db.$transaction(async (tx) => {
    const row = await tx.oAuthPayload.findUnique({ where: { type_id: { type: "Client", id: clientId } } });
    if (!row) throw notFound("OAuth client");
    const consents = await tx.oAuthConsent.findMany({ where: { clientId }, select: { grantId: true } });
    for (const { grantId } of consents) await destroyGrant(tx, grantId);
    await tx.oAuthConsent.deleteMany({ where: { clientId } });
    await tx.oAuthPayload.delete({ where: { type_id: { type: "Client", id: clientId } } });
    // Its people's access tokens in hand stop at the gateways too.
    await recordRevocations(tx, [{ kind: "client", id: clientId, reason: "client deleted" }]);
    await recordConfigChange(tx, actor, { action: "oauth_client.delete", targetType: "oauth_client", targetId: clientId, before: toView(row, consents.length) });
  });
}
