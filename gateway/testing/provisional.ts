import type { ConfigSnapshot } from "@/lib/config/snapshot";

import type { PolicyAdapter } from "../portal-index";

// TEMPORARY, tests only: stands in for lib/policy/evaluate.ts until it lands. Grants and step-up
// by risk class over the snapshot's real roles; no conditions.
export function provisionalPolicy(snapshot: ConfigSnapshot): PolicyAdapter {
  return {
    decide(portal, tool, identity) {
      const roles = snapshot.roles.filter((r) =>
        r.principals.some(
          (p) =>
            (p.kind === "service_account" && identity.kind === "service_account" && p.value === identity.subject) ||
            (p.kind === "user" && identity.kind === "user" && (p.value === identity.email || p.value === identity.subject)) ||
            (p.kind === "group" && identity.groups.includes(p.value)),
        ),
      );
      const grants = (r: ConfigSnapshot["roles"][number]) =>
        r.grants.some(
          (g) =>
            g.portalSlug === portal.slug &&
            (g.serverSlug === null || g.serverSlug === tool.serverSlug) &&
            (g.toolName === null || g.toolName === tool.upstreamName) &&
            g.riskClasses.includes(tool.riskClass as never),
        );
      const granting = roles.find(grants);
      if (granting) return { effect: "allow", reasons: [`role "${granting.slug}" grants ${tool.riskClass} on ${tool.serverSlug}`] };
      const stepUp = roles.find((r) => r.stepUpRiskClasses.includes(tool.riskClass as never));
      if (stepUp) return { effect: "step_up", reasons: [`role "${stepUp.slug}" needs step-up for ${tool.riskClass} tools`], requiredScope: `mcp:${tool.riskClass}` };
      return { effect: "deny", reasons: [`no role grants ${tool.riskClass} on ${tool.serverSlug}/${tool.upstreamName}`], rule: "least-privilege default" };
    },
  };
}
