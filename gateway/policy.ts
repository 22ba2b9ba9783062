import type { ConfigSnapshot } from "@/lib/config/snapshot";
import { compilePolicy, type Principal } from "@/lib/policy/evaluate";
import type { RiskClass } from "@/lib/schemas/common";

import type { TokenIdentity } from "./auth";
import type { PolicyAdapter } from "./portal-index";

// RFC 8176 methods that mean a second factor was used.
const SECOND_FACTORS = new Set(["mfa", "otp", "hwk", "swk", "sms", "fpt", "face"]);

const principalCache = new WeakMap<TokenIdentity, Principal>();

function principalOf(identity: TokenIdentity): Principal {
  let principal = principalCache.get(identity);
  if (!principal) {
    principal = {
      kind: identity.kind,
      subject: identity.subject,
      email: identity.email,
      groups: identity.groups,
      mfa: identity.amr.some((m) => SECOND_FACTORS.has(m)),
      scopes: identity.scopes,
    };
    principalCache.set(identity, principal);
  }
  return principal;
}

/** The gateway's bridge to lib/policy, the evaluator the dashboard's explainer uses too. */
export function createPolicyAdapter(snapshot: ConfigSnapshot): PolicyAdapter {
  const policy = compilePolicy(snapshot.roles);
  return {
    decide(portal, tool, identity, context) {
      return policy.evaluate(
        principalOf(identity),
        {
          portal: portal.slug,
          server: tool.serverSlug,
          tool: tool.upstreamName,
          riskClass: tool.riskClass as RiskClass,
          sourceIp: context.sourceIp,
          arguments: context.arguments,
        },
        context.now,
      );
    },
  };
}
