import "server-only";
import type { StepUpRequestView } from "@/lib/schemas/step-up";
import type { Db } from "./db/client";
import { resolveRef, signBody, SIGNATURE_HEADER } from "./alerts/deliveries";
import { describeError, log } from "./log";
import { readSettings } from "./settings";
import { assertAllowedUpstream } from "./url-guard";

/**
 * The approver webhook (Settings → Approver webhook): when a step-up request is filed, one POST
 * tells the approvers' channel that it waits, with a link to it in Approvals. The body is
 * Slack-compatible (`text`, with the link in Slack's `<url|label>` form) and carries the request's
 * facts under `portico` for other receivers; with a secret reference set it is signed as alert
 * webhooks are (`x-portico-signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`).
 *
 * Sent after the request is committed and never awaited by the person filing: a slow or broken
 * receiver cannot hold up or fail a request. The URL passes the same SSRF guard as servers and
 * alert channels, again at send time (a name can be pointed elsewhere after it was saved).
 */

const SEND_TIMEOUT_MS = 10_000;

function publicUrl(): string {
  return (process.env.AUTH_URL ?? process.env.PORTICO_PUBLIC_URL ?? "http://127.0.0.1:3000").replace(/\/$/, "");
}

export function approvalsLink(requestId: string): string {
  return `${publicUrl()}/approvals?request=${encodeURIComponent(requestId)}`;
}

export function webhookBody(request: StepUpRequestView): string {
  const link = approvalsLink(request.id);
  const what = request.isPerCall ? `one call of ${request.server ? `${request.server}_` : ""}${request.tool}` : `${request.riskClass} access for ${request.durationMinutes} minutes`;
  const text = `Step-up request waiting: *${request.requester.label}* asks for ${what} on ${request.portal.name}.\n> ${request.reason}\n<${link}|Review it in Portico>`;
  return JSON.stringify({
    text,
    portico: {
      type: "stepup.requested",
      requestId: request.id,
      url: link,
      requester: request.requester.label,
      portal: request.portal.slug,
      riskClass: request.riskClass,
      server: request.server,
      tool: request.tool,
      isPerCall: request.isPerCall,
      arguments: request.arguments,
      durationMinutes: request.durationMinutes,
      reason: request.reason,
      expiresAt: request.expiresAt,
    },
  });
}

/** Sends the announcement; resolves whatever happens (failures are logged without the secret). */
export async function announceStepUpRequest(db: Db, request: StepUpRequestView): Promise<"sent" | "off" | "failed"> {
  try {
    const settings = await readSettings(db);
    const url = settings.approverWebhookUrl;
    if (!url) return "off";
    await assertAllowedUpstream(url, { allowPrivateTargets: settings.allowPrivateTargets }).catch(() => {
      throw new Error("the URL points at an address Portico may not call");
    });
    const body = webhookBody(request);
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "Portico-Approvals/1" };
    if (settings.approverWebhookSecretRef) {
      headers[SIGNATURE_HEADER] = signBody(await resolveRef(settings.approverWebhookSecretRef), String(Math.floor(Date.now() / 1000)), body);
    }
    const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(SEND_TIMEOUT_MS) }).catch(() => {
      throw new Error("the receiver could not be reached");
    });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) throw new Error(`the receiver answered HTTP ${res.status}`);
    return "sent";
  } catch (error) {
    log("warn", "approver webhook not delivered", { requestId: request.id, ...describeError(error) });
    return "failed";
  }
}
