import "server-only";
import { randomUUID } from "node:crypto";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Db } from "../db/client";
import { appendAuditEvents } from "../audit";
import { describeError, log } from "../log";
import { isServiceAccountClientId, markServiceAccountUsed } from "../service-accounts";
import { PRESENTED_CLIENT_ID } from "./clients";
import { portalSlugFromResource } from "./resource";

const clip = (text: string, max: number) => (text.length > max ? text.slice(0, max) : text);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Every token request is audited, issued or refused. The event is written before the answer
 * leaves: if it cannot be written, the token is not handed out (500), so no token exists that the
 * audit trail does not know about.
 */
export function auditTokenRequests(db: Db) {
  return async function auditTokenMiddleware(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    await next();
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
    const now = new Date();
    const requestId = ctx.get("x-request-id");

    const event: AuditEventInput = {
      id: randomUUID(),
      time: now,
      kind: "auth.token",
      actorType: isServiceAccount ? "service_account" : "anonymous",
      actorId: clientId ? clip(clientId, 200) : null,
      actorLabel: ctx.oidc.client?.clientName ? clip(String(ctx.oidc.client.clientName), 320) : null,
      action: "token.issue",
      outcome: isIssued ? "success" : "failure",
      targetType: resource ? "portal" : null,
      targetId: resource ? clip(resource, 200) : null,
      portal: resource ? portalSlugFromResource(resource) : null,
      reasons: isIssued ? null : [clip(`${String(body.error ?? "error")}${body.error_description ? `: ${String(body.error_description)}` : ""}`, 1000)],
      data: {
        grantType: typeof params.grant_type === "string" ? clip(params.grant_type, 100) : null,
        ...(isIssued ? { scope: typeof body.scope === "string" ? body.scope : null, tokenId: token?.jti ?? null, expiresIn: body.expires_in ?? null } : {}),
      },
      sourceIp: ctx.ip ? clip(ctx.ip, 64) : null,
      requestId: REQUEST_ID.test(requestId) ? requestId : null,
    };

    try {
      await db.$transaction(async (tx) => {
        await appendAuditEvents(tx, [event]);
        if (isIssued && isServiceAccount) await markServiceAccountUsed(tx, clientId, now);
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
