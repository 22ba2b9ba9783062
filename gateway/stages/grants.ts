import type { EndedGrant } from "@/lib/config/elevated-grants";
import { formatUtcText } from "@/lib/format";
import { elevatedScope } from "@/lib/policy/evaluate";
import type { RiskClass } from "@/lib/schemas/common";

import type { Call } from "../exchange";

/**
 * Stage 4½, grants: which elevated access this call really holds, before decide weighs it.
 *
 * A gateway verifies tokens offline, so an elevated scope in a token proves only that a grant
 * existed when it was issued. Here it counts only while that grant (`portico_elevation`) is on the
 * running snapshot's active list and before its end: a revoked or ended grant is refused from the
 * snapshot that drops it, within a second, not at the token's expiry. A caller without the scope
 * (a client that cannot re-authorize, an automation) is lent it when its principal holds an active
 * grant for this portal and risk class, or a per-call grant for exactly this tool and these
 * arguments; a per-call grant is then used up (`settle`).
 *
 * Costs nothing for a caller with no elevated scope and no grant on the portal: one Map get.
 */

const ELEVATED_PREFIX = "mcp:elevated:";

export function createGrants() {
  function check(call: Call): void {
    const { tool, state, portal } = call;
    if (call.method !== "tools/call" || !tool || !state || !portal) return;
    const identity = call.caller.identity;
    const now = Date.now();
    const scope = elevatedScope(tool.riskClass as RiskClass);
    const hasElevated = identity.scopes.some((s) => s.startsWith(ELEVATED_PREFIX));
    const tokenGrant = identity.elevationId && state.grants.isActive(identity.elevationId, identity.subject, portal.slug, tool.riskClass, now) ? identity.elevationId : null;
    const held = tokenGrant
      ? { grantId: tokenGrant, isPerCall: false }
      : state.grants.find(
          {
            kind: identity.kind,
            subject: identity.subject,
            portal: portal.slug,
            riskClass: tool.riskClass,
            server: tool.serverSlug,
            tool: tool.upstreamName,
            arguments: call.arguments as Record<string, unknown> | undefined,
          },
          now,
        );
    if (!held && !hasElevated) return;
    // Every elevated scope the token carries is dropped, and only the one a live grant backs is put back.
    const scopes = identity.scopes.filter((s) => !s.startsWith(ELEVATED_PREFIX));
    if (held) scopes.push(scope);
    call.elevation = { identity: { ...identity, scopes }, grantId: held?.grantId ?? null, isPerCall: held?.isPerCall ?? false };
  }

  /** After decide allowed the call: name the grant in the audit event, and use up a per-call one. */
  function settle(call: Call): void {
    const grantId = call.elevation?.grantId;
    if (!grantId || call.outcome !== "allow") return;
    call.reasons.push(`under elevated grant ${grantId}`);
    if (call.elevation!.isPerCall) call.state!.grants.consume(grantId);
  }

  return { check, settle };
}

/**
 * For decide's step-up denial only (never the allowed path): the grant this caller's token or
 * principal held for the call's risk class that no longer counts, so the denial can say the
 * access ended rather than that none was ever asked for. A token's grant is named only when the
 * token carries this class's scope: a grant for another class says nothing about this one.
 */
export function endedGrant(call: Call, now: number): EndedGrant | null {
  const { tool, state, portal } = call;
  if (!tool || !state || !portal) return null;
  const identity = call.caller.identity;
  const query = { kind: identity.kind, subject: identity.subject, portal: portal.slug, riskClass: tool.riskClass, server: tool.serverSlug, tool: tool.upstreamName };
  const tokenGrant = identity.elevationId && identity.scopes.includes(elevatedScope(tool.riskClass as RiskClass)) ? identity.elevationId : null;
  return (tokenGrant && state.grants.ended({ ...query, id: tokenGrant }, now)) || state.grants.ended({ ...query, id: null }, now);
}

/** The audit reason (and the client's explanation) for an ended grant: only what the snapshot knows. */
export function endedGrantText(grant: EndedGrant): string {
  if (grant.isUsed) return `per-call grant ${grant.id} was used by an earlier call`;
  if (grant.endsAt) return `elevated grant ${grant.id} expired at ${formatUtcText(new Date(grant.endsAt))}`;
  // The snapshot lists active grants only: one that left it expired or was revoked, it cannot tell which.
  return `elevated grant ${grant.id} is no longer active`;
}
