import { bearerChallenge, MCP_SCOPE } from "../auth";
import { deny, toolEnding, type Call, type Ending } from "../exchange";
import { endedGrant, endedGrantText } from "./grants";

/**
 * Stage 5, decide: may this caller call this tool, now, from here, with these arguments? The
 * answer is lib/policy's (through the snapshot's compiled roles), the evaluator the dashboard's
 * explainer runs too. A denial is a tool result, so the model can tell the user why; a step-up is
 * the spec's HTTP 403 `insufficient_scope` challenge where the request has its own POST, so the
 * client can re-authorize with the elevated scope.
 */

/** Arguments longer than this as JSON stay out of the link (a per-call request for them is filed through the API). */
export const MAX_LINK_ARGUMENTS_CHARS = 2000;

/**
 * Where a person files a step-up request for this call: the link in the tool error or the URL
 * elicitation, for clients that cannot re-authorize. It carries the call's arguments when they are
 * short, because a role may approve this risk class one call at a time, bound to exactly these
 * arguments: the request page shows them, the approver sees them, and the grant matches only them.
 * They go back to the person who sent them, and a window request ignores them.
 */
export function stepUpRequestUrl(controlPlaneUrl: string, portal: string, riskClass: string, server: string, tool: string, args?: unknown): string {
  const query = new URLSearchParams({ portal, risk: riskClass, server, tool });
  if (args && typeof args === "object" && !Array.isArray(args)) {
    const json = JSON.stringify(args);
    if (json.length <= MAX_LINK_ARGUMENTS_CHARS) query.set("args", json);
  }
  return `${controlPlaneUrl}/step-up/new?${query.toString()}`;
}

/** A longer request page URL is written into `WWW-Authenticate` without its arguments: headers stay short. */
export const MAX_DESCRIPTION_URL_CHARS = 1000;

/** Where a service account files its step-up request, with its client-credentials access token (app/api/v1/step-up-requests). */
export const STEP_UP_REQUESTS_PATH = "/api/v1/step-up-requests";

type StepUpText = { tool: string; scope: string; riskClass: string; server: string; upstreamTool: string; url: string | null; controlPlaneUrl?: string; isServiceAccount: boolean; ended: string | null };

/**
 * What the caller reads when a tool needs step-up: the 403's JSON-RPC message and, where HTTP
 * cannot carry a 403, the tool error. It names the way forward, since a client that retried the
 * 403 with the same token (the SDK's refresh keeps the token's scope) can do nothing else: the
 * request page for a person, and the API request for a service account, which cannot re-authorize.
 */
export function stepUpMessage(t: StepUpText): string {
  const lead = `${t.ended ? `Your elevated access ended (${t.ended}). ` : ""}Tool "${t.tool}" needs elevated access (scope "${t.scope}").`;
  if (!t.url || !t.controlPlaneUrl) return `${lead} Request step-up in Portico, then retry.`;
  if (!t.isServiceAccount) return `${lead} Request it at ${t.url} and retry once a manager approves.`;
  const body = JSON.stringify({ riskClass: t.riskClass, server: t.server, tool: t.upstreamTool, reason: "why it is needed", durationMinutes: 15 });
  return `${lead} A person requests it at ${t.url}; a service account files POST ${t.controlPlaneUrl}${STEP_UP_REQUESTS_PATH} with its access token and the JSON body ${body} (plus "arguments" for a class approved call by call), then retries once a manager approves.`;
}

/**
 * The same for `WWW-Authenticate`'s `error_description`: a quoted string (RFC 6750), so no `"` or
 * `\` (the request page URL is percent-encoded), and short.
 */
export function stepUpDescription(t: StepUpText, shortUrl: string | null): string {
  const lead = `${t.ended ? "Your elevated access ended. " : ""}This tool needs elevated access`;
  if (!shortUrl || !t.controlPlaneUrl) return lead;
  return t.isServiceAccount ? `${lead}: a person requests it at ${shortUrl}, a service account with POST ${t.controlPlaneUrl}${STEP_UP_REQUESTS_PATH}` : `${lead}: request it at ${shortUrl}`;
}

export function createDecide(options: { gatewayUrl: string; controlPlaneUrl?: string }) {
  return (call: Call): Ending | undefined => {
    const { tool, state, portal } = call;
    if (call.method !== "tools/call" || !tool || !state || !portal) return undefined;
    const now = new Date();
    // The grants stage's view of the caller when the call needs elevated access (stages/grants.ts).
    const decision = state.decide(portal, tool, call.elevation?.identity ?? call.caller.identity, {
      now,
      sourceIp: call.ctx.sourceIp,
      arguments: call.arguments as Record<string, unknown> | undefined,
    });
    call.reasons.push(...decision.reasons);
    if (decision.matchedRoles?.length) call.roles = decision.matchedRoles;
    if (decision.effect === "allow") return undefined;
    call.upstreamOutcome = "not_called";
    if (decision.effect === "deny") {
      return deny(call, [], toolEnding(`Access denied by rule "${decision.rule}": ${decision.reasons.join("; ") || "no role allows this tool"}.`));
    }
    if (decision.reasons.length === 0) call.reasons.push("step-up required");
    const ended = endedGrant(call, now.getTime());
    const endedText = ended ? endedGrantText(ended) : null;
    if (endedText) call.reasons.push(endedText);
    const { controlPlaneUrl } = options;
    const url = controlPlaneUrl ? stepUpRequestUrl(controlPlaneUrl, portal.slug, tool.riskClass, tool.serverSlug, tool.upstreamName, call.arguments) : null;
    if (url) call.stepUp = { url, scope: decision.requiredScope, ended: endedText };
    const shortUrl = url && url.length > MAX_DESCRIPTION_URL_CHARS ? stepUpRequestUrl(controlPlaneUrl!, portal.slug, tool.riskClass, tool.serverSlug, tool.upstreamName) : url;
    const text: StepUpText = {
      tool: call.exposedName ?? tool.upstreamName,
      scope: decision.requiredScope,
      riskClass: tool.riskClass,
      server: tool.serverSlug,
      upstreamTool: tool.upstreamName,
      url,
      controlPlaneUrl,
      isServiceAccount: call.caller.identity.kind === "service_account",
      ended: endedText,
    };
    const message = stepUpMessage(text);
    return deny(call, [], {
      kind: "http",
      status: 403,
      code: -32000,
      message,
      headers: {
        "www-authenticate": bearerChallenge({
          gatewayUrl: options.gatewayUrl,
          slug: portal.slug,
          error: "insufficient_scope",
          // The base scope too: the client re-authorizes with exactly this, and a token without "mcp" opens nothing.
          scope: decision.requiredScope.split(" ").includes(MCP_SCOPE) ? decision.requiredScope : `${MCP_SCOPE} ${decision.requiredScope}`,
          description: stepUpDescription(text, shortUrl),
        }),
      },
      // A client that declared URL-mode elicitation is sent `call.stepUp.url` instead (stages/elicit-step-up.ts).
      fallback: { kind: "tool_error", text: message },
    });
  };
}
