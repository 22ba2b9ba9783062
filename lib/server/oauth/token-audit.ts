import "server-only";
import { randomUUID } from "node:crypto";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Db } from "../db/client";
import { appendAuditEvents } from "../audit";
import { describeError, log } from "../log";
import { isServiceAccountClientId, markServiceAccountUsed } from "../service-accounts";
import { PRESENTED_CLIENT_ID } from "./clients";
import { touchConsent } from "./consents";
import { portalSlugFromResource } from "./resource";

const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Where the `grant.error` listener leaves oidc-provider's detail ("refresh token already used", …) for the event. */
export const ERROR_DETAIL = "porticoErrorDetail";

function tokenAction(grantType: unknown, reused: boolean): string {
  if (grantType === "refresh_token") return reused ? "token.refresh_reuse" : "token.refresh";
  return "token.issue";
}

/**
 * Every token request is audited, issued or refused, and so is every revocation. The event is written before the answer
 * leaves: if it cannot be written, the token is not handed out (500), so no token exists that the
 * audit trail does not know about.
 */
export function auditTokenRequests(db: Db) {
  return async function auditTokenMiddleware(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    await next();
    if (ctx.oidc?.route === "revocation") return auditRevocation(db, ctx);
    if (ctx.oidc?.route !== "token") return;

    const params = (ctx.oidc.params ?? {}) as { grant_type?: unknown; resource?: unknown; scope?: unknown };
    const body = (ctx.body ?? {}) as { access_token?: unknown; scope?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
    const isIssued = ctx.status === 200 && typeof body.access_token === "string";
    const presented = ctx.state[PRESENTED_CLIENT_ID] as unknown;
    const paramClientId = (ctx.oidc.params as { client_id?: unknown } | undefined)?.client_id;
    const clientId = ctx.oidc.client?.clientId ?? (typeof presented === "string" ? presented : typeof paramClientId === "string" ? paramClientId : null);
    const resource = typeof params.resource === "string" ? params.resource : null;
    const token = ctx.oidc.entities.ClientCredentials ?? ctx.oidc.entities.AccessToken;
    const isServiceAccount = clientId !== null && isServiceAccountClientId(clientId);
    // A person's token: the user is the actor, the client is what they use.
    const accountId = ctx.oidc.entities.Account?.accountId ?? null;
    const grantId = ctx.oidc.entities.Grant?.jti ?? null;
    // oidc-provider marks the presented refresh token consumed before it finds it was used already.
    const reused = !isIssued && ctx.oidc.entities.RefreshToken?.consumed !== undefined && params.grant_type === "refresh_token";
    const detail = ctx.state[ERROR_DETAIL] as unknown;
    const now = new Date();
    const requestId = ctx.get("x-request-id");

    const event: AuditEventInput = {
      id: randomUUID(),
      time: now,
      kind: "auth.token",
      actorType: isServiceAccount ? "service_account" : accountId ? "user" : "anonymous",
      actorId: accountId ? clip(accountId, 200) : clientId ? clip(clientId, 200) : null,
      actorLabel: ctx.oidc.client?.clientName ? clip(String(ctx.oidc.client.clientName), 320) : null,
      action: tokenAction(params.grant_type, reused),
      outcome: isIssued ? "success" : "failure",
      targetType: resource ? "portal" : null,
      targetId: resource ? clip(resource, 200) : null,
      portal: resource ? portalSlugFromResource(resource) : null,
      reasons: isIssued ? null : [clip(`${String(body.error ?? "error")}: ${typeof detail === "string" ? detail : String(body.error_description ?? "")}`, 1000)],
      // Client id, source address and reason as fields of their own: failed-authentication rules
      // count by them, whoever the actor is.
      data: {
        grantType: typeof params.grant_type === "string" ? clip(params.grant_type, 100) : null,
        ...(clientId ? { clientId: clip(clientId, 300) } : {}),
        ...(isIssued ? {} : { failure: clip(String(body.error ?? "error"), 100) }),
        ...(isIssued ? { scope: typeof body.scope === "string" ? body.scope : null, tokenId: token?.jti ?? null, expiresIn: body.expires_in ?? null } : {}),
      },
      sourceIp: ctx.ip ? clip(ctx.ip, 64) : null,
      requestId: REQUEST_ID.test(requestId) ? requestId : null,
    };

    try {
      await db.$transaction(async (tx) => {
        await appendAuditEvents(tx, [event]);
        if (isIssued && isServiceAccount) await markServiceAccountUsed(tx, clientId, now);
        if (isIssued && grantId) await touchConsent(tx, grantId, now);
      });
    } catch (error) {
      log("error", "could not audit a token request", { route: "token", outcome: event.outcome, ...describeError(error) });
      if (isIssued) {
        ctx.status = 500;
        ctx.body = { error: "server_error", error_description: "the token could not be recorded; try again" };
      }
    }
  };
}

/**
 * A client id or source address locked out of client authentication (see token-throttle.ts): one
 * event when the lockout begins. The requests refused while it lasts are not written one by one,
 * so a flood of them cannot turn into a flood of audit writes.
 */
export async function auditClientAuthLockout(
  db: Db,
  ctx: KoaContextWithOIDC,
  lockout: { clientId: string | null; scope: "client" | "address"; lockMs: number; lockouts: number },
): Promise<void> {
  const requestId = ctx.get("x-request-id");
  const seconds = Math.ceil(lockout.lockMs / 1000);
  const event: AuditEventInput = {
    id: randomUUID(),
    time: new Date(),
    kind: "auth.token",
    // An address's lockout is not the fault of the client id whose attempt happened to be the last.
    actorType: lockout.scope === "client" && lockout.clientId && isServiceAccountClientId(lockout.clientId) ? "service_account" : "anonymous",
    actorId: lockout.scope === "client" && lockout.clientId ? clip(lockout.clientId, 200) : null,
    actorLabel: null,
    action: "token.lockout",
    outcome: "failure",
    reasons: [`too many failed client authentications from this ${lockout.scope === "client" ? "client id" : "address"}: refused for ${seconds} s`],
    data: {
      ...(lockout.clientId ? { clientId: clip(lockout.clientId, 300) } : {}),
      failure: "locked_out",
      scope: lockout.scope,
      lockSeconds: seconds,
      lockouts: lockout.lockouts,
    },
    sourceIp: ctx.ip ? clip(ctx.ip, 64) : null,
    requestId: REQUEST_ID.test(requestId) ? requestId : null,
  };
  await db.$transaction((tx) => appendAuditEvents(tx, [event])).catch((error: unknown) => log("error", "could not audit a lockout", describeError(error)));
}

/** RFC 7009 answers 200 whatever the token was; the event says what the client asked and whether a token was known. */
async function auditRevocation(db: Db, ctx: KoaContextWithOIDC) {
  const clientId = ctx.oidc.client?.clientId ?? null;
  const revoked = ctx.oidc.entities.RefreshToken ?? ctx.oidc.entities.AccessToken ?? null;
  const requestId = ctx.get("x-request-id");
  const event: AuditEventInput = {
    id: randomUUID(),
    time: new Date(),
    kind: "auth.token",
    actorType: "anonymous",
    actorId: clientId ? clip(clientId, 200) : null,
    actorLabel: ctx.oidc.client?.clientName ? clip(String(ctx.oidc.client.clientName), 320) : null,
    action: "token.revoke",
    outcome: ctx.status === 200 ? "success" : "failure",
    targetType: revoked ? "grant" : null,
    targetId: revoked?.grantId ? clip(revoked.grantId, 200) : null,
    data: { known: revoked !== null, tokenKind: revoked?.kind ?? null },
    sourceIp: ctx.ip ? clip(ctx.ip, 64) : null,
    requestId: REQUEST_ID.test(requestId) ? requestId : null,
  };
  await db.$transaction((tx) => appendAuditEvents(tx, [event])).catch((error: unknown) => log("error", "could not audit a revocation", describeError(error)));
}
