import { bearerChallenge, MCP_SCOPE } from "../auth";
import { deny, toolEnding, type Call, type Ending } from "../exchange";

/**
 * Stage 5, decide: may this caller call this tool, now, from here, with these arguments? The
 * answer is lib/policy's (through the snapshot's compiled roles), the evaluator the dashboard's
 * explainer runs too. A denial is a tool result, so the model can tell the user why; a step-up is
 * the spec's HTTP 403 `insufficient_scope` challenge where the request has its own POST, so the
 * client can re-authorize with the elevated scope.
 */

/** Where a person files a step-up request for this call: the tool error's link for clients that cannot re-authorize. */
export function stepUpRequestUrl(controlPlaneUrl: string, portal: string, riskClass: string, server: string, tool: string): string {
  const query = new URLSearchParams({ portal, risk: riskClass, server, tool });
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
      // Hook for URL-mode elicitation (issue 17's relay channel): a client that declared it gets this URL as an elicitation instead.
      fallback: {
        kind: "tool_error",
        text: options.controlPlaneUrl
          ? `This tool needs elevated access (scope "${decision.requiredScope}"). Request it at ${stepUpRequestUrl(options.controlPlaneUrl, portal.slug, tool.riskClass, tool.serverSlug, tool.upstreamName)} and retry once a manager approves.`
          : `This tool needs elevated access (scope "${decision.requiredScope}"). Request step-up in Portico, then retry.`,
      },
    });
  };
}
