import { bearerChallenge, MCP_SCOPE } from "../auth";
import { deny, toolEnding, type Call, type Ending } from "../exchange";

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

export function createDecide(options: { gatewayUrl: string; controlPlaneUrl?: string }) {
  return (call: Call): Ending | undefined => {
    const { tool, state, portal } = call;
    if (call.method !== "tools/call" || !tool || !state || !portal) return undefined;
    // The grants stage's view of the caller when the call needs elevated access (stages/grants.ts).
    const decision = state.decide(portal, tool, call.elevation?.identity ?? call.caller.identity, {
      now: new Date(),
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
    const url = options.controlPlaneUrl ? stepUpRequestUrl(options.controlPlaneUrl, portal.slug, tool.riskClass, tool.serverSlug, tool.upstreamName, call.arguments) : null;
    if (url) call.stepUp = { url, scope: decision.requiredScope };
    return deny(call, [], {
      kind: "http",
      status: 403,
      code: -32000,
      message: `Tool "${call.exposedName}" needs elevated access (scope "${decision.requiredScope}").`,
      headers: {
        "www-authenticate": bearerChallenge({
          gatewayUrl: options.gatewayUrl,
          slug: portal.slug,
          error: "insufficient_scope",
          // The base scope too: the client re-authorizes with exactly this, and a token without "mcp" opens nothing.
          scope: decision.requiredScope.split(" ").includes(MCP_SCOPE) ? decision.requiredScope : `${MCP_SCOPE} ${decision.requiredScope}`,
          description: "This tool needs elevated access",
        }),
      },
      // A client that declared URL-mode elicitation is sent `call.stepUp.url` instead (stages/elicit-step-up.ts).
      fallback: {
        kind: "tool_error",
        text: url
          ? `This tool needs elevated access (scope "${decision.requiredScope}"). Request it at ${url} and retry once a manager approves.`
          : `This tool needs elevated access (scope "${decision.requiredScope}"). Request step-up in Portico, then retry.`,
      },
    });
  };
}
